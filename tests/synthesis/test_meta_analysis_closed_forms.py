"""Bivariate meta-analysis without sampling: the model's density, the moment estimator that picks
the parametrisation, and every summary of given draws, each against an independent computation.

These run in seconds (no NUTS), so mutation testing of ``synthesis.meta_analysis`` uses them; the
fitted reproductions of ``mada`` are in ``test_meta_analysis.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import to_rgb
from matplotlib.font_manager import FontProperties
from scipy import special, stats

import model.synthesis.meta_analysis as meta
from model.core.errors import InputError
from model.synthesis.meta_analysis import (
    MetaAnalysis,
    MetaPriors,
    StudyTables,
    build_model,
    centred_effects,
    fit_meta_analysis,
    load_study_tables,
    plot_meta_analysis,
)

# Five studies: two small ones (effects not pinned by their data) and three large ones; D's
# sensitivity is not pinned but its false-positive rate is.
TABLES = StudyTables(
    study=("A", "B", "C", "D", "E"),
    tp=np.array([3, 40, 180, 9, 300]),
    fp=np.array([2, 30, 25, 60, 90]),
    fn=np.array([1, 12, 20, 4, 45]),
    tn=np.array([6, 200, 400, 300, 700]),
)


def _dersimonian_laird(logits: np.ndarray, variances: np.ndarray) -> float:
    """tau^2 by the DerSimonian-Laird moment estimator, written out for one column."""
    w = [1 / v for v in variances]
    pooled = sum(wi * y for wi, y in zip(w, logits, strict=True)) / sum(w)
    q = sum(wi * (y - pooled) ** 2 for wi, y in zip(w, logits, strict=True))
    c = sum(w) - sum(wi * wi for wi in w) / sum(w)
    return max(0.0, (q - (len(w) - 1)) / c)


def _expected_centring(tables: StudyTables) -> np.ndarray:
    tp, fn, fp, tn = (
        np.asarray(x, float) + 0.5 for x in (tables.tp, tables.fn, tables.fp, tables.tn)
    )
    out = []
    for logits, variances in (
        (np.log(tp / fn), 1 / tp + 1 / fn),
        (np.log(fp / tn), 1 / fp + 1 / tn),
    ):
        out.append(variances < _dersimonian_laird(logits, variances) / 2)
    return np.column_stack(out)


def test_centring_follows_the_dersimonian_laird_estimate_on_random_tables():
    """Over many random tables some sit near the boundary, so a changed estimator shows."""
    rng = np.random.default_rng(7)
    mixed = 0
    for _ in range(400):
        k = int(rng.integers(2, 12))
        n1, n0 = rng.integers(1, 300, k), rng.integers(1, 600, k)
        se = special.expit(rng.normal(1.5, rng.uniform(0.05, 1.5), k))
        fpr = special.expit(rng.normal(-1.5, rng.uniform(0.05, 1.5), k))
        tp, fp = rng.binomial(n1, se), rng.binomial(n0, fpr)
        tables = StudyTables(tuple("s" * k), tp, fp, n1 - tp, n0 - fp)
        expected = _expected_centring(tables)
        np.testing.assert_array_equal(centred_effects(tables), expected)
        mixed += expected.any() and not expected.all()
    assert mixed > 50  # the comparison saw both forms within one analysis


def test_centring_with_covariates_uses_the_residual_heterogeneity():
    """Two groups of large studies far apart: heterogeneity without the covariate, none with it."""
    n = np.full(12, 2000)
    group = np.repeat([0.0, 1.0], 6)
    tp = np.round(n * special.expit(np.where(group == 1, 3.0, 0.0))).astype(int)
    fp = np.round(n * special.expit(np.where(group == 1, -3.0, 0.0))).astype(int)
    tables = StudyTables(tuple("s" * 12), tp, fp, n - tp, n - fp)
    assert centred_effects(tables).all()
    assert not centred_effects(tables, group[:, None]).any()


def _free_point(model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values on the sampler's scale: log tau, and rho = tanh(x / 2) (the interval transform)."""
    point = dict(values)
    point["tau_log__"] = np.log(point.pop("tau"))
    point["rho_interval__"] = 2 * np.arctanh(point.pop("rho"))
    assert set(point) == {v.name for v in model.value_vars}
    return point


