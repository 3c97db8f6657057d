"""Prior sensitivity (power-scaling) and the prior predictive check."""

import json
from pathlib import Path

import numpy as np
import pytensor
import pytest
import xarray as xr
from scipy import stats

from model.checks.loo import pointwise_log_likelihood
from model.checks.prior_sensitivity import (
    cohort_statistics,
    compare_statistics,
    log_densities,
    prior_predictive_statistics,
    sensitivity_table,
    statistics,
)
from model.checks.simulation import simulate
from model.cli import main
from model.core.errors import InputError
from model.fitting.sampling import Fit, prepare_model
from model.inputs.parameters import bundled_registry, load_parameters
from model.inputs.reading import load_cohort
from model.inputs.schema import trusted_cohort
from model.likelihood.draws import parameter_variables

DRAWS_PER_CHAIN = 50
BUNDLED_FIT = str(Path(__file__).resolve().parents[2] / "data" / "fit.nc")


@pytest.fixture(scope="module")
def tree(bundled_fit, bundled_cohort_path):
    return log_densities(bundled_fit, bundled_cohort_path, draws=DRAWS_PER_CHAIN)


@pytest.fixture(scope="module")
def other_cohort_path(tmp_path_factory, small_cohort_text):
    path = tmp_path_factory.mktemp("cohorts") / "other_cohort.csv"
    path.write_text(small_cohort_text)
    return path


def test_log_densities_groups_and_dims(tree, bundled_cohort_path):
    assert {"posterior", "log_likelihood", "log_prior"} <= set(tree.children)
    patients = tree["log_likelihood"]["patients"]
    assert patients.dims == ("chain", "draw", "patient")
    patient_ids = load_cohort(bundled_cohort_path).table["patient_id"].unique().tolist()
    assert 500 < len(patient_ids) < 600  # some patients have two lesions: one term each
    assert patients.shape == (4, DRAWS_PER_CHAIN, len(patient_ids))
    assert patients["patient"].to_numpy().tolist() == patient_ids
    assert np.isfinite(patients).all()
    # population priors only: group-level center offsets are not power-scaled
    log_prior = tree["log_prior"].to_dataset()
    assert "prevalence_tau_center" in log_prior and "perfusion_tau_center" in log_prior
    assert "prevalence_center" not in log_prior and "symptom_if_decline" in log_prior
    assert log_prior["perfusion_sigma"].dims == ("chain", "draw", "perfusion_kind")


def test_log_likelihood_matches_the_pymc_graph_at_one_draw(tree, bundled_fit, bundled_cohort_path):
    """The batched function against the model's own tensor, evaluated draw by draw."""
    chain, thinned_draw = 2, 17
    draw = int(tree["posterior"]["draw"][thinned_draw])
    prepared = prepare_model(
        load_cohort(bundled_cohort_path),
        load_parameters(),
        tuple(bundled_fit.provenance["sampler"]["centered"]),
    )
    point = bundled_fit.posterior.isel(chain=chain).sel(draw=draw)
    replacements = {
        rv: pytensor.tensor.constant(np.asarray(point[rv.name].to_numpy(), dtype=rv.dtype))
        for rv in prepared.graph.model.free_RVs
    }
    graph = pytensor.graph.replace.graph_replace(
        [prepared.graph.patient_log_likelihood], replacements, strict=False
    )
    (expected,) = pytensor.function([], graph, mode="FAST_COMPILE")()
    got = tree["log_likelihood"]["patients"].isel(chain=chain, draw=thinned_draw).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    assert got.sum() == pytest.approx(expected.sum(), rel=1e-12)


