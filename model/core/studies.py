"""Resumable studies: independent tasks on Dask, each result one JSON file in a study folder.

A study (simulation-based calibration, leave-one-center-out validation) is a set of independent
fits. Each task runs on a Dask cluster (a local one by default, any scheduler address for a real
cluster) and its result is written atomically as it arrives, so a study killed midway restarts
where it stopped and nothing finished is lost. The folder is bound to what the study was started
with (its settings and the model that fits every task, in ``study.json``): resuming it with other
settings or another model version is refused, as is a result a worker fitted with another model.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from model.core.errors import InputError, Problem
from model.core.files import atomic_write_text

STUDY_FILE = "study.json"


def read_record(path: Path, command: str, needed: tuple[str, ...] = ()) -> dict:
    """One JSON file of a study folder, or an error naming it (never a traceback).

    ``command`` names what writes such files (for example ``"rnbayes sbc"``).
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        record, reason = None, str(error)
    else:
        reason = "keys " + ", ".join(needed)
    if not isinstance(record, dict) or any(key not in record for key in needed):
        raise study_error(
            path,
            f"a study file written by {command} ({reason}); it is damaged: delete it (its task "
            "is then run again) or use a new folder",
        )
    return record


def study_error(path: Path, expected: str) -> InputError:
    """An input error about one file of a study folder."""
    return InputError([Problem(str(path), None, None, None, expected)])


def bind_folder(folder: Path, record: dict, command: str) -> None:
    """Write ``record`` as the folder's study file, or refuse a folder started with another."""
    path = folder / STUDY_FILE
    record = json.loads(json.dumps(record))  # as it reads back: tuples become lists
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(record, indent=1))
        return
    recorded = read_record(path, command)
    if recorded != record:
        raise study_error(
            path,
            f"the settings and model this study folder was started with ({recorded}); "
            "use a new folder for other settings, another cohort or another model version",
        )


def run_missing(
    folder: Path,
    record: dict,
    command: str,
    function: Callable[..., dict],
    tasks: dict[int, tuple],
    path_of: Callable[[int], Path],
    *,
    label: str,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> int:
    """Bind the folder to ``record`` and run the tasks whose result file is not there yet.

    ``tasks`` maps each task's index to its arguments; a task's result (with that ``index``) is
    written atomically as JSON to ``path_of(index)``. The other arguments are those of
    :func:`run_tasks`; ``record`` must hold the ``model_spec_hash``. Returns how many ran.
    """
    bind_folder(folder, record, command)
    todo = [index for index in tasks if not path_of(index).exists()]
    run_tasks(
        function,
        [tasks[index] for index in todo],
        lambda result: atomic_write_text(path_of(result["index"]), json.dumps(result)),
        model_spec=record["model_spec_hash"],
        label=label,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    return len(todo)


def run_tasks(
    function: Callable[..., dict],
    arguments: list[tuple],
    write: Callable[[dict], None],
    *,
    model_spec: str,
    label: str,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> None:
    """Run ``function(*a)`` for every ``a`` of ``arguments`` on Dask, writing each result.

    Parameters
    ----------
    function : callable
        Returns a JSON-ready dict with the ``model_spec_hash`` of the model it fitted.
    arguments : list of tuple
        One tuple of arguments per task (pickled to the workers).
    write : callable
        Called with each result as it arrives (in the order tasks finish).
    model_spec : str
        This process's model spec hash; a result fitted by another model is refused.
    label : str
        The progress bar's label.
    scheduler : str, optional
        Address of a running Dask scheduler; default a local cluster. Its workers must have this
        version of the package installed.
    workers : int, optional
        Processes of the local cluster; default the number of CPUs (never more than tasks). 0 runs
        the tasks one after another in this process, without Dask (a model compiled for one task
        is reused by the next).
    progress : bool, default True
    """
    if not arguments:
        return
    if workers == 0 and scheduler is None:
        results = (function(*a) for a in arguments)
        collect(results, write, len(arguments), model_spec, label, progress)
        return
    import logging

    from distributed import Client, LocalCluster, as_completed

    # a local cluster's shutdown notices ("Worker process still alive ... killing") are noise here
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = (
        contextlib.nullcontext(scheduler)
        if scheduler
        else LocalCluster(
            n_workers=min(workers or os.cpu_count() or 1, len(arguments)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    )
    with cluster as address, _connect(Client, address, scheduler) as client:
        futures = [client.submit(function, *a, pure=False) for a in arguments]
        results = (future.result() for future in as_completed(futures))
        collect(results, write, len(arguments), model_spec, label, progress)


def _connect(client_type, address, scheduler: str | None):
    """A Dask client, or a clear error when the scheduler given cannot be reached."""
    try:
        return client_type(address, timeout="20s")
    except (OSError, ValueError, TypeError) as error:
        if scheduler is None:
            raise
        raise InputError(
            [
                Problem(
                    "command line",
                    None,
                    "--scheduler",
                    scheduler,
                    f"the address of a running Dask scheduler, such as tcp://HOST:8786 ({error})",
                )
            ]
        ) from None


def collect(
    results: Iterable[dict],
    write: Callable[[dict], None],
    total: int,
    model_spec: str,
    label: str,
    progress: bool,
) -> None:
    """Write each task's result as it arrives; refuse one fitted by another model."""
    from rich.progress import Progress

    with Progress(disable=not progress, transient=False) as bar:
        task = bar.add_task(label, total=total)
        for result in results:
            if result["model_spec_hash"] != model_spec:
                raise InputError(
                    [
                        Problem(
                            "Dask worker",
                            None,
                            None,
                            result["model_spec_hash"][:12],
                            f"workers running the same model as this process (spec "
                            f"{model_spec[:12]}); install this version of rnbayes on the cluster",
                        )
                    ]
                )
            write(result)
            bar.advance(task)
