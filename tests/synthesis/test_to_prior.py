"""From a pooled operating point to parameter-file entries: closed forms, the file round trip,
the synthetic DSC studies and the command."""

from __future__ import annotations

import csv
import io
import json
import tomllib

import numpy as np
import pytest
from conftest import DATA
from scipy import stats

from model.cli import main
from model.inputs.parameters import load_parameters
from model.synthesis.to_prior import ModalityPrior, simulate_study_tables

DSC_STUDIES = DATA / "meta" / "dsc_synthetic.csv"
# The bundled DSC entries the synthetic studies were drawn from (data/parameters.toml).
DSC = {"mu_necrosis": -0.163, "separation": 1.079, "sigma": 0.532}
SIMULATION = {"cutoffs": (1.2, 1.5, 1.75, 2.1), "studies": 24, "tau": 0.2, "seed": 2026}


def _operating_point(mu0: float, separation: float, sigma: float, cutoff: float, direction: int):
    """Se and Sp of the binormal model at a cutoff (positive = the recurrence side)."""
    z = (np.log(cutoff) - mu0) * direction
    return stats.norm.sf((z - separation) / sigma), stats.norm.cdf(z / sigma)


@pytest.mark.parametrize("direction", [1, -1])
def test_entries_invert_the_binormal_operating_point(direction):
    mu0, separation, sigma, cutoff = 0.2, 1.1, 0.5, 1.6
    se, sp = _operating_point(mu0, separation, sigma, cutoff, direction)
    jitter = np.linspace(-1e-6, 1e-6, 101)
    prior = ModalityPrior("pet.FET", cutoff, sigma, direction, se + jitter, sp - jitter, "test")
    entries = prior.entries()
    assert entries["modality.pet.FET.mu_necrosis"]["value"] == pytest.approx(mu0, abs=1e-3)
    assert entries["modality.pet.FET.separation"]["value"] == pytest.approx(separation, abs=1e-3)
    published = entries["modality.pet.FET.published"]
    assert published["sensitivity"][0] == pytest.approx(se, abs=1e-3)
    expected_auc = stats.norm.cdf(separation / (sigma * np.sqrt(2)))
    assert published["auc"][0] == pytest.approx(expected_auc, abs=1e-3)
    # Draws that barely differ give the smallest scale the file can hold, never 0.
    assert entries["modality.pet.FET.separation"]["scale"] == 0.001


def test_scales_are_the_posterior_spread_of_each_entry():
    rng = np.random.default_rng(3)
    se, sp = rng.beta(80, 20, 4000), rng.beta(70, 30, 4000)
    entries = ModalityPrior("perfusion.DSC", 1.75, 0.5, 1, se, sp, "test").entries()
    mu0 = np.log(1.75) - 0.5 * stats.norm.ppf(sp)
    separation = 0.5 * (stats.norm.ppf(se) + stats.norm.ppf(sp))
    assert entries["modality.perfusion.DSC.mu_necrosis"]["scale"] == pytest.approx(
        np.std(mu0), abs=1e-3
    )
    assert entries["modality.perfusion.DSC.separation"]["scale"] == pytest.approx(
        np.std(np.log(separation)), abs=1e-3
    )


def test_written_entries_load_as_the_parameter_file(tmp_path):
    se, sp = np.full(10, 0.8), np.full(10, 0.75)
    prior = ModalityPrior("perfusion.ASL", 1.3, 0.381, 1, se, sp, 'meta of "x".csv')
    written = tomllib.loads(prior.toml())
    text = (DATA / "parameters.toml").read_text()
    for name in prior.entries():
        old = f"[{name}]"
        start = text.index(old)
        end = text.index("\n[", start + 1)
        text = text[:start] + text[end + 1 :]
    path = tmp_path / "parameters.toml"
    path.write_text(text + "\n" + prior.toml())
    parameters = load_parameters(path)
    entry = parameters.entries["modality.perfusion.ASL.separation"]
    assert entry.fields["value"] == written["modality"]["perfusion"]["ASL"]["separation"]["value"]
    assert 'meta of "x".csv' in entry.source


def test_a_pooled_point_below_chance_is_refused():
    prior = ModalityPrior("perfusion.DSC", 1.75, 0.5, 1, np.full(5, 0.4), np.full(5, 0.5), "x")
    with pytest.raises(ValueError, match="sensitivity \\+ specificity <= 1"):
        prior.entries()


def test_bundled_synthetic_dsc_studies_are_what_the_simulation_writes():
    rows = simulate_study_tables(DSC["mu_necrosis"], DSC["separation"], DSC["sigma"], **SIMULATION)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    assert DSC_STUDIES.read_text() == out.getvalue()
    bundled = load_parameters().entries
    for name, value in DSC.items():
        assert bundled[f"modality.perfusion.DSC.{name}"].fields["value"] == value


def test_round_trip_recovers_the_dsc_entries_the_studies_came_from(capsys):
    arguments = ["meta", str(DSC_STUDIES), "--numeric-covariate", "cutoff", "--at", "cutoff=1.75"]
    arguments += ["--to-prior", "perfusion.DSC", "--cutoff", "1.75", "--seed", "1", "--json"]
    assert main([*arguments, "--draws", "400"]) == 0
    entries = json.loads(capsys.readouterr().out)["prior_entries"]
    mu0 = entries["modality.perfusion.DSC.mu_necrosis"]
    separation = entries["modality.perfusion.DSC.separation"]
    assert mu0["value"] == pytest.approx(DSC["mu_necrosis"], abs=3 * mu0["scale"])
    assert np.log(separation["value"] / DSC["separation"]) == pytest.approx(
        0.0, abs=3 * separation["scale"]
    )
    assert "dsc_synthetic.csv (24 studies, binomial likelihood" in mu0["source"]


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--cutoff", "1.75"], "--cutoff"),
        (["--to-prior", "perfusion.XYZ", "--cutoff", "1.75"], "--to-prior"),
        (["--to-prior", "perfusion.DSC"], "--cutoff"),
        (["--covariate", "population", "--to-prior", "perfusion.DSC", "--cutoff", "1.5"], "one"),
    ],
)
def test_command_refuses_an_incomplete_prior_request(extra, option, capsys):
    assert main(["meta", str(DATA / "meta" / "smoking.csv"), *extra]) == 2
    assert option in capsys.readouterr().err


def test_cutoff_must_be_a_positive_plain_number(capsys):
    arguments = ["meta", str(DSC_STUDIES), "--to-prior", "perfusion.DSC", "--cutoff", "1_75"]
    assert main(arguments) == 2
    assert "1_75" in capsys.readouterr().err
