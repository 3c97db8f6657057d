"""Cutoff analyses of the bundled fit (200 of its draws) against the model written out draw by
draw with SciPy.

Each class's log value at a training center is normal about its location plus the center's
shift, with the marker's spread; at a new center the shift is integrated out (spread
sqrt(sigma^2 + tau^2)); a misread lesion shows the other class's value. "Pooled" weights the
training centers by their lesions with the kind. Nothing here goes through the score tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import histopathology_dsc
from scipy import stats

from model.cutoffs import analysis as an


def _marker(fit, modality: str):
    for marker in fit.registry.markers:
        names = [k.name for k in marker.kinds]
        if modality in names:
            return marker, names.index(modality)
    raise AssertionError(modality)


def _positive_rates(
    fit, modality: str, cutoffs, center: int | None, per_draw: bool = False
) -> np.ndarray:
    """(S, class, cutoff): P(value on the recurrence side | class) at one center or a new one,
    misreads included; with ``per_draw``, draw s uses cutoffs[s] alone: (S, class, 1)."""
    marker, j = _marker(fit, modality)
    d = fit.draws.markers[marker.name]
    necrosis = d.mu_necrosis[:, j]
    locations = np.stack([necrosis, necrosis + d.direction * d.separation[:, j]], axis=1)
    if center is None:
        spread = np.sqrt(d.sigma[:, j] ** 2 + d.tau**2)
    else:
        locations = locations + d.offset[:, center, None]
        spread = d.sigma[:, j]
    log_cut = np.log(np.asarray(cutoffs, float))
    log_cut = log_cut[:, None, None] if per_draw else log_cut[None, None, :]
    tail = stats.norm.sf if d.direction == 1 else stats.norm.cdf
    clean = tail(log_cut, locations[..., None], spread[:, None, None])
    return (1 - d.misread) * clean + d.misread * clean[:, ::-1]


def _weights(fit, modality: str, group: str) -> dict[int | None, float]:
    if group == an.NEW_CENTER:
        return {None: 1.0}
    counts = fit.provenance["cohort"]["imaging_counts"][modality]
    if group == an.POOLED:
        total = sum(counts.values())
        return {fit.centers.index(c): n / total for c, n in counts.items() if n}
    return {fit.centers.index(group): 1.0}


def _accuracy(fit, modality: str, cutoffs, group: str) -> tuple[np.ndarray, np.ndarray]:
    """(S, cutoff) sensitivity and specificity of a group."""
    rates = sum(
        w * _positive_rates(fit, modality, cutoffs, c)
        for c, w in _weights(fit, modality, group).items()
    )
    return rates[:, 1], 1 - rates[:, 0]


def _summary(draws: np.ndarray, ci_prob: float) -> list[np.ndarray]:
    tail = (1 - ci_prob) / 2
    return [draws.mean(axis=0), *np.quantile(draws, [tail, 1 - tail], axis=0)]


@pytest.mark.parametrize(("modality", "center"), [("DSC", "C03"), ("ADC", "C05"), ("FET", "C07")])
def test_accuracy_table_is_the_model_written_out(few_draws_fit, modality, center):
    cutoffs = [0.9, 1.3, 1.75, 2.4]
    groups = [center, an.POOLED, an.NEW_CENTER]
    table = an.accuracy_table(
        few_draws_fit, modality, cutoffs, groups, prevalence=0.35, ci_prob=0.8
    )
    assert table.columns.tolist() == [
        "modality", "group", "cutoff", "metric", "mean", "eti_low", "eti_high",
    ]  # fmt: skip
    assert table.attrs == {"ci_prob": 0.8, "prevalence": 0.35}
    assert (table["modality"] == modality).all()
    for group in groups:
        se, sp = _accuracy(few_draws_fit, modality, cutoffs, group)
        p = 0.35
        expected = {
            "sensitivity": se,
            "specificity": sp,
            "ppv": se * p / (se * p + (1 - sp) * (1 - p)),
            "npv": sp * (1 - p) / (sp * (1 - p) + (1 - se) * p),
            "lr_positive": se / (1 - sp),
            "lr_negative": (1 - se) / sp,
        }
        rows = table[table.group == group]
        assert rows["metric"].unique().tolist() == list(expected)
        for metric, draws in expected.items():
            found = rows[rows.metric == metric]
            assert found["cutoff"].tolist() == cutoffs
            for column, value in zip(
                ("mean", "eti_low", "eti_high"), _summary(draws, 0.8), strict=True
            ):
                np.testing.assert_allclose(
                    found[column], value, rtol=1e-6, err_msg=f"{group} {metric} {column}"
                )


def test_default_groups_are_the_centers_with_the_kind_then_pooled_and_new(few_draws_fit):
    counts = few_draws_fit.provenance["cohort"]["imaging_counts"]["MET"]
    used = [c for c in few_draws_fit.centers if counts[c] > 0]
    assert 0 < len(used) < len(few_draws_fit.centers)
    assert an.groups(few_draws_fit, "MET") == [*used, an.POOLED, an.NEW_CENTER]
    table = an.accuracy_table(few_draws_fit, "MET", [1.5])
    assert table["group"].unique().tolist() == [*used, an.POOLED, an.NEW_CENTER]
    assert table.attrs == {"ci_prob": 0.9, "prevalence": 0.6}
    assert an.kinds(few_draws_fit)[:3] == ("DSC", "ASL", "MET")
    assert (
        an.classic_cutoff(few_draws_fit, "DSC")
        == _marker(few_draws_fit, "DSC")[0].kinds[0].classic_cutoff
    )
    with pytest.raises(ValueError, match="modality must be one of DSC, ASL, MET"):
        an.lookup(few_draws_fit, "dsc")
    with pytest.raises(
        ValueError, match="group must be a training center, 'pooled' or 'new center', not 'C99'"
    ):
        an.accuracy_table(few_draws_fit, "MET", [1.5], ["C99"])


def _auc(fit, modality: str, group: str) -> np.ndarray:
    """Pairwise binormal AUC over every (recurrence, necrosis) component pair, misreads included."""
    marker, j = _marker(fit, modality)
    d = fit.draws.markers[marker.name]
    components = {0: [], 1: []}  # class -> (weight, oriented mean, sd) per component
    for c, w in _weights(fit, modality, group).items():
        necrosis = d.mu_necrosis[:, j]
        means = [necrosis, necrosis + d.direction * d.separation[:, j]]
        shift = 0.0 if c is None else d.offset[:, c]
        sd = np.sqrt(d.sigma[:, j] ** 2 + d.tau**2) if c is None else d.sigma[:, j]
        for k in (0, 1):
            components[k].append(((1 - d.misread) * w, d.direction * (means[k] + shift), sd))
            components[k].append((d.misread * w, d.direction * (means[1 - k] + shift), sd))
    return sum(
        w1 * w0 * stats.norm.cdf((m1 - m0) / np.hypot(s1, s0))
        for w1, m1, s1 in components[1]
        for w0, m0, s0 in components[0]
    )


def test_auc_and_roc_of_a_group_are_the_binormal_pair_sum(few_draws_fit):
    table = an.auc_table(few_draws_fit, "ADC", ["C02", an.POOLED, an.NEW_CENTER], ci_prob=0.5)
    assert table.columns.tolist() == ["modality", "group", "mean", "eti_low", "eti_high"]
    for _, row in table.iterrows():
        expected = _summary(_auc(few_draws_fit, "ADC", row["group"]), 0.5)
        np.testing.assert_allclose(
            row[["mean", "eti_low", "eti_high"]].astype(float), expected, rtol=1e-9
        )
    roc = an.roc_table(few_draws_fit, "ADC", "C02", ci_prob=0.5, points=11)
    assert roc["fpr"].tolist() == pytest.approx(np.linspace(0, 1, 11).tolist())
    assert roc.attrs["auc"] == dict(
        zip(("mean", "eti_low", "eti_high"), table.iloc[0, 2:], strict=True)
    )
    assert (roc.attrs["ci_prob"], roc.attrs["modality"], roc.attrs["group"]) == (0.5, "ADC", "C02")
    assert roc["tpr_mean"].iloc[0] == pytest.approx(0, abs=1e-6) and roc["tpr_mean"].iloc[-1] == 1


def test_the_roc_curve_is_each_draws_sensitivity_at_its_false_positive_rate(few_draws_fit):
    """TPR at a given FPR, draw by draw: the cutoff with that specificity, found by root-finding."""
    from scipy import optimize

    from model.fitting.sampling import Fit

    few = few_draws_fit.posterior.isel(draw=slice(0, None, 5))  # 40 draws
    fit = Fit(few, few_draws_fit.sample_stats, few_draws_fit.provenance)
    roc = an.roc_table(fit, "DSC", "C01", points=5, ci_prob=0.5)
    draws = fit.draws.n_draws
    tpr = np.empty((draws, 3))
    for i, fpr in enumerate((0.25, 0.5, 0.75)):
        for s in range(draws):

            def excess(log_cut, s=s, fpr=fpr):
                rates = _positive_rates(fit, "DSC", [np.exp(log_cut)], fit.centers.index("C01"))
                return rates[s, 0, 0] - fpr

            root = optimize.brentq(excess, -5, 5, xtol=1e-12)
            tpr[s, i] = _positive_rates(fit, "DSC", [np.exp(root)], 0)[s, 1, 0]
    expected = _summary(tpr, 0.5)
    for column, value in zip(("tpr_mean", "tpr_low", "tpr_high"), expected, strict=True):
        np.testing.assert_allclose(roc[column].iloc[1:4], value, atol=2e-3)


def _youden_cutoffs(fit, modality: str, group: str) -> np.ndarray:
    """Each draw's Youden-optimal cutoff by a dense grid search on the written-out model."""
    grid = np.exp(np.linspace(-1.5, 2.5, 8001))
    se, sp = _accuracy(fit, modality, grid, group)
    return grid[np.argmax(se + sp - 1, axis=1)]


