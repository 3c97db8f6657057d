"""Bivariate meta-regression: mada's published smoking example (REML, ML likelihood-ratio test,
Bayesian fit), summary points, marginal study likelihoods, LOO, covariate checks, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA
from matplotlib.figure import Figure
from scipy import special, stats

from model.cli import main
from model.core.errors import InputError
from model.synthesis.covariates import load_covariates
from model.synthesis.meta_analysis import (
    MetaAnalysis,
    MetaPriors,
    fit_meta_analysis,
    load_study_tables,
    normal_approximation,
)
from model.synthesis.meta_regression import (
    MetaRegression,
    compare_by_loo,
    plot_meta_regression,
    study_log_likelihood,
)
from model.synthesis.reml import fit_normal, likelihood_ratio_test

SMOKING = DATA / "meta" / "smoking.csv"
COUNTS = ("TP", "FP", "FN", "TN", "study")

# mada vignette (Doebler & Holling, "Meta-Analysis of Diagnostic Accuracy with mada", section
# "Bivariate meta-regression"): summary(reitsma(smoking1, formula = cbind(tsens, tfpr) ~ type)),
# REML, on the first 2x2 table of each of the 26 studies of Patrick et al. (1994).
MADA_ESTIMATES = {
    ("logit_sensitivity", "intercept"): (2.813, 0.491),
    ("logit_sensitivity", "type=SAQ"): (-1.166, 0.634),
    ("logit_fpr", "intercept"): (-3.337, 0.311),
    ("logit_fpr", "type=SAQ"): (0.882, 0.389),
}
MADA_TAU, MADA_RHO, MADA_LOGLIK = (1.508, 0.875), 0.551, 70.721
# anova(reitsma(..., ~ type, method = "ml"), reitsma(..., ~ 1, method = "ml"))
MADA_CHI_SQUARE, MADA_P = 13.25, 0.00133


@pytest.fixture(scope="module")
def smoking():
    tables = load_study_tables(SMOKING)
    return tables, load_covariates(SMOKING, ["type"], reserved=COUNTS)


@pytest.fixture(scope="module")
def normal_inputs(smoking):
    tables, design = smoking
    logits, variances = normal_approximation(tables)
    matrix = np.column_stack([np.ones(len(tables)), design.matrix])
    return logits, variances, matrix, ("intercept", *design.columns)


@pytest.fixture(scope="module")
def vague_fits(smoking):
    """Normal likelihood, vague priors: the Bayesian counterpart of mada's REML fit."""
    tables, design = smoking
    vague = MetaPriors(mu_sd=10.0, tau_sd=5.0)
    common = {"draws": 2000, "seed": 1, "likelihood": "normal", "priors": vague}
    return (
        MetaRegression(fit_meta_analysis(tables, design=design, **common)),
        fit_meta_analysis(tables, **common),
    )


# --------------------------------------------------------------------------------------------
# The normal-approximation path is mada's, number for number
# --------------------------------------------------------------------------------------------
def test_reml_reproduces_the_published_meta_regression(normal_inputs):
    fit = fit_normal(*normal_inputs)
    table = fit.table()
    for key, (estimate, se) in MADA_ESTIMATES.items():
        assert table.loc[key, "estimate"] == pytest.approx(estimate, abs=5e-4)
        assert table.loc[key, "se"] == pytest.approx(se, abs=5e-4)
    assert fit.tau == pytest.approx(MADA_TAU, abs=5e-4)
    assert fit.rho == pytest.approx(MADA_RHO, abs=5e-4)
    assert fit.log_likelihood == pytest.approx(MADA_LOGLIK, abs=5e-4)
    assert table.loc[("logit_fpr", "type=SAQ"), "p"] == pytest.approx(0.023, abs=5e-4)


def test_ml_likelihood_ratio_test_reproduces_mada_anova(normal_inputs):
    logits, variances, matrix, columns = normal_inputs
    test = likelihood_ratio_test(logits, variances, matrix, columns, matrix[:, :1], columns[:1])
    assert test.statistic == pytest.approx(MADA_CHI_SQUARE, abs=5e-3)
    assert test.df == 2
    assert test.p == pytest.approx(MADA_P, abs=5e-5)


def test_reml_recovers_a_numeric_cutoff_slope():
    rng = np.random.default_rng(4)
    cutoff = rng.uniform(1.0, 2.2, 400)
    truth = np.column_stack([1.0 - 1.5 * (cutoff - 1.5), -2.0 - 2.0 * (cutoff - 1.5)])
    variances = np.full((400, 2), 0.05)
    logits = truth + rng.normal(0, np.sqrt(variances + 0.04))
    design = np.column_stack([np.ones(400), cutoff])
    fit = fit_normal(logits, variances, design, ("intercept", "cutoff"))
    slopes = fit.table().xs("cutoff", level="column")
    assert slopes["estimate"].to_numpy() == pytest.approx([-1.5, -2.0], abs=0.15)
    assert np.all(slopes["lower"] < [-1.5, -2.0]) and np.all(slopes["upper"] > [-1.5, -2.0])


