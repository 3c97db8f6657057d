"""External validation of a fixed fit: the scores of the labelled lesions, computed by hand."""

import numpy as np
import pandas as pd
import pytest
from conftest import histopathology_classes

from model.evaluation.external import (
    MAX_DRAWS,
    OVERALL,
    LabelledPredictions,
    evaluate,
    labelled_predictions,
    reliability_band,
)
from model.evaluation.metrics import (
    brier_score,
    c_statistic,
    calibration_intercept,
    calibration_slope,
    corp_reliability,
    expected_calibration_error,
)
from model.scoring.predict import predict, recurrence_draws

BY_HAND = {
    "c_statistic": c_statistic,
    "calibration_intercept": calibration_intercept,
    "calibration_slope": calibration_slope,
    "brier": brier_score,
    "ece": expected_calibration_error,
}


@pytest.fixture(scope="module")
def evaluated(bundled_fit, bundled_cohort_path):
    return evaluate(bundled_fit, bundled_cohort_path, bootstrap=200, ci_prob=0.8)


def test_each_score_is_that_of_the_histopathology_labelled_lesions(
    bundled_fit, bundled_cohort_path, evaluated
):
    """Values from predict's probabilities on the lesions labelled by tissue (mixed specimens by
    their tumour share), posterior intervals from every kept draw, per group."""
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    labelled = histopathology_classes(bundled_cohort_path)
    rows = labelled.index.to_numpy()
    y = (labelled.reference_class == "recurrence").to_numpy().astype(int)
    p = predict(bundled_fit, cohort)["p_recurrence"].to_numpy()[rows]
    draws = recurrence_draws(bundled_fit, cohort)[rows]
    draws = draws[:, np.linspace(0, draws.shape[1] - 1, MAX_DRAWS).astype(int)]
    assert evaluated.attrs["labels"]["histopathology"] == len(rows)
    for group in (OVERALL, "C05"):
        members = np.ones(len(y), bool) if group == OVERALL else labelled.center.to_numpy() == group
        shown = evaluated[evaluated.group == group].set_index("metric")
        assert (shown["n"] == members.sum()).all()
        assert (shown["n_recurrence"] == y[members].sum()).all()
        for name, metric in BY_HAND.items():
            assert shown.at[name, "value"] == pytest.approx(
                metric(p[members], y[members]), abs=1e-9
            )
            per_draw = [metric(draws[members, s], y[members]) for s in range(draws.shape[1])]
            low, high = np.quantile(per_draw, [0.1, 0.9])
            assert shown.at[name, "posterior_low"] == pytest.approx(low, abs=1e-9), name
            assert shown.at[name, "posterior_high"] == pytest.approx(high, abs=1e-9), name


def test_bootstrap_intervals_hold_the_value_and_are_left_empty_where_scores_mostly_fail(evaluated):
    # the binned ECE is biased upwards in resamples, so its interval may sit above its value
    overall = evaluated[(evaluated.group == OVERALL) & (evaluated.metric != "ece")]
    assert (overall.bootstrap_low <= overall.value).all()
    assert (overall.value <= overall.bootstrap_high).all()
    failed = evaluated.attrs["failed_resamples"]
    for row in evaluated.itertuples():
        empty = np.isnan(row.bootstrap_low)
        assert empty == (failed[row.group][row.metric] > 0.1 * 200), (row.group, row.metric)