def test_log_likelihood_matches_the_scorer(tree, bundled_fit, bundled_cohort_path):
    """The NumPy scorer is a separate implementation of the same per-patient likelihood."""
    scorer, _ = pointwise_log_likelihood(bundled_fit, load_cohort(bundled_cohort_path))  # (P, S)
    n_draws = bundled_fit.posterior.sizes["draw"]
    draws = tree["posterior"]["draw"].to_numpy()
    got = tree["log_likelihood"]["patients"].to_numpy()
    for chain in (0, 3):
        expected = scorer[:, chain * n_draws + draws].T
        # reads go through two implementations of log Phi (see test_model_agreement)
        np.testing.assert_allclose(got[chain], expected, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(got[chain].sum(axis=1), expected.sum(axis=1), rtol=1e-9)


def _assert_log_density(got, expected):
    """Equal up to a constant below 1e-5 (PyTensor computes the normalising constants of priors
    with integral Python-float parameters, e.g. Beta(36, 4), in float32), and exactly in how they
    vary between draws, which is all that power-scaling weights depend on."""
    offset = np.asarray(got, dtype=float).ravel() - np.asarray(expected, dtype=float).ravel()
    assert abs(offset.mean()) < 1e-5
    np.testing.assert_allclose(offset, offset.mean(), atol=1e-10)


def test_log_prior_is_the_parameter_file_density(tree):
    parameters = load_parameters()
    point = tree["posterior"].to_dataset().isel(chain=1)
    log_prior = tree["log_prior"].to_dataset().isel(chain=1)

    tau = parameters.prior("prevalence.tau_center")  # lognormal, on the constrained scale
    expected = stats.lognorm(s=tau.scale, scale=tau.center).logpdf(point["prevalence_tau_center"])
    _assert_log_density(log_prior["prevalence_tau_center"], expected)

    se = parameters.prior("reference.follow_up_sensitivity")  # beta, scale = concentration
    beta = stats.beta(se.center * se.scale, (1 - se.center) * se.scale)
    _assert_log_density(
        log_prior["reference_sensitivity"], beta.logpdf(point["reference_sensitivity"])
    )

    fet = {"pet_kind": "FET"}
    sigma = parameters.prior("modality.pet.FET.sigma")
    expected = stats.lognorm(s=sigma.scale, scale=sigma.center).logpdf(point["pet_sigma"].sel(fet))
    _assert_log_density(log_prior["pet_sigma"].sel(fet), expected)

    intercept = parameters.prior("prevalence.intercept")
    expected = stats.norm(intercept.center, intercept.scale).logpdf(point["prevalence_intercept"])
    _assert_log_density(log_prior["prevalence_intercept"], expected)


def test_refuses_another_cohort_or_other_priors(
    bundled_fit, bundled_cohort_path, other_cohort_path
):
    with pytest.raises(InputError, match="other_cohort.csv.*trained on another cohort"):
        log_densities(bundled_fit, other_cohort_path)
    changed = load_parameters().with_values({"prevalence.intercept": 0.0})
    with pytest.raises(InputError, match="parameter file the fit was sampled with"):
        log_densities(bundled_fit, bundled_cohort_path, changed)


def _conjugate_normal_tree(prior_sd: float, y: np.ndarray, seed: int = 0) -> xr.DataTree:
    """Exact posterior draws of theta with theta ~ N(0, prior_sd), y_i ~ N(theta, 1)."""
    precision = 1 / prior_sd**2 + len(y)
    mean, sd = y.sum() / precision, precision**-0.5
    theta = np.random.default_rng(seed).normal(mean, sd, (4, 1000))
    dims = ("chain", "draw")
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"theta": (dims, theta)}),
            "log_likelihood": xr.Dataset(
                {"y": ((*dims, "obs"), stats.norm.logpdf(y, theta[..., None], 1.0))}
            ),
            "log_prior": xr.Dataset({"theta": (dims, stats.norm.logpdf(theta, 0.0, prior_sd))}),
        }
    )


def test_psense_flags_a_prior_made_100_times_narrower():
    y = np.random.default_rng(1).normal(0.3, 1.0, 20)
    wide = sensitivity_table(_conjugate_normal_tree(10.0, y), ["theta"]).loc["theta"]
    narrow = sensitivity_table(_conjugate_normal_tree(0.1, y), ["theta"]).loc["theta"]
    assert wide["prior_sensitivity"] < 0.01 and wide["likelihood_sensitivity"] > 0.05
    assert not wide["flagged"] and wide["diagnosis"] == ""
    assert narrow["prior_sensitivity"] > 0.05
    assert narrow["flagged"]
    # a prior 3 SDs of the data away from their mean, both informative: a conflict
    far = np.random.default_rng(2).normal(3.0, 1.0, 20)
    conflict = sensitivity_table(_conjugate_normal_tree(0.2, far), ["theta"]).loc["theta"]
    assert conflict["diagnosis"] == "potential prior-data conflict"


