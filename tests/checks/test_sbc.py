"""Simulation-based calibration: the short study CI runs, resumability, and the statistics."""

import json

import numpy as np
import pandas as pd
import pytest

from model.checks.sbc import (
    SBCSettings,
    load_study,
    operating_characteristics,
    run_study,
    uniformity,
)
from model.cli import main
from model.core.errors import InputError
from model.core.studies import collect

SHORT = SBCSettings(n_lesions=150, n_centers=4, held_out=300, draws=250, tune=300, seed=1)
SHORT_SIMS = 20  # the full study (README) runs 500; this one is CI's smoke test of it


@pytest.fixture(scope="module")
def short_study(tmp_path_factory):
    """The reduced study of CI: 20 simulations, run in this process (one compiled model for
    every simulation and the resumed one; tests/core/test_studies.py runs tasks on Dask)."""
    folder = tmp_path_factory.mktemp("sbc")
    done = run_study(SHORT_SIMS, folder, SHORT, workers=0, progress=False)
    return folder, done


@pytest.mark.slow
def test_short_study_ranks_are_uniform(short_study):
    folder, done = short_study
    assert done == {"computed": SHORT_SIMS, "total": SHORT_SIMS}
    ranks, results, settings = load_study(folder)
    assert settings == SHORT and len(ranks) == SHORT_SIMS
    assert ranks.to_numpy().min() >= 0 and ranks.to_numpy().max() <= SHORT.thin_to
    table = uniformity(ranks, SHORT.thin_to, alpha=0.01)
    assert table.attrs["bonferroni_level"] == pytest.approx(0.01 / ranks.shape[1])
    assert not table["fails"].any(), table.head()


@pytest.mark.slow
def test_short_study_intervals_cover_and_probabilities_are_calibrated(short_study):
    folder, _ = short_study
    _, results, _ = load_study(folder)
    characteristics = operating_characteristics(results)
    # the training set ends with a whole patient, so a held-out set may lose a lesion to it
    assert SHORT_SIMS * (SHORT.held_out - 1) <= characteristics["lesions"]
    assert characteristics["lesions"] <= SHORT_SIMS * SHORT.held_out
    # 90% intervals: coverage averaged over the prior is 0.90 when the posterior is calibrated.
    assert 0.82 <= characteristics["coverage_mean"] <= 0.97
    assert characteristics["expected_calibration_error"] < 0.05


@pytest.mark.slow
def test_a_stopped_study_resumes_and_reproduces_what_was_lost(short_study, tmp_path):
    folder, _ = short_study
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    for path in folder.iterdir():
        (resumed / path.name).write_bytes(path.read_bytes())
    lost = [resumed / "simulation_00007.json"]
    before = [json.loads(p.read_text()) for p in lost]
    for path in lost:
        path.unlink()
    done = run_study(SHORT_SIMS, resumed, SHORT, workers=0, progress=False)
    assert done == {"computed": 1, "total": SHORT_SIMS}
    after = [json.loads(p.read_text()) for p in lost]
    for old, new in zip(before, after, strict=True):
        assert new["ranks"] == old["ranks"] and new["predicted"] == old["predicted"]


@pytest.mark.slow
def test_cli_summarises_a_finished_study_without_rerunning(short_study, capsys):
    folder, _ = short_study
    code = main(["sbc", "--n-sims", str(SHORT_SIMS), "--out", str(folder), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 simulations run now" in out
    assert f"Caution: {SHORT_SIMS} simulations are too few" in out  # fewer than 5 per bin of 10
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["operating_characteristics"]["simulations"] == SHORT_SIMS
    assert (folder / "ranks.png").stat().st_size > 10_000


def test_a_folder_started_with_other_settings_is_refused(tmp_path):
    run_study(0, tmp_path, SHORT, progress=False)
    with pytest.raises(InputError, match="this study folder was started with"):
        run_study(1, tmp_path, SBCSettings(n_lesions=90), progress=False)


def test_a_result_from_a_worker_with_another_model_is_refused(tmp_path):
    from_another_model = {"index": 0, "model_spec_hash": "0" * 64}
    written = []
    with pytest.raises(InputError, match="install this version"):
        collect([from_another_model], written.append, 1, "f" * 64, "SBC", progress=False)
    assert not written


def test_cli_rejects_nonpositive_sizes(tmp_path, capsys):
    assert main(["sbc", "--n-sims", "0", "--out", str(tmp_path)]) == 2
    assert "--n-sims" in capsys.readouterr().err


def test_uniformity_accepts_uniform_ranks_and_flags_biased_ones():
    rng = np.random.default_rng(3)
    thin_to = 99
    ranks = pd.DataFrame(
        {
            "uniform": rng.integers(0, thin_to + 1, 400),
            # An overconfident posterior puts the truth in the tails: U-shaped ranks.
            "u_shaped": np.concatenate([rng.integers(0, 15, 200), rng.integers(85, 100, 200)]),
            # A biased posterior puts the truth mostly above the draws.
            "biased": rng.integers(40, thin_to + 1, 400),
        }
    )
    table = uniformity(ranks, thin_to).set_index("parameter")
    assert not table.loc["uniform", "fails"] and table.loc["uniform", "p_value"] > 0.001
    assert table.loc["u_shaped", "fails"] and table.loc["biased", "fails"]
    assert not table.attrs["too_few"]
    few = uniformity(ranks.iloc[:2], thin_to)
    assert few.attrs["too_few"] and not few["fails"].any()  # blind, hence the caution


def test_operating_characteristics_of_known_predictions():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=20_000)
    calibrated = {"coverage": 0.9, "predicted": p.tolist(), "gate": {"passed": True}}
    calibrated["true_class"] = (rng.uniform(size=p.size) < p).astype(int).tolist()
    overconfident = dict(calibrated, predicted=np.where(p > 0.5, 1.0, 0.0).tolist(), coverage=0.5)
    good = operating_characteristics([calibrated])
    bad = operating_characteristics([overconfident])
    assert good["expected_calibration_error"] < 0.02
    # Brier of a calibrated uniform forecast: E[p(1-p)] = 1/6.
    assert good["brier"] == pytest.approx(1 / 6, abs=0.01)
    # Rounding to 0/1: the error is E|p - 1{p>0.5}| = 1/4 in the two outer bins.
    assert bad["expected_calibration_error"] == pytest.approx(0.25, abs=0.02)
    assert operating_characteristics([calibrated, overconfident])["coverage_mean"] == 0.7