def test_a_center_whose_perfusion_reads_high_is_flagged(bundled_fit, bundled_cohort_path):
    """An external cohort where C05 (its lesions six times, as new patients) reads perfusion
    2.5 times too high, at every scan: its predictions overshoot, so its calibration intercept's
    interval lies below 0 and it is flagged; the other centers' scores do not move. (The
    follow-up rCBVs' changes, in which the shift cancels, carry part of the evidence, so the
    shift moves the predictions less than it moves the first scan's.)"""
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    c05 = cohort[cohort.center == "C05"]
    copies = [c05.assign(patient_id=c05.patient_id + f"-{k}") for k in range(5)]
    cohort = pd.concat([cohort, *copies], ignore_index=True)
    for column in ("perfusion_ratio", *(f"perfusion_ratio_fu{j}" for j in (1, 2, 3))):
        at = (cohort.center == "C05") & (cohort[column] != "")  # every scan reads high
        cohort.loc[at, column] = [f"{min(2.5 * float(v), 20):.3g}" for v in cohort.loc[at, column]]
    shifted = evaluate(bundled_fit, cohort, bootstrap=200)
    intercept = shifted[shifted.metric == "calibration_intercept"].set_index("group")
    assert intercept.at["C05", "bootstrap_high"] < 0 and intercept.at["C05", "flagged"]
    assert not intercept.drop(index=["C05", OVERALL])["flagged"].any()
    unshifted = evaluate(bundled_fit, bundled_cohort_path, bootstrap=20)
    before = unshifted[unshifted.metric == "calibration_intercept"].set_index("group")
    others = [g for g in before.index if g not in ("C05", OVERALL)]
    np.testing.assert_allclose(intercept.loc[others, "value"], before.loc[others, "value"])


def test_unseen_centers_are_scored_as_new_and_listed(bundled_fit, bundled_cohort_path):
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    cohort.loc[cohort.center == "C05", "center"] = "Elsewhere"
    result = evaluate(bundled_fit, cohort, bootstrap=20)
    assert result.attrs["unseen_centers"] == ["Elsewhere"]
    assert "Elsewhere" in set(result.group)


def test_a_cohort_without_labelled_lesions_of_both_classes_is_refused(
    bundled_fit, bundled_cohort_path
):
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    cohort = cohort[cohort.reference_diagnosis != "recurrence"]
    with pytest.raises(ValueError, match="at least two histopathology-labelled lesions"):
        evaluate(bundled_fit, cohort.assign(tumor_share_percent=""), bootstrap=10)