def _youden(fit, modality: str, cutoffs: np.ndarray, center: str) -> np.ndarray:
    """(S,): each draw's Youden index at its own cutoff."""
    rates = _positive_rates(fit, modality, cutoffs, fit.centers.index(center), per_draw=True)
    return rates[:, 1, 0] - rates[:, 0, 0]


GRID = np.exp(np.linspace(-1.5, 2.5, 4001))


def test_optimal_cutoffs_reach_the_grid_search_optimum(few_draws_fit):
    """The objective is flat at its top, so the optima are compared by the objective's value
    (to 1e-4: the search refines a grid, and this grid is finite too)."""
    fit = few_draws_fit
    found = an.optimal_cutoff_draws(fit, "FET", "C01")
    se, sp = _accuracy(fit, "FET", GRID, "C01")
    np.testing.assert_allclose(
        _youden(fit, "FET", found, "C01"), (se + sp - 1).max(axis=1), atol=1e-4
    )
    # net benefit at threshold t, prevalence p: p se - (1 - p)(1 - sp) t / (1 - t)
    utility = an.optimal_cutoff_draws(fit, "FET", "C01", "utility", threshold=0.3, prevalence=0.5)
    rates = _positive_rates(fit, "FET", utility, 0, per_draw=True)[..., 0]
    benefit = 0.5 * rates[:, 1] - 0.5 * rates[:, 0] * 0.3 / 0.7
    best = (0.5 * se - 0.5 * (1 - sp) * 0.3 / 0.7).max(axis=1)
    np.testing.assert_allclose(benefit, best, atol=1e-4)
    table = an.optimal_cutoff_table(fit, "FET", ["C01"], threshold=0.3, prevalence=0.5, ci_prob=0.5)
    assert table[["group", "method"]].values.tolist() == [["C01", "youden"], ["C01", "utility"]]
    for i, draws in enumerate((found, utility)):
        assert table.loc[i, "median"] == pytest.approx(np.median(draws))
        summary = table.loc[i, ["mean", "eti_low", "eti_high"]].astype(float)
        np.testing.assert_allclose(summary, _summary(draws, 0.5), rtol=1e-12)
    default = an.optimal_cutoff_table(fit, "FET")
    assert default["method"].unique().tolist() == ["youden"]
    assert default["group"].tolist() == an.groups(fit, "FET")