def test_binomial_model_density_is_the_hierarchical_density():
    """Priors, study effects (centred or not, as chosen) and binomial counts, term by term."""
    priors = MetaPriors(mu_sd=1.7, tau_sd=0.9)
    centre = centred_effects(TABLES)
    assert centre[:, 0].any() and not centre[:, 0].all()
    assert centre[:, 1].any() and not centre[:, 1].all()
    assert (centre[:, 0] != centre[:, 1]).any()
    model = build_model(TABLES, priors)
    assert model.coords == {"study": TABLES.study, "scale": ("logit_sensitivity", "logit_fpr")}
    assert {v.name: model.named_vars_to_dims.get(v.name) for v in model.observed_RVs} == {
        "tp": None, "fp": None,
    }  # fmt: skip
    mu, tau, rho = np.array([1.4, -1.9]), np.array([0.8, 0.6]), -0.35
    rng = np.random.default_rng(3)
    values = {"mu": mu, "tau": tau, "rho": np.array(rho)}
    for name, column in (("sens", 0), ("fpr", 1)):
        inner = int(centre[:, column].sum())
        values[f"{name}_centred"] = rng.normal(mu[column], 0.5, inner)
        values[f"{name}_z"] = rng.normal(0.0, 1.0, len(TABLES) - inner)
    logp = model.compile_logp(jacobian=False)(_free_point(model, values))

    expected = stats.norm.logpdf(mu, 0, 1.7).sum() + stats.halfnorm.logpdf(tau, 0, 0.9).sum()
    expected += stats.uniform.logpdf(rho, -1, 2)
    a, b = np.empty(len(TABLES)), np.empty(len(TABLES))
    fpr_sd = tau[1] * np.sqrt(1 - rho**2)
    for effect, column in ((a, 0), (b, 1)):
        name = ("sens", "fpr")[column]
        inner, outer = iter(values[f"{name}_centred"]), iter(values[f"{name}_z"])
        for i in range(len(TABLES)):
            mean = mu[0] if column == 0 else mu[1] + rho * tau[1] / tau[0] * (a[i] - mu[0])
            sd = tau[0] if column == 0 else fpr_sd
            if centre[i, column]:
                effect[i] = next(inner)
                expected += stats.norm.logpdf(effect[i], mean, sd)
            else:
                z = next(outer)
                effect[i] = mean + sd * z
                expected += stats.norm.logpdf(z)
    expected += stats.binom.logpmf(TABLES.tp, TABLES.tp + TABLES.fn, special.expit(a)).sum()
    expected += stats.binom.logpmf(TABLES.fp, TABLES.fp + TABLES.tn, special.expit(b)).sum()
    assert logp == pytest.approx(expected, rel=1e-10)


def test_normal_model_priors_are_the_given_ones():
    model = build_model(TABLES, MetaPriors(mu_sd=1.7, tau_sd=0.9), likelihood="normal")
    assert {v.name: model.named_vars_to_dims[v.name] for v in model.observed_RVs} == {
        "tsens": ("study",), "tfpr": ("study",),
    }  # fmt: skip
    point = {"mu": np.array([1.4, -1.9]), "tau": np.array([0.8, 0.6]), "rho": np.array(0.2)}
    logp = model.compile_logp(vars=model.free_RVs, jacobian=False)(_free_point(model, point))
    expected = stats.norm.logpdf(point["mu"], 0, 1.7).sum()
    expected += stats.halfnorm.logpdf(point["tau"], 0, 0.9).sum() + np.log(0.5)
    assert logp == pytest.approx(expected, rel=1e-9)
    assert MetaPriors() == MetaPriors(mu_sd=2.5, tau_sd=1.5)


# --------------------------------------------------------------------------------------------
# Summaries of given draws
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analysis() -> MetaAnalysis:
    rng = np.random.default_rng(11)
    n = 400
    return MetaAnalysis(
        tables=TABLES,
        mu_sens=rng.normal(1.6, 0.2, n),
        mu_fpr=rng.normal(-2.0, 0.15, n),
        tau_sens=rng.gamma(20, 0.04, n),
        tau_fpr=rng.gamma(30, 0.02, n),
        rho=rng.uniform(-0.6, 0.2, n),
        diagnostics={"divergences": 0},
        likelihood="normal",
    )


def _median_interval(draws: np.ndarray) -> list[float]:
    return [np.quantile(draws, q) for q in (0.5, 0.025, 0.975)]


def _sroc_draws(a: MetaAnalysis, fpr: np.ndarray) -> np.ndarray:
    """Rutter-Gatsonis curve of every draw, one draw at a time."""
    return np.array(
        [
            special.expit(ms + ts / tf * (special.logit(fpr) - mf))
            for ms, mf, ts, tf in zip(a.mu_sens, a.mu_fpr, a.tau_sens, a.tau_fpr, strict=True)
        ]
    )


