"""Cutoff analyses of the bundled fit, on 200 of its draws."""

import numpy as np
import pytest

from model.cutoffs import analysis as an


def test_accuracy_is_monotone_in_the_cutoff_and_new_center_is_wider(few_draws_fit):
    t = an.accuracy_table(
        few_draws_fit, "DSC", [1.2, 1.5, 1.75, 2.1, 3.0], [an.POOLED, an.NEW_CENTER]
    )
    for group in (an.POOLED, an.NEW_CENTER):
        se = t[(t.group == group) & (t.metric == "sensitivity")]["mean"].to_numpy()
        sp = t[(t.group == group) & (t.metric == "specificity")]["mean"].to_numpy()
        assert np.all(np.diff(se) < 0) and np.all(np.diff(sp) > 0)
    assert ((t["eti_low"] <= t["mean"]) & (t["mean"] <= t["eti_high"])).all()
    width = (t["eti_high"] - t["eti_low"]).groupby([t.group, t.metric]).mean()
    assert width[(an.NEW_CENTER, "sensitivity")] > width[(an.POOLED, "sensitivity")]


def test_roc_and_auc_agree(few_draws_fit):
    roc = an.roc_table(few_draws_fit, "MET", an.POOLED)
    assert np.all(np.diff(roc["tpr_mean"]) >= -1e-12)
    area = np.trapezoid(roc["tpr_mean"], roc["fpr"])
    auc = an.auc_table(few_draws_fit, "MET", [an.POOLED])["mean"].iloc[0]
    assert area == pytest.approx(auc, abs=0.01)
    assert roc.attrs["auc"]["mean"] == pytest.approx(auc)


def test_transport_loses_nothing_at_home_and_never_gains(few_draws_fit):
    t = an.transport_table(few_draws_fit, "DSC")
    home = t[t.from_center == t.to_center]
    assert np.allclose(home["youden_loss_mean"], 0.0, atol=1e-12)
    assert (t["youden_loss_eti_low"] >= -1e-9).all()


def test_utility_optimum_moves_with_the_threshold(few_draws_fit):
    low = an.optimal_cutoff_draws(few_draws_fit, "FET", an.POOLED, "utility", threshold=0.2)
    high = an.optimal_cutoff_draws(few_draws_fit, "FET", an.POOLED, "utility", threshold=0.6)
    assert np.median(low) < np.median(high)
    one = an.optimal_cutoff_draws(few_draws_fit, "FET", "C01")
    assert np.all(np.isfinite(one)) and 1.5 < np.median(one) < 3.5


def test_empirical_check_and_decision_curves(few_draws_fit, bundled_cohort_path):
    e = an.empirical_check(few_draws_fit, bundled_cohort_path, "DSC", [1.75])
    assert set(e["metric"]) == {"sensitivity", "specificity"} and (e["n"] >= 15).all()
    d = an.labelled_decision_curves(few_draws_fit, bundled_cohort_path)
    model = d[d.model == "model"].set_index("threshold")
    assert d.attrs["in_sample"] is True
    assert (model["net_benefit_low"] <= model["net_benefit_high"]).all()
    assert model.loc[0.3, "p_better_than_none"] == 1.0
    assert {"DSC > 1.75", "all", "none", "model"} == set(d["model"])


def test_pooled_accuracy_weights_centers_by_their_training_lesions(
    few_draws_fit, bundled_cohort_path
):
    """Pooled over centers = each center's accuracy weighted by its lesions with the kind,
    counted here from the cohort file itself (not from the fit's provenance)."""
    import pandas as pd

    cohort = pd.read_csv(bundled_cohort_path)
    counts = cohort[cohort["perfusion_technique"] == "DSC"].groupby("center").size()
    assert counts.nunique() > 1  # unequal centers: uniform weights would differ
    cutoffs = [1.5, 1.75, 2.1]
    t = an.accuracy_table(few_draws_fit, "DSC", cutoffs, [*counts.index, an.POOLED])
    for metric in ("sensitivity", "specificity"):
        rows = t[t.metric == metric]
        per_center = rows[rows.group != an.POOLED].pivot(index="group", columns="cutoff")["mean"]
        weighted = (per_center.loc[counts.index].T @ counts / counts.sum()).to_numpy()
        pooled = rows[rows.group == an.POOLED].sort_values("cutoff")["mean"].to_numpy()
        np.testing.assert_allclose(pooled, weighted, rtol=0, atol=1e-12)
        uniform = per_center.mean(axis=0).to_numpy()
        assert np.abs(pooled - uniform).max() > 1e-3
