"""Leave-one-center-out cross-validation: each center predicted by a fit that never saw it.

For every center of a cohort, the model is fitted to the other centers' lesions and the held-out
center's lesions are scored as those of a new center (its calibration shifts and prevalence offset
integrated out over the between-center spread, as for any center a fit has not seen). The held-out
predictions of all folds are then scored against their histopathology labels by
:func:`model.evaluation.external.evaluate`: per held-out center and pooled over the folds.

This is how the model would do at a center that adopts it without refitting, so it answers the
transportability question that in-sample scores cannot. Folds are independent fits on Dask
(:mod:`model.core.studies`): resumable, one JSON file per fold.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.core.errors import InputError, Problem
from model.core.studies import STUDY_FILE, read_record, run_missing
from model.evaluation.external import LabelledPredictions, require_both_classes, score_labelled
from model.inputs.parameters import Parameters
from model.inputs.schema import Cohort

COMMAND = "rnbayes crossval"

KEPT_DRAWS = 200
"""Posterior draws of each held-out prediction kept in the fold file (evenly spaced)."""


@dataclass(frozen=True)
class CrossvalSettings:
    """The sampler settings of every fold's fit.

    Parameters
    ----------
    draws, chains : int
        Draws kept per chain, and the number of chains.
    tune : int, optional
        Warm-up draws per chain (default: the sampler's).
    seed : int
        Seed of every fold's fit.
    centered : tuple of str
        Families with centred group effects, chosen once from the whole cohort so that every fold
        (the same number of centers) reuses one compiled model.
    """

    draws: int = 1000
    chains: int = 4
    tune: int | None = None
    seed: int = 1
    centered: tuple[str, ...] = ()


def held_out_centers(cohort: Cohort) -> tuple[str, ...]:
    """The folds: every center, sorted. At least two centers are needed."""
    centers = cohort.centers
    if len(centers) < 2:
        raise InputError(
            [
                Problem(
                    Path(cohort.source).name,
                    None,
                    "center",
                    ", ".join(centers),
                    "lesions from at least two centers (each is predicted by a fit to the others)",
                )
            ]
        )
    return centers


def run_fold(
    index: int, center: str, cohort: Cohort, parameters: Parameters, settings: CrossvalSettings
) -> dict:
    """Fit the cohort without one center and score that center's lesions as a new center's.

    Returns
    -------
    dict
        JSON-ready: ``index``, ``center``, the training cohort's size and centers, the fit's
        ``gate`` and ``model_spec_hash``, and for each histopathology-labelled lesion of the
        held-out center ``p`` (posterior mean), ``draws`` (:data:`KEPT_DRAWS` posterior draws),
        ``y`` and ``patient`` (its patient_id); ``labels`` counts the held-out lesions by label
        source.
    """
    from model.fitting.sampling import SamplerSettings, fit

    started = time.perf_counter()
    at_center = cohort.table["center"].to_numpy(object) == center
    training = cohort.subset(~at_center)
    held_out = cohort.subset(at_center)
    sampler = SamplerSettings(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=settings.seed,
        cores=1,
        centered=tuple(settings.centered),
    )
    fitted = fit(training, parameters, sampler, progress=False)
    made = score_labelled(fitted, held_out)
    kept = np.linspace(0, made.draws.shape[1] - 1, min(KEPT_DRAWS, made.draws.shape[1]))
    patients = held_out.table["patient_id"].to_numpy(object)[made.scored]
    return {
        "index": index,
        "center": center,
        "training_lesions": len(training),
        "training_centers": list(fitted.centers),
        "gate": fitted.provenance["diagnostics"],
        "model_spec_hash": fitted.provenance["model_spec_hash"],
        "p": made.p.round(6).tolist(),
        "draws": made.draws[:, kept.astype(int)].round(6).tolist(),
        "y": made.y.astype(int).tolist(),
        "patient": [str(p) for p in patients],
        "labels": made.labels,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _fold_path(folder: Path, index: int) -> Path:
    return folder / f"fold_{index:03d}.json"


def _study_record(cohort: Cohort, parameters: Parameters, settings: CrossvalSettings) -> dict:
    """What a cross-validation folder is bound to: cohort, priors, settings and model."""
    from model.fitting.sampling import model_spec_hash

    return {
        "cohort_digest": cohort.digest,
        "cohort_name": Path(cohort.source).name,
        "centers": list(cohort.centers),
        "settings": asdict(settings),
        "model_spec_hash": model_spec_hash(parameters),
    }


def run_crossval(
    cohort: Cohort,
    folder: str | os.PathLike,
    parameters: Parameters | None = None,
    settings: CrossvalSettings | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) leave-one-center-out cross-validation on Dask.

    Parameters
    ----------
    cohort : Cohort
        The labelled multi-center cohort (validated; lesions under bevacizumab are refused, as
        for any fit).
    folder : path-like
        Study folder: ``study.json`` (the cohort, priors, settings and model it is bound to) and
        one JSON file per held-out center. Folds already there are not run again.
    parameters : Parameters, optional
        Priors; default the bundled parameter file.
    settings : CrossvalSettings, optional
        Sampler settings of every fold; ``centered`` empty (the default) is chosen from the whole
        cohort.
    scheduler, workers, progress
        Where the fits run, as for :func:`model.core.studies.run_tasks`.

    Returns
    -------
    dict
        ``computed`` (folds run now), ``total`` (folds in the folder).
    """
    from model.fitting.sampling import NOT_FOR_TRAINING
    from model.inputs.encode import encode
    from model.inputs.parameters import load_parameters
    from model.inputs.treatment import WINDOW_ENTRY, check_bevacizumab
    from model.likelihood.pymc_model import choose_centered

    parameters = parameters if parameters is not None else load_parameters()
    settings = settings or CrossvalSettings()
    centers = held_out_centers(cohort)
    window = float(parameters.value(WINDOW_ENTRY))  # refused before any worker starts
    check_bevacizumab(cohort, window, allow=False, remedy=NOT_FOR_TRAINING)
    if not settings.centered:
        chosen = choose_centered(encode(cohort, cohort.centers, parameters), parameters)
        settings = CrossvalSettings(**{**asdict(settings), "centered": tuple(chosen)})
    folder = Path(folder)
    computed = run_missing(
        folder,
        _study_record(cohort, parameters, settings),
        COMMAND,
        run_fold,
        {i: (i, center, cohort, parameters, settings) for i, center in enumerate(centers)},
        lambda index: _fold_path(folder, index),
        label="Held-out centers",
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    return {"computed": computed, "total": len(list(folder.glob("fold_*.json")))}


def load_crossval(folder: str | os.PathLike) -> tuple[LabelledPredictions, list[dict], dict]:
    """The held-out predictions of every fold of a finished study, its folds and its record.

    Raises
    ------
    InputError
        When a fold is missing (the study has not finished: run it again to resume).
    """
    folder = Path(folder)
    record = read_record(folder / STUDY_FILE, COMMAND, ("centers", "settings"))
    folds = []
    for index, center in enumerate(record["centers"]):
        path = _fold_path(folder, index)
        if not path.exists():
            raise InputError(
                [
                    Problem(
                        str(folder),
                        None,
                        None,
                        path.name,
                        f"every fold of the study; the one holding out center {center!r} is "
                        "missing: run the same command again to resume",
                    )
                ]
            )
        folds.append(read_record(path, COMMAND, ("center", "p", "draws", "y", "patient", "gate")))
    pooled = _pooled(folds)
    require_both_classes(pooled.y)
    return pooled, folds, record


def _pooled(folds: list[dict]) -> LabelledPredictions:
    """Every fold's held-out predictions as one labelled set, grouped by held-out center."""
    p = np.concatenate([np.asarray(f["p"], float) for f in folds])
    # every fold keeps the same number of draws; a fold without labelled lesions keeps none
    n_draws = next((len(f["draws"][0]) for f in folds if f["draws"]), 0)
    draws = np.concatenate(
        [np.asarray(f["draws"], float).reshape(len(f["p"]), n_draws) for f in folds]
    )
    labels = {
        key: sum(f["labels"][key] for f in folds) for key in ("histopathology", "follow_up", "none")
    }
    return LabelledPredictions(
        p=p,
        draws=draws,
        y=np.concatenate([np.asarray(f["y"], int) for f in folds]),
        center=np.concatenate([np.full(len(f["p"]), f["center"], object) for f in folds]),
        patient=np.concatenate([np.asarray(f["patient"], object) for f in folds]),
        labels=labels,
        unseen_centers=[f["center"] for f in folds],
        lesions=None,
        scored=None,
        in_sample=False,
    )