def test_summary_rows_are_medians_and_equal_tailed_intervals(analysis):
    table = analysis.summary()
    se, sp = special.expit(analysis.mu_sens), 1 - special.expit(analysis.mu_fpr)
    d_prime = stats.norm.ppf(se) + stats.norm.ppf(sp)
    grid = np.linspace(0.01, 0.99, 99)
    curves = _sroc_draws(analysis, grid)
    auc = np.array([np.trapezoid(c, grid) / 0.98 * 98 / 99 for c in curves])  # mada's AUC
    expected = {
        "sensitivity": se,
        "specificity": sp,
        "lr_positive": se / (1 - sp),
        "lr_negative": (1 - se) / sp,
        "diagnostic_odds_ratio": se * sp / ((1 - se) * (1 - sp)),
        "tau_logit_sensitivity": analysis.tau_sens,
        "tau_logit_fpr": analysis.tau_fpr,
        "rho": analysis.rho,
        "sroc_auc": auc,
        "binormal_d_prime": d_prime,
        "binormal_auc": stats.norm.cdf(d_prime / np.sqrt(2)),
    }
    assert table.index.tolist() == list(expected) and table.index.name == "quantity"
    assert table.columns.tolist() == ["median", "lower", "upper"]
    for name, draws in expected.items():
        np.testing.assert_allclose(table.loc[name], _median_interval(draws), rtol=1e-10)


def test_sroc_curve_and_band_on_the_default_grid(analysis):
    curve = analysis.sroc()
    observed = np.clip(TABLES.fp / (TABLES.fp + TABLES.tn), 0.005, 0.995)
    np.testing.assert_allclose(curve["fpr"], np.linspace(observed.min(), observed.max(), 100))
    draws = _sroc_draws(analysis, curve["fpr"].to_numpy())
    for column, q in (("sensitivity", 0.5), ("lower", 0.025), ("upper", 0.975)):
        np.testing.assert_allclose(curve[column], np.quantile(draws, q, axis=0), rtol=1e-12)
    clipped = analysis.sroc(np.array([0.001, 0.5]))["fpr"].tolist()
    assert clipped == [0.001, 0.5]  # a given grid is used as it is
    wide = MetaAnalysis(
        **{
            **analysis.__dict__,
            "tables": StudyTables(("a", "b"), *np.array([[5, 5], [0, 999], [1, 1], [9, 0]])),
        }
    )
    assert wide.sroc()["fpr"].iloc[[0, -1]].tolist() == pytest.approx([0.005, 0.995])


def _mahalanobis(region: pd.DataFrame, center: np.ndarray, cov: np.ndarray) -> np.ndarray:
    logits = np.column_stack([special.logit(region["sensitivity"]), special.logit(region["fpr"])])
    offset = logits - center
    return np.einsum("ij,jk,ik->i", offset, np.linalg.inv(cov), offset)


def test_regions_are_95_percent_ellipses_about_the_median(analysis):
    draws = np.column_stack([analysis.mu_sens, analysis.mu_fpr])
    center, cov = np.median(draws, axis=0), np.cov(draws.T)
    cross = np.mean(analysis.rho * analysis.tau_sens * analysis.tau_fpr)
    between = np.array(
        [[np.mean(analysis.tau_sens**2), cross], [cross, np.mean(analysis.tau_fpr**2)]]
    )
    radius = stats.chi2.ppf(0.95, 2)
    for region, covariance, points in (
        (analysis.credible_region(), cov, 200),
        (analysis.prediction_region(), cov + between, 200),
        (analysis.credible_region(37), cov, 37),
        (analysis.prediction_region(41), cov + between, 41),
    ):
        assert region.columns.tolist() == ["fpr", "sensitivity"] and len(region) == points
        np.testing.assert_allclose(_mahalanobis(region, center, covariance), radius, rtol=1e-9)
        np.testing.assert_allclose(region.iloc[0], region.iloc[-1], rtol=1e-12)  # closed
        # it goes once round: the angle about the centre turns by 2 pi in small steps
        logits = np.column_stack(
            [special.logit(region["sensitivity"]), special.logit(region["fpr"])]
        )
        angle = np.unwrap(np.arctan2(*(logits - center).T[::-1]))
        assert abs(angle[-1] - angle[0]) == pytest.approx(2 * np.pi)