def test_normal_fit_refuses_too_few_studies_and_unknown_methods(normal_inputs):
    logits, variances, matrix, columns = normal_inputs
    with pytest.raises(ValueError, match="method"):
        fit_normal(logits, variances, matrix, columns, method="mm")
    with pytest.raises(ValueError, match="2 studies"):
        fit_normal(logits[:2], variances[:2], matrix[:2], columns)


# --------------------------------------------------------------------------------------------
# Bayesian meta-regression
# --------------------------------------------------------------------------------------------
def test_vague_prior_fit_agrees_with_mada_on_every_coefficient(vague_fits):
    regression, _ = vague_fits
    coefficients = regression.coefficients()
    for key, (estimate, _) in MADA_ESTIMATES.items():
        assert coefficients.loc[key, "median"] == pytest.approx(estimate, abs=0.02)
    assert regression.fit.diagnostics["divergences"] == 0
    # SAQ's false-positive rate is higher: the slope is positive with high probability.
    assert coefficients.loc[("logit_fpr", "type=SAQ"), "p_positive"] > 0.95


def test_summary_points_are_the_coefficients_on_the_probability_scale(vague_fits):
    regression, _ = vague_fits
    points = regression.summary_points().set_index(["type", "quantity"])["median"]
    slope = regression.fit.slope[:, 0, :]
    intercept = regression.logits_at(np.zeros(1))
    saq = intercept + slope
    assert points[("IAQ", "sensitivity")] == pytest.approx(
        np.median(special.expit(intercept[:, 0]))
    )
    assert points[("SAQ", "specificity")] == pytest.approx(np.median(special.expit(-saq[:, 1])))
    positive = special.expit(saq[:, 0]) / special.expit(saq[:, 1])
    assert points[("SAQ", "lr_positive")] == pytest.approx(np.median(positive))
    # The interviewer-administered questionnaire is the more accurate one (mada's conclusion).
    assert points[("IAQ", "specificity")] > points[("SAQ", "specificity")]
    curve = regression.sroc({"type": "SAQ"}, np.array([0.079]))
    assert curve["sensitivity"].iloc[0] == pytest.approx(points[("SAQ", "sensitivity")], abs=0.03)


def test_loo_prefers_the_covariate_as_the_likelihood_ratio_test_does(vague_fits):
    regression, intercept = vague_fits
    comparison = compare_by_loo(regression.fit, intercept)
    assert comparison.difference > comparison.se > 0
    assert comparison.max_pareto_k < 0.7
    assert comparison.elpd_regression - comparison.elpd_intercept == pytest.approx(
        comparison.difference
    )