def test_psense_strong_prior_weak_likelihood():
    y = np.array([0.5])
    row = sensitivity_table(_conjugate_normal_tree(0.05, y), ["theta"]).loc["theta"]
    assert row["diagnosis"] == "potential strong prior / weak likelihood"


@pytest.fixture(scope="module")
def simulated_statistics():
    return prior_predictive_statistics(load_parameters(), 600, 8, n_sims=100, seed=3)


def test_cohort_statistics_by_hand(bundled_cohort_path):
    cohort = load_cohort(bundled_cohort_path)
    table = cohort.table
    values = cohort_statistics(cohort)
    assert list(values) == list(statistics(cohort.registry))
    labelled = table["reference_diagnosis"].dropna()
    assert values["labelled_recurrence"] == pytest.approx((labelled == "recurrence").mean())
    dsc = table.loc[table["perfusion_technique"] == "DSC", "perfusion_ratio"].dropna()
    assert values["log_dsc_median"] == pytest.approx(np.log(dsc.median()))


def test_a_cohort_from_the_prior_centre_is_inside(simulated_statistics):
    cohort, _ = simulate(600, 8, seed=11)
    check = compare_statistics(cohort_statistics(cohort), simulated_statistics)
    assert not check["flagged"].any(), check[check["flagged"]]
    assert check["quantile"].between(0.02, 0.98).all()


def test_rcbv_times_20_is_flagged(simulated_statistics):
    cohort, _ = simulate(600, 8, seed=11)
    frame = cohort.table.copy()
    frame["perfusion_ratio"] = frame["perfusion_ratio"] * 20
    check = compare_statistics(
        cohort_statistics(trusted_cohort(frame, "x20", cohort.registry)), simulated_statistics
    )
    rcbv = ["log_dsc_q10", "log_dsc_median", "log_dsc_q90", "log_asl_q10", "log_asl_median"]
    rcbv += ["log_asl_q90"]
    assert check.loc[rcbv, "flagged"].all()
    assert (check.loc[rcbv, "quantile"] == 1.0).all()
    assert not check.drop(index=rcbv)["flagged"].any()


def test_cli_json_on_the_bundled_fit(capsys, tmp_path):
    code = main(["prior-check", BUNDLED_FIT, "--n-sims", "20", "--json", "--out", str(tmp_path)])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    parameters = document["psense"]["parameters"]
    assert len(parameters) == len(parameter_variables(bundled_registry()))
    assert {"prior_sensitivity", "likelihood_sensitivity", "diagnosis", "source"} <= set(
        parameters[0]
    )
    flagged = [p for p in parameters if p["flagged"]]
    assert all(p["diagnosis"] and p["source"] for p in flagged)
    assert document["prior_predictive"]["n_sims"] == 20
    assert len(document["prior_predictive"]["statistics"]) == len(statistics(bundled_registry()))
    written = {p.name for p in tmp_path.iterdir()}
    assert {"psense.csv", "psense.png", "prior_predictive.csv", "prior_predictive.png"} <= written


def test_cli_refuses_another_cohort(capsys, other_cohort_path):
    code = main(["prior-check", BUNDLED_FIT, "--cohort", str(other_cohort_path)])
    assert code == 2
    assert "other_cohort.csv" in capsys.readouterr().err


def test_cli_needs_the_cohort_of_a_fit_not_trained_on_the_bundled_one(
    capsys, tmp_path, bundled_fit
):
    provenance = dict(bundled_fit.provenance)
    provenance["cohort"] = {**provenance["cohort"], "digest": "0" * 64, "name": "mine.csv"}
    path = Fit(bundled_fit.posterior, bundled_fit.sample_stats, provenance).save(
        tmp_path / "fit_of_another_cohort.nc"
    )
    assert main(["prior-check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--cohort" in err and "mine.csv" in err