def test_the_json_document_holds_the_summaries(analysis):
    document = analysis.to_dict()
    assert document["model"] == (
        "bivariate random-effects (Reitsma 2005), "
        "normal approximation with continuity correction (as mada::reitsma)"
    )
    assert document["likelihood"] == "normal" and document["level"] == 0.95
    assert document["studies"] == 5 and document["diagnostics"] == {"divergences": 0}
    summary = analysis.summary()
    assert document["estimates"] == {k: dict(v) for k, v in summary.iterrows()}
    assert document["sroc"] == analysis.sroc().to_dict(orient="list")
    assert document["credible_region"] == analysis.credible_region(100).to_dict(orient="list")
    assert document["prediction_region"] == analysis.prediction_region(100).to_dict(orient="list")
    exact = MetaAnalysis(**{**analysis.__dict__, "likelihood": "binomial"}).to_dict()
    assert exact["model"].endswith("(Reitsma 2005), exact binomial likelihood")


def test_the_plot_draws_what_the_summaries_say(analysis):
    figure = plot_meta_analysis(analysis)
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    curve, point = analysis.sroc(), analysis.summary()
    sroc = lines["SROC (Rutter-Gatsonis)"]
    np.testing.assert_allclose(sroc.get_xdata(), curve["fpr"])
    np.testing.assert_allclose(sroc.get_ydata(), curve["sensitivity"])
    assert sroc.get_color() == "C0"
    assert tuple(figure.get_size_inches()) == (5.5, 5.5)
    for label, region, style in (
        ("95% credible region", analysis.credible_region(), "-"),
        ("95% prediction region", analysis.prediction_region(), ":"),
    ):
        np.testing.assert_allclose(lines[label].get_xdata(), region["fpr"])
        np.testing.assert_allclose(lines[label].get_ydata(), region["sensitivity"])
        assert lines[label].get_linestyle() == style and lines[label].get_color() == "C3"
    summary_point = lines["summary point"]
    assert summary_point.get_xdata()[0] == pytest.approx(1 - point.loc["specificity", "median"])
    assert summary_point.get_ydata()[0] == pytest.approx(point.loc["sensitivity", "median"])
    assert summary_point.get_marker() == "o" and summary_point.get_color() == "C3"
    (studies,) = ax.collections[:1]
    np.testing.assert_allclose(
        studies.get_offsets(), np.column_stack([TABLES.observed_fpr, TABLES.observed_sensitivity])
    )
    totals = TABLES.tp + TABLES.fn + TABLES.fp + TABLES.tn
    np.testing.assert_allclose(studies.get_sizes(), 12 + 60 * np.sqrt(totals / 1000))
    assert studies.get_facecolors().size == 0  # hollow circles
    np.testing.assert_allclose(studies.get_edgecolors(), [[0.35, 0.35, 0.35, 1.0]])
    band_collection = ax.collections[1]
    np.testing.assert_allclose(band_collection.get_facecolor(), [[*to_rgb("C0"), 0.15]])
    band = band_collection.get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(curve["lower"].min())
    assert ax.get_title() == "Bivariate meta-analysis, 5 studies"
    assert plot_meta_analysis(analysis, title="AUDIT-C").axes[0].get_title() == "AUDIT-C"
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    assert ax.get_xlabel() == "False-positive rate (1 - specificity)"
    assert ax.get_ylabel() == "Sensitivity"
    box = ax.get_legend()
    assert box._loc == 4  # "lower right"
    assert box.get_texts()[0].get_fontsize() == FontProperties(size="small").get_size_in_points()
    legend = [text.get_text() for text in box.get_texts()]
    assert legend == [
        "studies", "SROC (Rutter-Gatsonis)", "95% credible region", "95% prediction region",
        "summary point",
    ]  # fmt: skip


def test_fit_hands_the_sampler_its_settings_and_flattens_chains(replaced_sampler):
    """The sampler is replaced by one returning known draws: what the fit does around it."""
    chains, draws = 3, 4
    mu = np.arange(chains * draws * 2, dtype=float).reshape(chains, draws, 2)
    tau = 10 + mu
    rho = np.linspace(-0.9, 0.9, chains * draws).reshape(chains, draws)
    posterior = xr.Dataset(
        {
            "mu": (("chain", "draw", "scale"), mu),
            "tau": (("chain", "draw", "scale"), tau),
            "rho": (("chain", "draw"), rho),
        }
    )
    calls = replaced_sampler(meta, posterior, {"passed": True})
    result = fit_meta_analysis(
        TABLES, draws=4, tune=7, chains=3, seed=5, priors=MetaPriors(1.0, 2.0), likelihood="normal"
    )
    assert calls == [(["mu", "rho", "tau"], (4, 7, 3, 5))]
    np.testing.assert_array_equal(result.mu_sens, mu[..., 0].reshape(-1))
    np.testing.assert_array_equal(result.mu_fpr, mu[..., 1].reshape(-1))
    np.testing.assert_array_equal(result.tau_sens, tau[..., 0].reshape(-1))
    np.testing.assert_array_equal(result.tau_fpr, tau[..., 1].reshape(-1))
    np.testing.assert_array_equal(result.rho, rho.reshape(-1))
    assert result.diagnostics == {"passed": True} and result.likelihood == "normal"
    assert result.tables is TABLES
    fit_meta_analysis(TABLES)
    assert calls[-1][1] == (1000, 1000, 2, 0)
    assert "sens_z" in calls[-1][0]  # the default is the exact binomial model


