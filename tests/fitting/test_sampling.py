"""Sampling the model: a smoke fit through the CLI, PyMC's own sampler, and the gate."""

import json

import numpy as np
import pytest

from model.checks.simulation import simulate
from model.cli import main
from model.commands.common import EXIT_GATE_FAILED
from model.fitting.sampling import LARGE_COHORT, SamplerSettings, fit, load_fit, prepare_model
from model.inputs.parameters import load_parameters


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    cohort, truth = simulate(160, 3, seed=21)
    path = tmp_path_factory.mktemp("small") / "cohort.csv"
    cohort.write_csv(path)
    return cohort, path


def test_cli_fit_short_run_fails_the_gate_loudly_and_records_it(small_cohort, tmp_path, capsys):
    _, path = small_cohort
    out = tmp_path / "fit.nc"
    code = main(
        [
            "fit",
            str(path),
            "--out",
            str(out),
            "--draws",
            "60",
            "--tune",
            "100",
            "--chains",
            "2",
            "--quiet",
            "--store-data",
        ]
    )
    captured = capsys.readouterr()
    assert code == EXIT_GATE_FAILED == 3  # distinct from a crash's 1 and bad input's 2
    assert "CONVERGENCE GATE FAILED" in captured.err
    loaded = load_fit(out)
    assert loaded.provenance["diagnostics"]["passed"] is False
    assert loaded.gate.min_ess_bulk < 400
    assert loaded.training_data is not None and loaded.training_data.startswith("patient_id,")
    assert loaded.provenance["sampler"]["sampler"] == "nutpie"
    # answers from a failed fit carry the warning and exit 3 unless forced; summary says so
    assert main(["predict", str(out), str(path), "--json"]) == EXIT_GATE_FAILED
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["gate_passed"] is False and len(document["predictions"]) == 160
    assert "CONVERGENCE GATE FAILED" in captured.err
    assert main(["predict", str(out), str(path), "--force"]) == 0
    assert "CONVERGENCE GATE FAILED" in capsys.readouterr().err
    few = tmp_path / "few.csv"
    few.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    assert main(["decide", str(out), str(few), "--json"]) == EXIT_GATE_FAILED
    assert main(["decide", str(out), str(few), "--json", "--force"]) == 0
    capsys.readouterr()
    assert main(["summary", str(out)]) == 0
    assert "CONVERGENCE GATE FAILED" in capsys.readouterr().out


def test_pymc_sampler_is_selectable(small_cohort):
    cohort, _ = small_cohort
    result = fit(
        cohort,
        settings=SamplerSettings(sampler="pymc", draws=40, tune=60, chains=2, seed=3),
        progress=False,
    )
    assert result.provenance["sampler"]["sampler"] == "pymc"
    assert result.posterior.sizes["chain"] == 2 and result.posterior.sizes["draw"] == 40
    assert result.training_data is None
    assert np.isfinite(result.draws.markers["perfusion"].mu_necrosis).all()


def test_settings_are_checked(small_cohort):
    with pytest.raises(ValueError):
        SamplerSettings(sampler="metropolis")
    with pytest.raises(ValueError, match="unknown families to centre"):
        prepare_model(small_cohort[0], load_parameters(), ("prevalence", "nonsense"))
    with pytest.raises(ValueError):
        SamplerSettings(draws=0)


def test_default_warm_up_and_target_accept_follow_sampler_and_cohort_size():
    assert SamplerSettings().tune == 300 and SamplerSettings(sampler="pymc").tune == 1000
    assert SamplerSettings(tune=50).tune == 50
    assert SamplerSettings().for_cohort(LARGE_COHORT - 1).target_accept == 0.9
    assert SamplerSettings().for_cohort(LARGE_COHORT).target_accept == 0.8
    assert SamplerSettings(target_accept=0.95).for_cohort(30_000).target_accept == 0.95
    with pytest.raises(ValueError, match="target_accept"):
        SamplerSettings(target_accept=1.2)
