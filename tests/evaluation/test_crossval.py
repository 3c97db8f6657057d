"""Leave-one-center-out cross-validation: folds, pooled scores, resuming, and bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import histopathology_classes

from model.cli import main
from model.core.errors import InputError
from model.evaluation.crossval import load_crossval
from model.evaluation.external import OVERALL
from model.evaluation.metrics import brier_score, c_statistic, calibration_slope

SAMPLER = ["--draws", "100", "--tune", "150", "--chains", "2", "--seed", "3"]


@pytest.fixture(scope="module")
def cohort_path(tmp_path_factory):
    """A simulated three-center cohort (its truth known), written as a cohort CSV."""
    from model.checks.simulation import simulate

    cohort, truth = simulate(150, 3, seed=11)
    path = tmp_path_factory.mktemp("crossval") / "three_centers.csv"
    cohort.write_csv(path)
    return path


@pytest.fixture(scope="module")
def study(cohort_path, tmp_path_factory):
    """The study, run once through the command line, in this process (one compiled model for
    every fold and the resumed one; Dask's path is that of the SBC study)."""
    folder = tmp_path_factory.mktemp("crossval") / "study"
    arguments = [str(cohort_path), "--out", str(folder), *SAMPLER, "--workers", "0"]
    assert main(["crossval", *arguments, "--bootstrap", "200", "--quiet"]) == 0
    return folder, arguments


def test_each_center_is_predicted_by_a_fit_that_never_saw_it(cohort_path, study):
    folder, _ = study
    cohort = pd.read_csv(cohort_path, dtype=str, keep_default_na=False)
    labelled = histopathology_classes(cohort_path)
    made, folds, record = load_crossval(folder)
    assert [f["center"] for f in folds] == record["centers"] == sorted(set(cohort.center))
    for fold in folds:
        others = sorted(set(cohort.center) - {fold["center"]})
        assert fold["training_centers"] == others
        assert fold["training_lesions"] == int((cohort.center != fold["center"]).sum())
        held_out = cohort[cohort.center == fold["center"]]
        tissue = labelled[labelled.center == fold["center"]]  # mixed specimens by their share
        assert fold["labels"]["histopathology"] == len(tissue) == len(fold["p"])
        assert fold["y"] == (tissue.reference_class == "recurrence").astype(int).tolist()
        assert set(fold["patient"]) <= set(held_out.patient_id)
        assert np.asarray(fold["draws"]).shape == (len(fold["p"]), 200)
    assert set(made.center) == set(cohort.center) and not made.in_sample


def test_pooled_and_per_center_scores_are_those_of_the_held_out_predictions(study):
    folder, _ = study
    table = pd.read_csv(folder / "crossval.csv").set_index(["group", "metric"])
    _, folds, _ = load_crossval(folder)
    p = np.concatenate([f["p"] for f in folds])
    y = np.concatenate([f["y"] for f in folds])
    for name, metric in (
        ("c_statistic", c_statistic),
        ("brier", brier_score),
        ("calibration_slope", calibration_slope),
    ):
        assert table.loc[(OVERALL, name), "value"] == pytest.approx(metric(p, y), abs=1e-6)
    fold = folds[0]
    assert table.loc[(fold["center"], "c_statistic"), "value"] == pytest.approx(
        c_statistic(np.asarray(fold["p"]), np.asarray(fold["y"])), abs=1e-6
    )
    document = json.loads((folder / "crossval.json").read_text())
    assert [f["center"] for f in document["held_out"]] == [f["center"] for f in folds]
    assert (folder / "reliability.png").stat().st_size > 10_000


def test_centers_the_fits_never_saw_are_still_told_apart(study):
    """On data from the model itself, held-out centers keep the discrimination the evidence
    gives, and calibration-in-the-large holds (the slope is not testable here: the classes are
    nearly separated)."""
    folder, _ = study
    made, _, _ = load_crossval(folder)
    assert c_statistic(made.p, made.y) > 0.85 and brier_score(made.p, made.y) < 0.1
    table = pd.read_csv(folder / "crossval.csv").set_index(["group", "metric"])
    intercept = table.loc[(OVERALL, "calibration_intercept")]
    assert intercept.bootstrap_low < 0 < intercept.bootstrap_high


def test_a_stopped_study_resumes_and_reproduces_the_lost_fold(study, tmp_path, capsys):
    folder, arguments = study
    resumed = tmp_path / "resumed"
    shutil.copytree(folder, resumed)
    lost = resumed / "fold_001.json"
    before = json.loads(lost.read_text())
    lost.unlink()
    with pytest.raises(InputError, match="run the same command again to resume"):
        load_crossval(resumed)
    arguments = [arguments[0], "--out", str(resumed), *arguments[3:]]
    assert main(["crossval", *arguments, "--bootstrap", "20", "--quiet"]) == 0
    assert "Folds fitted now: 1; in the study folder: 3" in capsys.readouterr().out
    after = json.loads(lost.read_text())
    assert after["p"] == before["p"] and after["draws"] == before["draws"]


def test_a_held_out_center_without_labelled_lesions_pools_with_the_others(study, tmp_path):
    """A center whose lesions none has a tissue label adds no scored lesion, and no error."""
    folder, _ = study
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    fold = json.loads((copy / "fold_000.json").read_text())
    kept = len(load_crossval(folder)[0].p) - len(fold["p"])
    fold.update(p=[], draws=[], y=[], patient=[])
    (copy / "fold_000.json").write_text(json.dumps(fold))
    made, _, _ = load_crossval(copy)
    assert len(made.p) == made.draws.shape[0] == kept and made.draws.shape[1] == 200


def test_the_finished_study_is_summarised_without_refitting(study, capsys):
    folder, arguments = study
    assert main(["crossval", *arguments, "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "Folds fitted now: 0" in out and "Leave-one-center-out" in out
    assert "scored as a new center by a fit to the other 2" in out
    assert "not a diagnosis" in out
    page = (folder / "crossval.html").read_text()
    assert "Leave-one-center-out validation" in page and page.count("<svg") == 1


def test_a_folder_started_with_other_settings_is_refused(study, capsys):
    folder, arguments = study
    changed = [a if a != "100" else "120" for a in arguments]  # --draws 120
    assert main(["crossval", *changed, "--bootstrap", "20"]) == 2
    error = capsys.readouterr().err
    assert "this study folder was started with" in error and "Traceback" not in error


def test_a_folds_arguments_survive_the_trip_to_a_dask_worker(cohort_path):
    """Dask pickles each fold's arguments: the cohort and the priors must arrive unchanged."""
    import pickle

    from model.inputs.parameters import load_parameters
    from model.inputs.reading import load_cohort

    parameters = load_parameters()
    cohort = load_cohort(cohort_path, parameters.registry)
    cohort_copy, parameters_copy = pickle.loads(pickle.dumps((cohort, parameters)))
    assert cohort_copy.digest == cohort.digest and parameters_copy.digest == parameters.digest


def test_a_single_center_cohort_is_refused_naming_the_column(tmp_path, capsys):
    from model.checks.simulation import simulate

    cohort, _ = simulate(30, 1, seed=2)
    path = tmp_path / "one_center.csv"
    cohort.write_csv(path)
    assert main(["crossval", str(path), "--out", str(tmp_path / "cv")]) == 2
    error = capsys.readouterr().err
    assert "one_center.csv" in error and "center" in error and "at least two centers" in error
    assert not (tmp_path / "cv").exists()


def test_lesions_under_bevacizumab_are_refused_before_any_fold_runs(cohort_path, tmp_path, capsys):
    cohort = pd.read_csv(cohort_path, dtype=str, keep_default_na=False)
    first = cohort.patient_id == cohort.patient_id[0]
    cohort.loc[first, "bevacizumab_last_dose_weeks"] = "2"
    path = tmp_path / "treated.csv"
    cohort.to_csv(path, index=False)
    assert main(["crossval", str(path), "--out", str(tmp_path / "cv")]) == 2
    assert "bevacizumab" in capsys.readouterr().err
    assert not (tmp_path / "cv").exists()