# --------------------------------------------------------------------------------------------
# Reading the studies
# --------------------------------------------------------------------------------------------
def _problems(path, **options) -> list[tuple]:
    with pytest.raises(InputError) as caught:
        load_study_tables(path, **options)
    return [(p.file, p.row, p.column, p.value, p.expected) for p in caught.value.problems]


def test_study_labels_from_the_named_column_the_study_column_or_the_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("study,name,TP,FP,FN,TN\nA,alpha,1,2,3,4\nB,beta,5,6,7,8\n")
    assert load_study_tables(path).study == ("A", "B")
    named = load_study_tables(path, study_column="name")
    assert named.study == ("alpha", "beta")
    assert [x.dtype for x in (named.tp, named.fp, named.fn, named.tn)] == [np.int64] * 4
    assert named.tp.tolist() == [1, 5] and named.fp.tolist() == [2, 6]
    assert named.fn.tolist() == [3, 7] and named.tn.tolist() == [4, 8]
    path.write_text("label,TP,FP,FN,TN\nA,1,2,3,4\nB,5,6,7,8\n")
    assert load_study_tables(path).study == ("row 2", "row 3")
    assert _problems(path, study_column="name") == [
        ("s.csv", 1, "name", None, "a column of study labels (the file has: label, TP, FP, FN, TN)")
    ]


def test_input_problems_are_worded_for_the_user(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("TP,FP,TN\n1,2,3\n")
    assert _problems(path) == [
        ("s.csv", 1, "FN", None, "a column of FN counts (the file has: TP, FP, TN)")
    ]
    path.write_text("TP,FP,FN,TN\n1,2,3,4\n")
    assert _problems(path) == [("s.csv", None, None, "1", "at least two studies")]
    path.write_text("TP,FP,FN,TN\n0,2,0,4\n1,0,3,0\n")
    assert _problems(path) == [
        ("s.csv", 2, "TP+FN", "0", "at least one diseased subject (> 0)"),
        ("s.csv", 3, "FP+TN", "0", "at least one non-diseased subject (> 0)"),
    ]


def test_binormal_mapping_bounds_messages_and_class_means():
    """Every bound at the value it excludes, the messages, and class means with z(Se) != 1."""
    from model.synthesis.meta_analysis import binormal_separation

    inside = "sensitivity and specificity must lie strictly between 0 and 1"
    for se, sp in ((0.0, 0.8), (1.0, 0.8), (0.8, 0.0), (0.8, 1.0), (0.8, 1.5)):
        with pytest.raises(ValueError, match=f"^{inside}$"):
            binormal_separation(se, sp)
    positive = "the SDs and the cutoff must be positive"
    for options in (
        {"sigma_necrosis": 0.0},
        {"sigma_recurrence": 0.0},
        {"sigma_necrosis": 0.0, "sigma_recurrence": 1.0},
        {"sigma_necrosis": 1.0, "sigma_recurrence": 0.0, "cutoff": 1.5},
        {"cutoff": 0.0},
    ):
        with pytest.raises(ValueError, match=f"^{positive}$"):
            binormal_separation(0.8, 0.7, **options)
    se, sp = stats.norm.cdf(1.7), stats.norm.cdf(0.4)
    result = binormal_separation(se, sp, sigma_necrosis=0.5, sigma_recurrence=0.8, cutoff=1.0)
    assert isinstance(result.separation, float) and isinstance(result.auc, float)
    assert result.mu_necrosis == pytest.approx(-0.5 * 0.4)  # log 1 = 0
    assert result.mu_recurrence == pytest.approx(0.8 * 1.7)


def test_the_normal_approximation_refuses_a_zero_correction_in_words(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("TP,FP,FN,TN\n10,0,3,40\n8,1,4,12\n")
    message = "a cell is 0: the normal likelihood needs a positive correction"
    with pytest.raises(ValueError, match=f"^{message}$"):
        meta.normal_approximation(load_study_tables(path), correction=0.0)