def test_a_transported_cutoff_is_judged_at_the_center_it_is_used_in(few_draws_fit):
    fit = few_draws_fit
    transport = an.transport_table(fit, "FET", ci_prob=0.5)
    pairs = transport[["from_center", "to_center"]].values.tolist()
    assert pairs == [[a, b] for a in ("C01", "C04", "C07") for b in ("C01", "C04", "C07")]
    row = transport[(transport.from_center == "C01") & (transport.to_center == "C07")].iloc[0]
    home = an.optimal_cutoff_draws(fit, "FET", "C01")
    rates = _positive_rates(fit, "FET", home, fit.centers.index("C07"), per_draw=True)[..., 0]
    own = _youden(fit, "FET", an.optimal_cutoff_draws(fit, "FET", "C07"), "C07")
    loss = own - (rates[:, 1] - rates[:, 0])
    for name, draws in (
        ("sensitivity", rates[:, 1]),
        ("specificity", 1 - rates[:, 0]),
        ("youden_loss", loss),
    ):
        got = row[[f"{name}_mean", f"{name}_eti_low", f"{name}_eti_high"]].astype(float)
        np.testing.assert_allclose(got, _summary(draws, 0.5), rtol=1e-7, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("rule", ["and", "or"])
def test_two_modality_rules_multiply_within_a_center_and_pool_by_lesions_with_both(
    few_draws_fit, rule
):
    fit = few_draws_fit
    table = an.combined_table(fit, "DSC", "ADC", 1.75, 1.1, ci_prob=0.5)
    assert table[["rule", "group"]].values.tolist() == [
        ["DSC > 1.75 AND ADC < 1.1", an.POOLED], ["DSC > 1.75 OR ADC < 1.1", an.POOLED],
        ["DSC > 1.75 AND ADC < 1.1", an.NEW_CENTER], ["DSC > 1.75 OR ADC < 1.1", an.NEW_CENTER],
    ]  # fmt: skip
    counts = fit.provenance["cohort"]["imaging_counts"]
    both = {i: min(counts["DSC"][c], counts["ADC"][c]) for i, c in enumerate(fit.centers)}
    total = sum(both.values())
    for group, weights in (
        (an.POOLED, {c: n / total for c, n in both.items() if n}),
        (an.NEW_CENTER, {None: 1.0}),
    ):
        se = sp = 0.0
        for c, w in weights.items():
            a = _positive_rates(fit, "DSC", [1.75], c)[..., 0]
            b = _positive_rates(fit, "ADC", [1.1], c)[..., 0]
            positive = a * b if rule == "and" else 1 - (1 - a) * (1 - b)
            se, sp = se + w * positive[:, 1], sp + w * (1 - positive[:, 0])
        row = table[(table.group == group) & table.rule.str.contains(rule.upper())].iloc[0]
        for name, draws in (("sensitivity", se), ("specificity", sp)):
            got = row[[f"{name}_mean", f"{name}_eti_low", f"{name}_eti_high"]].astype(float)
            np.testing.assert_allclose(
                got, _summary(draws, 0.5), rtol=1e-7, err_msg=f"{group} {name}"
            )
    with pytest.raises(
        ValueError, match="^a two-modality rule needs kinds of two different markers$"
    ):
        an.combined_table(fit, "DSC", "ASL", 1.75, 1.5)
    default = an.combined_table(fit, "DSC", "ADC", 1.75, 1.1, [an.NEW_CENTER])
    explicit = an.combined_table(fit, "DSC", "ADC", 1.75, 1.1, [an.NEW_CENTER], ci_prob=0.9)
    assert default.equals(explicit)


def test_the_empirical_check_counts_the_labelled_lesions_of_the_file(
    few_draws_fit, bundled_cohort_path
):
    """Observed: histopathology-labelled DSC lesions on each side of the cutoff, counted from the
    file with pandas, with Clopper-Pearson intervals; model: pooled over the same lesions'
    centers, each class weighted by its own labelled lesions per center."""

    labelled = histopathology_dsc(bundled_cohort_path)
    table = an.empirical_check(few_draws_fit, bundled_cohort_path, "DSC", [1.5, 2.0], ci_prob=0.8)
    assert table[["cutoff", "metric"]].values.tolist() == [
        [1.5, "sensitivity"], [1.5, "specificity"], [2.0, "sensitivity"], [2.0, "specificity"],
    ]  # fmt: skip
    for _, row in table.iterrows():
        diagnosis = "recurrence" if row.metric == "sensitivity" else "necrosis"
        members = labelled[labelled.reference_class == diagnosis]
        above = members.perfusion_ratio > row.cutoff
        hits = int(above.sum() if diagnosis == "recurrence" else (~above).sum())
        n = len(members)
        low = stats.beta.ppf(0.1, hits, n - hits + 1) if hits else 0.0
        high = stats.beta.ppf(0.9, hits + 1, n - hits) if hits < n else 1.0
        assert (row.n, row.observed) == (n, pytest.approx(hits / n))
        assert (row.observed_low, row.observed_high) == (pytest.approx(low), pytest.approx(high))
        weights = members.center.value_counts() / n
        rates = sum(
            w * _positive_rates(few_draws_fit, "DSC", [row.cutoff], few_draws_fit.centers.index(c))
            for c, w in weights.items()
        )[..., 0]
        draws = rates[:, 1] if diagnosis == "recurrence" else 1 - rates[:, 0]
        expected = _summary(draws, 0.8)
        got = row[["model_mean", "model_low", "model_high"]].astype(float)
        np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_labelled_decision_curves_by_hand(few_draws_fit, bundled_cohort_path, tmp_path):
    """On the histopathology-labelled lesions with a DSC value: the rule's net benefit
    TP/n - FP/n t/(1 - t) counted from the file, the model's from its mean probability (each
    lesion scored in its whole cohort, as a patient's lesions share their symptoms), its band
    and its chance of beating each other strategy from every draw's net benefit."""
    from model.scoring.predict import recurrence_draws

    labelled = histopathology_dsc(bundled_cohort_path)
    recurrence = (labelled.reference_class == "recurrence").to_numpy()
    n = len(labelled)
    thresholds = np.array([0.1, 0.35, 0.6])
    table = an.labelled_decision_curves(
        few_draws_fit, bundled_cohort_path, "DSC", 2.0, thresholds, ci_prob=0.8
    )
    assert table.attrs == {
        "n": n, "modality": "DSC", "cutoff": 2.0, "ci_prob": 0.8, "in_sample": True,
    }  # fmt: skip

    def benefit(positive: np.ndarray) -> np.ndarray:  # positive: (..., T, n)
        tp = (positive & recurrence).sum(-1) / n
        fp = (positive & ~recurrence).sum(-1) / n
        return tp - fp * thresholds / (1 - thresholds)

    rule = labelled.perfusion_ratio.to_numpy() > 2.0
    expected = {
        "DSC > 2": benefit(np.broadcast_to(rule, (3, n))),
        "all": benefit(np.ones((3, n), bool)),
        "none": np.zeros(3),
    }
    # every lesion scored with its patient's other lesions (shared symptoms), then selected
    draws = recurrence_draws(few_draws_fit, bundled_cohort_path)[labelled.index]  # (n, S)
    model_draws = benefit(draws.T[:, None, :] >= thresholds[None, :, None])  # (S, T)
    expected["model"] = benefit(draws.mean(axis=1)[None, :] >= thresholds[:, None])
    for strategy, values in expected.items():
        rows = table[table.model == strategy]
        assert rows["threshold"].tolist() == pytest.approx(thresholds.tolist())
        np.testing.assert_allclose(rows["net_benefit"], values, atol=1e-12, err_msg=strategy)
    model = table[table.model == "model"]
    low, high = np.quantile(model_draws, [0.1, 0.9], axis=0)
    np.testing.assert_allclose(model["net_benefit_low"], low, atol=1e-12)
    np.testing.assert_allclose(model["net_benefit_high"], high, atol=1e-12)
    for strategy, label in (("DSC > 2", "rule"), ("all", "all"), ("none", "none")):
        better = (model_draws > expected[strategy]).mean(axis=0)
        np.testing.assert_allclose(model[f"p_better_than_{label}"], better, err_msg=label)
    # the sampling-uncertainty view (model.decision.curves.decision_value), every strategy
    np.testing.assert_allclose(table.groupby("threshold").p_best.sum(), 1.0)
    assert (table.groupby("threshold").evpi.nunique() == 1).all() and (table.evpi >= 0).all()
    lines = bundled_cohort_path.read_text().splitlines(keepends=True)
    necrosis_only = tmp_path / "necrosis.csv"
    necrosis_only.write_text(  # neither a recurrence nor a mixed specimen (which may be one)
        "".join(line for line in lines if ",recurrence," not in line and ",mixed," not in line)
    )
    with pytest.raises(ValueError, match="lesions of both classes with DSC"):
        an.labelled_decision_curves(few_draws_fit, necrosis_only)


def test_a_kind_no_training_lesion_had_has_only_the_new_center_view(few_draws_fit):
    import copy

    from model.fitting.sampling import Fit

    provenance = copy.deepcopy(few_draws_fit.provenance)
    provenance["cohort"]["imaging_counts"]["FDG"] = dict.fromkeys(few_draws_fit.centers, 0)
    fit = Fit(few_draws_fit.posterior, few_draws_fit.sample_stats, provenance)
    assert an.groups(fit, "FDG") == [an.NEW_CENTER]
    assert an.accuracy_table(fit, "FDG", [1.5])["group"].unique().tolist() == [an.NEW_CENTER]
    message = "no training lesion had FDG: only the new-center view exists"
    with pytest.raises(ValueError, match=f"^{message}$"):
        an.accuracy_table(fit, "FDG", [1.5], [an.POOLED])
    assert an.groups(few_draws_fit, "FDG")[-2:] == [an.POOLED, an.NEW_CENTER]