def test_plot_shows_one_curve_per_level(vague_fits):
    figure = plot_meta_regression(vague_fits[0])
    assert isinstance(figure, Figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "type=IAQ" in labels and "type=SAQ" in labels


def test_a_fit_without_design_is_not_a_regression(vague_fits):
    with pytest.raises(ValueError, match="design"):
        MetaRegression(vague_fits[1])


# --------------------------------------------------------------------------------------------
# Marginal study likelihoods (what LOO leaves out)
# --------------------------------------------------------------------------------------------
def _fake_fit(tables, likelihood: str, draws: int = 3) -> MetaAnalysis:
    rng = np.random.default_rng(0)
    return MetaAnalysis(
        tables,
        mu_sens=rng.normal(2.0, 0.2, draws),
        mu_fpr=rng.normal(-2.5, 0.2, draws),
        tau_sens=rng.uniform(0.6, 1.4, draws),
        tau_fpr=rng.uniform(0.4, 1.0, draws),
        rho=rng.uniform(-0.6, 0.6, draws),
        likelihood=likelihood,
    )


def test_normal_marginal_is_the_bivariate_normal_density(smoking):
    tables, _ = smoking
    fit = _fake_fit(tables, "normal")
    logits, variances = normal_approximation(tables)
    d, i = 1, 5
    cross = fit.rho[d] * fit.tau_sens[d] * fit.tau_fpr[d]
    cov = np.array([[fit.tau_sens[d] ** 2, cross], [cross, fit.tau_fpr[d] ** 2]])
    expected = stats.multivariate_normal.logpdf(
        logits[i], [fit.mu_sens[d], fit.mu_fpr[d]], cov + np.diag(variances[i])
    )
    assert study_log_likelihood(fit)[d, i] == pytest.approx(expected)


def test_binomial_marginal_matches_brute_force_integration(smoking):
    tables, _ = smoking
    fit = _fake_fit(tables, "binomial")
    quadrature = study_log_likelihood(fit)
    rng = np.random.default_rng(1)
    for d, i in ((0, 1), (2, 7), (1, 25)):  # a study with FN = 0, a middling one, a small one
        cross = fit.rho[d] * fit.tau_sens[d] * fit.tau_fpr[d]
        cov = np.array([[fit.tau_sens[d] ** 2, cross], [cross, fit.tau_fpr[d] ** 2]])
        effects = rng.multivariate_normal([fit.mu_sens[d], fit.mu_fpr[d]], cov, 400_000)
        log_data = stats.binom.logpmf(
            tables.tp[i], tables.tp[i] + tables.fn[i], special.expit(effects[:, 0])
        ) + stats.binom.logpmf(
            tables.fp[i], tables.fp[i] + tables.tn[i], special.expit(effects[:, 1])
        )
        brute = special.logsumexp(log_data) - np.log(len(effects))
        assert quadrature[d, i] == pytest.approx(brute, abs=0.03)


# --------------------------------------------------------------------------------------------
# Covariates: strict, and refused with their place
# --------------------------------------------------------------------------------------------
def test_covariates_are_sorted_levels_and_dummies(smoking):
    _, design = smoking
    (covariate,) = design.covariates
    assert covariate.levels == ("IAQ", "SAQ") and design.columns == ("type=SAQ",)
    assert design.matrix[:, 0].sum() == 16
    assert design.row({"type": "IAQ"}) == pytest.approx([0.0])
    with pytest.raises(ValueError, match="levels"):
        design.row({"type": "CAPI"})


def _problems(tmp_path, text: str, categorical=(), numeric=()):
    path = tmp_path / "studies.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_covariates(path, categorical, numeric, reserved=COUNTS)
    return [(p.row, p.column, p.value) for p in caught.value.problems]


def test_a_covariate_with_one_level_is_refused(tmp_path):
    text = "study,TP,FP,FN,TN,type\nA,5,1,1,9,SAQ\nB,6,2,1,9,SAQ\n"
    ((row, column, found),) = _problems(tmp_path, text, ["type"])
    assert (row, column) == (None, "type") and "'SAQ' in every row" in found


def test_bad_numeric_cells_and_blank_levels_are_refused_with_their_place(tmp_path):
    text = "study,TP,FP,FN,TN,type,cutoff\nA,5,1,1,9,SAQ,1_5\nB,6,2,1,9,,1,75\nC,6,2,1,9,IAQ,1.2\n"
    text = text.replace("1,75", '"1,75"')
    problems = _problems(tmp_path, text, ["type"], ["cutoff"])
    assert (3, "type", "") in problems
    assert (2, "cutoff", "1_5") in problems and (3, "cutoff", "1,75") in problems


def test_a_covariate_named_twice_or_naming_a_count_is_refused(tmp_path):
    text = "study,TP,FP,FN,TN,type\nA,5,1,1,9,SAQ\nB,6,2,1,9,IAQ\n"
    problems = _problems(tmp_path, text, ["type", "TP"], ["type"])
    assert (1, "TP", "TP") in problems and (1, "type", "type") in problems


def test_cli_numeric_cutoff_regression_gives_the_point_at_the_chosen_cutoff(tmp_path, capsys):
    rng = np.random.default_rng(7)
    cutoffs = rng.uniform(1.0, 2.2, 24)
    rows = ["study,TP,FP,FN,TN,cutoff"]
    for k, cut in enumerate(cutoffs):
        se, fpr = special.expit(1.2 - 1.5 * (cut - 1.6)), special.expit(-2.0 - 2.0 * (cut - 1.6))
        tp, fp = rng.binomial(150, se), rng.binomial(150, fpr)
        rows.append(f"S{k},{tp},{fp},{150 - tp},{150 - fp},{cut:.2f}")
    path = tmp_path / "cutoffs.csv"
    path.write_text("\n".join(rows) + "\n")
    arguments = ["meta", str(path), "--numeric-covariate", "cutoff", "--at", "cutoff=1.6"]
    assert main([*arguments, "--json", "--draws", "300", "--likelihood", "normal"]) == 0
    document = json.loads(capsys.readouterr().out)
    points = {p["quantity"]: p for p in document["summary_points"]}
    assert points["sensitivity"]["cutoff"] == 1.6
    assert points["sensitivity"]["lower"] < special.expit(1.2) < points["sensitivity"]["upper"]
    assert points["specificity"]["lower"] < special.expit(2.0) < points["specificity"]["upper"]
    slopes = {(c["scale"], c["column"]): c for c in document["coefficients"]}
    assert slopes[("logit_sensitivity", "cutoff")]["upper"] < 0
    assert document["likelihood_ratio_test"]["p"] < 0.001
    assert {r["column"] for r in document["normal_reml"]} == {"intercept", "cutoff"}


def test_cli_refuses_bad_covariate_options_with_exit_two(tmp_path, capsys):
    assert main(["meta", str(SMOKING), "--covariate", "type", "--at", "cutoff=1.5"]) == 2
    assert "--at" in capsys.readouterr().err
    arguments = ["meta", str(SMOKING), "--numeric-covariate", "type", "--at", "type=1_5"]
    assert main(arguments) == 2
    assert "1_5" in capsys.readouterr().err
    assert main(["meta", str(SMOKING), "--numeric-covariate", "type"]) == 2
    err = capsys.readouterr().err
    assert "row 2, column 'type'" in err and "'SAQ'" in err
