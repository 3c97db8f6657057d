"""Bivariate meta-analysis: published AUDIT-C numbers, both likelihoods, binormal mapping, input
checks, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA
from matplotlib.figure import Figure
from scipy import stats

from model.cli import main
from model.core.errors import InputError
from model.synthesis.meta_analysis import (
    binormal_separation,
    build_model,
    centred_effects,
    fit_meta_analysis,
    load_study_tables,
    normal_approximation,
    plot_meta_analysis,
)
from model.synthesis.reml import fit_normal

AUDITC = DATA / "meta" / "auditc.csv"

# mada::reitsma(AuditC), REML (Doebler & Holling, R package mada; data of Kriston et al. 2008,
# Ann Intern Med 149:879-888): pooled logit sensitivity 2.0997, logit FPR -1.2637, SROC AUC 0.887.
MADA_LOGITS = (2.0997, -1.2637)
MADA_SENSITIVITY = 0.8909
MADA_SPECIFICITY = 1 - 0.2203
MADA_AUC = 0.8867


@pytest.fixture(scope="module")
def tables():
    return load_study_tables(AUDITC)


@pytest.fixture(scope="module")
def auditc(tables):
    """Exact binomial likelihood (the default)."""
    return fit_meta_analysis(tables, draws=1000, tune=1000, seed=1)


@pytest.fixture(scope="module")
def auditc_normal(tables):
    """Normal approximation with mada's continuity correction (Reitsma et al. 2005)."""
    return fit_meta_analysis(tables, draws=1000, tune=1000, seed=1, likelihood="normal")


# --------------------------------------------------------------------------------------------
# Normal likelihood: reproduces the published mada::reitsma analysis
# --------------------------------------------------------------------------------------------
def test_normal_likelihood_reproduces_mada(auditc_normal):
    summary = auditc_normal.summary()
    assert summary.loc["sensitivity", "median"] == pytest.approx(MADA_SENSITIVITY, abs=0.02)
    assert summary.loc["specificity", "median"] == pytest.approx(MADA_SPECIFICITY, abs=0.02)
    assert summary.loc["sroc_auc", "median"] == pytest.approx(MADA_AUC, abs=0.02)
    assert auditc_normal.likelihood == "normal"
    assert auditc_normal.diagnostics["divergences"] == 0
    assert auditc_normal.diagnostics["min_ess_bulk"] >= 400


def test_pooled_likelihood_ratios_are_those_of_each_draw(auditc):
    summary = auditc.summary()
    se, sp = auditc.sensitivity, auditc.specificity
    for name, draws in (("lr_positive", se / (1 - sp)), ("lr_negative", (1 - se) / sp)):
        assert summary.loc[name, "median"] == pytest.approx(np.median(draws))
        assert summary.loc[name, "lower"] < summary.loc[name, "median"] < summary.loc[name, "upper"]
    # The median of a ratio is not the ratio of the medians: the intervals come from the draws.
    dor = summary.loc["diagnostic_odds_ratio"]
    assert dor["median"] == pytest.approx(np.median(se * sp / ((1 - se) * (1 - sp))))
    assert summary.loc["lr_positive", "lower"] > 1 > summary.loc["lr_negative", "upper"]


def test_normal_approximation_is_the_data_mada_fits(tables):
    # Two studies have FN = 0, so mada adds 0.5 to every cell of every study.
    logits, variances = normal_approximation(tables)
    assert logits[0] == pytest.approx([np.log(47.5 / 9.5), np.log(101.5 / 738.5)])
    assert variances[0] == pytest.approx([1 / 47.5 + 1 / 9.5, 1 / 101.5 + 1 / 738.5])
    assert np.all(np.isfinite(logits))
    # REML on these logits (what mada hands to mvmeta) gives mada's published coefficients.
    design = np.ones((len(tables), 1))
    reml = fit_normal(logits, variances, design, ("intercept",))
    assert reml.coefficients[0] == pytest.approx(MADA_LOGITS, abs=5e-4)