def made_by_hand(n: int, seed: int, miscalibrated=lambda p: p) -> LabelledPredictions:
    """Predictions p and classes drawn with P(recurrence) = miscalibrated(p), one per patient."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    y = (rng.uniform(size=n) < miscalibrated(p)).astype(int)
    return LabelledPredictions(
        p,
        p[:, None],
        y,
        np.full(n, "A", object),
        np.arange(n),
        {},
        [],
        None,
        np.ones(n, bool),
        False,
    )


def test_the_reliability_curve_is_the_pav_fit_and_its_band_holds_a_calibrated_diagonal():
    made = made_by_hand(2000, 8)
    band = reliability_band(made, bootstrap=200, ci_prob=0.9)
    r = corp_reliability(made.p, made.y)
    np.testing.assert_allclose(band.recalibrated, np.interp(band.p, r.predicted, r.recalibrated))
    assert (band.low <= band.high).all() and band.low.min() >= 0 and band.high.max() <= 1
    inner = band[(band.p >= 0.05) & (band.p <= 0.95)]
    covered = ((inner.low <= inner.p) & (inner.p <= inner.high)).mean()
    assert covered >= 0.8
    assert band.attrs["brier"] == pytest.approx(brier_score(made.p, made.y))


def test_a_miscalibrated_forecast_leaves_its_band_and_evaluate_flags_it():
    """Classes drawn at p squared: the predictions are too high in the middle, the band there
    lies below the diagonal, and evaluate flags the intercept."""
    made = made_by_hand(2000, 9, lambda p: p**2)
    band = reliability_band(made, bootstrap=200, ci_prob=0.9)
    middle = band[(band.p >= 0.3) & (band.p <= 0.7)]
    assert (middle.high < middle.p).all()
    scores = evaluate(made, bootstrap=200).set_index(["group", "metric"])
    assert scores.loc[(OVERALL, "calibration_intercept"), "flagged"]


def test_decision_curves_from_predictions_equal_those_from_the_cohort(
    bundled_fit, bundled_cohort_path
):
    """evaluate --out draws its curves from the predictions it scored, not a second scoring."""
    from model.cutoffs.analysis import labelled_decision_curves

    made = labelled_predictions(bundled_fit, bundled_cohort_path)
    assert made.in_sample and made.scored.sum() == len(made.y)
    thresholds = [0.2, 0.5, 0.8]
    fresh = labelled_decision_curves(bundled_fit, bundled_cohort_path, thresholds=thresholds)
    reused = labelled_decision_curves(bundled_fit, made, thresholds=thresholds)
    assert reused.attrs == fresh.attrs
    assert reused["net_benefit"].to_numpy() == pytest.approx(fresh["net_benefit"].to_numpy())
    model = reused["model"] == "model"
    # bands from the kept draws, not all of them: close, not equal
    for column in ("net_benefit_low", "net_benefit_high"):
        assert reused.loc[model, column].to_numpy() == pytest.approx(
            fresh.loc[model, column].to_numpy(), abs=0.01
        )


def test_through_the_reference_a_calibrated_model_stays_calibrated_against_noisy_labels():
    from model.evaluation.external import through_reference

    assert through_reference(np.array([[0.3]]), 0.9, 0.8)[0, 0] == pytest.approx(0.41)
    rng = np.random.default_rng(3)
    p = rng.beta(0.7, 0.7, 60_000)
    truth = rng.random(p.size) < p  # p is calibrated for the true class
    sensitivity, specificity = 0.8, 0.9
    label = np.where(truth, rng.random(p.size) < sensitivity, rng.random(p.size) > specificity)
    carried = through_reference(p[:, None], sensitivity, specificity)[:, 0]
    assert calibration_intercept(carried, label) == pytest.approx(0.0, abs=0.05)
    assert calibration_slope(carried, label) == pytest.approx(1.0, abs=0.05)
    # scored as truth, the same calibrated probabilities look badly miscalibrated
    assert calibration_slope(p, label) < 0.7


def test_follow_up_labels_are_scored_through_the_reference_and_scan_labels_not_at_all(
    bundled_fit, bundled_cohort_path
):
    from model.evaluation.external import labelled_by_reference
    from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY

    made = labelled_by_reference(bundled_fit, bundled_cohort_path)
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    follow = cohort[cohort.reference_source == "follow_up"]
    assert len(made[FOLLOW_UP].y) == len(follow)
    assert (made[FOLLOW_UP].y == (follow.reference_diagnosis == "recurrence")).all()
    assert (
        made[FOLLOW_UP].labels["follow_up_scans"]
        == (cohort.reference_source == "follow_up_scans").sum()
    )
    draws = recurrence_draws(bundled_fit, bundled_cohort_path)[made[FOLLOW_UP].scored]
    se, sp = bundled_fit.draws.sensitivity, bundled_fit.draws.specificity
    expected = (se * draws + (1 - sp) * (1 - draws)).mean(axis=1)
    np.testing.assert_allclose(made[FOLLOW_UP].p, expected, rtol=1e-10)
    # the histopathology set is the one labelled_predictions gives
    np.testing.assert_array_equal(
        made[HISTOPATHOLOGY].p, labelled_predictions(bundled_fit, bundled_cohort_path).p
    )


def test_a_cohort_with_modalities_the_fit_lacks_is_refused_saying_which(
    fit_without_pet, bundled_cohort_path
):
    from model.core.errors import InputError

    with pytest.raises(InputError) as caught:
        evaluate(fit_without_pet, bundled_cohort_path, bootstrap=10)
    text = str(caught.value)
    assert "column 'pet_tbr': expected a column of the modalities in use (it belongs to PET" in text
    assert text.count("belongs to PET") == 7  # tracer, TBR, read, its cutoff, 3 follow-up TBRs
