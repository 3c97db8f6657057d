"""Resumable studies on Dask: tasks run on a local cluster, each result written once."""

import json

from model.core.studies import STUDY_FILE, run_missing

SPEC = "a" * 64


def test_tasks_run_on_a_local_dask_cluster_and_a_finished_study_runs_nothing(tmp_path):
    """Each task's result arrives from a worker process and is written to its file; the folder
    is bound to its record; run again, nothing is left to run."""
    record = {"settings": {"size": 4}, "model_spec_hash": SPEC}
    tasks = {i: ({"index": i, "model_spec_hash": SPEC, "square": i * i},) for i in range(4)}

    def path_of(index):
        return tmp_path / f"task_{index}.json"

    arguments = (tmp_path, record, "rnbayes test", dict, tasks, path_of)
    assert run_missing(*arguments, label="tasks", workers=2, progress=False) == 4
    assert [json.loads(path_of(i).read_text())["square"] for i in range(4)] == [0, 1, 4, 9]
    assert json.loads((tmp_path / STUDY_FILE).read_text()) == record
    path_of(2).unlink()
    assert run_missing(*arguments, label="tasks", workers=0, progress=False) == 1
    assert json.loads(path_of(2).read_text())["square"] == 4