def test_continuity_correction_only_when_some_cell_is_zero(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("TP,FP,FN,TN\n10,2,3,40\n8,1,4,12\n")
    logits, variances = normal_approximation(load_study_tables(path))
    assert logits[:, 0] == pytest.approx(np.log([10 / 3, 8 / 4]))
    assert variances[1] == pytest.approx([1 / 8 + 1 / 4, 1 / 1 + 1 / 12])
    path.write_text("TP,FP,FN,TN\n10,2,3,40\n8,0,4,12\n")
    logits, _ = normal_approximation(load_study_tables(path))
    assert logits[0] == pytest.approx([np.log(10.5 / 3.5), np.log(2.5 / 40.5)])  # all studies
    with pytest.raises(ValueError, match="correction"):
        normal_approximation(load_study_tables(path), correction=0.0)


def test_normal_model_is_the_marginal_bivariate_normal(tables):
    # The study effects are integrated out: per study N(mu, Sigma + diag(within variances)).
    model = build_model(tables, likelihood="normal")
    assert {v.name for v in model.free_RVs} == {"mu", "tau", "rho"}
    point = {"mu": np.array([2.0, -1.3]), "tau_log__": np.log([1.2, 0.7]), "rho_interval__": 1.0}
    rho = np.tanh(0.5)  # the interval transform of Uniform(-1, 1) at 1.0
    logp = model.compile_logp(vars=model.observed_RVs, jacobian=False)(point)
    logits, variances = normal_approximation(tables)
    between = np.array([[1.44, rho * 1.2 * 0.7], [rho * 1.2 * 0.7, 0.49]])
    expected = sum(
        stats.multivariate_normal.logpdf(y, point["mu"], between + np.diag(v))
        for y, v in zip(logits, variances, strict=True)
    )
    assert logp == pytest.approx(expected)
    with pytest.raises(ValueError, match="likelihood"):
        build_model(tables, likelihood="poisson")


# --------------------------------------------------------------------------------------------
# Exact binomial likelihood (default)
# --------------------------------------------------------------------------------------------
def test_binomial_specificity_and_sroc_auc_reproduce_mada(auditc):
    summary = auditc.summary()
    assert summary.loc["specificity", "median"] == pytest.approx(MADA_SPECIFICITY, abs=0.02)
    assert summary.loc["sroc_auc", "median"] == pytest.approx(MADA_AUC, abs=0.02)


def test_exact_likelihood_differs_from_the_approximation_in_the_documented_direction(
    auditc, auditc_normal
):
    # The normal approximation adds 0.5 to every cell (two studies have FN = 0: 68/68 and
    # 752/752), which pulls those studies' sensitivities towards 0.5; the exact binomial
    # likelihood keeps them near 1, so its pooled sensitivity is about 0.03 higher, while the
    # specificity (no zero cells among the non-diseased) barely moves (data/meta/README.md).
    # The published value still lies in the exact fit's 95% interval.
    exact, approximate = auditc.summary(), auditc_normal.summary()
    row = exact.loc["sensitivity"]
    assert 0.015 < row["median"] - MADA_SENSITIVITY < 0.05
    assert 0.015 < row["median"] - approximate.loc["sensitivity", "median"] < 0.05
    assert row["lower"] < MADA_SENSITIVITY < row["upper"]
    spec = exact.loc["specificity", "median"] - approximate.loc["specificity", "median"]
    assert abs(spec) < 0.01


def test_binomial_study_effects_centred_where_the_data_pin_them(auditc, tables, tmp_path):
    centre = centred_effects(tables)
    assert not centre[6, 0] and not centre[7, 0]  # FN = 0: sensitivity barely pinned
    assert centre[:, 1].all()  # hundreds of non-diseased per study
    path = tmp_path / "small.csv"
    path.write_text("TP,FP,FN,TN\n6,5,3,19\n8,5,6,12\n16,3,2,20\n12,1,4,11\n")
    assert not centred_effects(load_study_tables(path)).any()
    # which keeps the sampler efficient on these large studies
    assert auditc.likelihood == "binomial"
    assert auditc.diagnostics["divergences"] == 0
    assert auditc.diagnostics["min_ess_bulk"] >= 400


def test_heterogeneity_and_regions_are_coherent(auditc):
    summary = auditc.summary()
    assert summary.loc["tau_logit_sensitivity", "median"] > summary.loc["tau_logit_fpr", "median"]
    assert 0 < summary.loc["rho", "median"] < 1  # logit Se and logit FPR rise together
    credible, predicted = auditc.credible_region(), auditc.prediction_region()
    assert np.ptp(predicted["fpr"]) > np.ptp(credible["fpr"])
    assert np.ptp(predicted["sensitivity"]) > np.ptp(credible["sensitivity"])
    curve = auditc.sroc()
    assert np.all(np.diff(curve["sensitivity"]) > 0)  # an ROC curve rises
    assert np.all(
        (curve["lower"] <= curve["sensitivity"]) & (curve["sensitivity"] <= curve["upper"])
    )


def test_plot_returns_a_figure(auditc):
    figure = plot_meta_analysis(auditc)
    assert isinstance(figure, Figure)
    assert len(figure.axes[0].get_legend().get_texts()) == 5


# --------------------------------------------------------------------------------------------
# Binormal mapping: closed-form values
# --------------------------------------------------------------------------------------------
def test_equal_variance_dprime_and_auc():
    point = stats.norm.cdf(1.0)
    result = binormal_separation(point, point)
    assert result.separation == pytest.approx(2.0)
    assert result.auc == pytest.approx(stats.norm.cdf(np.sqrt(2.0)))
    assert binormal_separation(0.5, 0.5).auc == pytest.approx(0.5)
    assert binormal_separation(0.5, 0.5).separation == pytest.approx(0.0)


def test_unequal_variance_separation_and_class_means_round_trip():
    se, sp = stats.norm.cdf(1.0), stats.norm.cdf(0.5)
    result = binormal_separation(se, sp, sigma_necrosis=0.4, sigma_recurrence=0.6, cutoff=2.0)
    assert result.separation == pytest.approx(0.6 * 1.0 + 0.4 * 0.5)
    assert result.auc == pytest.approx(stats.norm.cdf(0.8 / np.sqrt(0.4**2 + 0.6**2)))
    assert result.mu_necrosis == pytest.approx(np.log(2.0) - 0.2)
    assert result.mu_recurrence - result.mu_necrosis == pytest.approx(result.separation)
    # the binormal model reproduces the operating point at the cutoff
    assert stats.norm.sf(np.log(2.0), result.mu_recurrence, 0.6) == pytest.approx(se)
    assert stats.norm.cdf(np.log(2.0), result.mu_necrosis, 0.4) == pytest.approx(sp)


def test_mapping_broadcasts_over_draws(auditc):
    draws = binormal_separation(auditc.sensitivity, auditc.specificity)
    assert draws.separation.shape == auditc.sensitivity.shape
    assert np.median(draws.separation) == pytest.approx(
        auditc.summary().loc["binormal_d_prime", "median"]
    )


def test_mapping_rejects_bad_values():
    for se, sp in ((1.0, 0.8), (0.8, 0.0)):
        with pytest.raises(ValueError, match="strictly between"):
            binormal_separation(se, sp)
    with pytest.raises(ValueError, match="positive"):
        binormal_separation(0.8, 0.8, sigma_necrosis=0.0)


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
def test_loader_reads_custom_columns_and_labels_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,d\n10,2,3,40\n8,0,0,12\n")
    tables = load_study_tables(path, {"tp": "a", "fp": "b", "fn": "c", "tn": "d"})
    assert tables.study == ("row 2", "row 3")
    assert tables.tp.tolist() == [10, 8] and tables.tn.tolist() == [40, 12]


def test_loader_lists_every_problem_with_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("study,TP,FP,FN,TN\nA,5,x,1,9\nB,-1,2,0,9\nC,0,3,0,7\nD,1,0,1,0\n")
    with pytest.raises(InputError) as caught:
        load_study_tables(path)
    places = {(p.row, p.column) for p in caught.value.problems}
    assert places == {(2, "FP"), (3, "TP"), (4, "TP+FN"), (5, "FP+TN")}


@pytest.mark.parametrize("text", ["1_5", "+15", "15.0", "1e1", "\u0661\u0665", "\uff11\uff15"])
def test_a_count_is_ascii_digits_only(tmp_path, text):
    """int() would read 1_5 as 15, and Arabic-Indic or full-width digits as numbers."""
    path = tmp_path / "t.csv"
    path.write_text(f"TP,FP,FN,TN\n10,2,3,40\n8,1,{text},12\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_study_tables(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "FN", text)
    assert problem.expected == "a whole number >= 0"


def test_loader_names_a_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("TP,FP,TN\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError) as caught:
        load_study_tables(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (1, "FN")


def test_cli_bad_input_exits_two_with_places(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("study,TP,FP,FN,TN\nA,5,1.5,1,9\nB,0,2,0,9\n")
    assert main(["meta", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 2, column 'FP'" in err and "row 3, column 'TP+FN'" in err
    assert main(["meta", str(AUDITC), "--plot", str(tmp_path / "x.gif")]) == 2
    assert "--plot" in capsys.readouterr().err


def test_cli_json_parses_and_plot_is_written(tmp_path, capsys):
    plot = tmp_path / "roc.png"
    arguments = ["meta", str(AUDITC), "--json", "--likelihood", "normal", "--plot", str(plot)]
    assert main([*arguments, "--draws", "300", "--seed", "3"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["studies"] == 14 and document["likelihood"] == "normal"
    estimates = document["estimates"]
    assert estimates["sensitivity"]["median"] == pytest.approx(MADA_SENSITIVITY, abs=0.02)
    assert estimates["specificity"]["median"] == pytest.approx(MADA_SPECIFICITY, abs=0.02)
    assert set(document["sroc"]) == {"fpr", "sensitivity", "lower", "upper"}
    assert plot.read_bytes()[:4] == b"\x89PNG"
