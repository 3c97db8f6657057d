"""Discrimination and calibration scores against closed forms, brute force and known parameters."""

import itertools

import numpy as np
import pytest
from scipy import optimize, special

from model.evaluation.metrics import (
    brier_score,
    c_statistic,
    calibration_intercept,
    calibration_slope,
    corp_reliability,
    expected_calibration_error,
)


def test_brier_and_binned_calibration_error_by_hand():
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    y = np.array([0, 1, 0, 1, 1])
    assert brier_score(p, y) == pytest.approx(
        (0.05**2 + 0.85**2 + 0.15**2 + 0.05**2 + 0.0) / 5, abs=1e-15
    )
    # bins of 0.1: {0.05} -> |0.05 - 0|, {0.15, 0.15} -> |0.15 - 0.5|, {0.95, 1.0} -> |0.975 - 1|
    expected = (0.05 * 1 + 0.35 * 2 + 0.025 * 2) / 5
    assert expected_calibration_error(p, y) == pytest.approx(expected, abs=1e-15)


def test_the_c_statistic_is_the_share_of_concordant_pairs_ties_counting_half():
    rng = np.random.default_rng(3)
    p = rng.integers(0, 6, 40) / 5  # many ties
    y = rng.integers(0, 2, 40)
    pairs = [
        1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(p[y == 1], p[y == 0])
    ]
    assert c_statistic(p, y) == pytest.approx(np.mean(pairs), abs=1e-12)
    assert c_statistic(1 - p, y) == pytest.approx(1 - np.mean(pairs), abs=1e-12)


def test_intercept_and_slope_solve_the_logistic_score_equations():
    """The intercept zeroes the offset model's score; the slope, with its own intercept (found
    here by root-finding), zeroes both scores of the two-parameter model."""
    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.98, 300)
    y = (rng.uniform(size=300) < p**1.5).astype(int)
    intercept, slope = calibration_intercept(p, y), calibration_slope(p, y)
    x = special.logit(p)
    assert np.sum(y - special.expit(intercept + x)) == pytest.approx(0, abs=1e-8)
    own = optimize.brentq(lambda a: np.sum(y - special.expit(a + slope * x)), -20, 20)
    assert np.sum((y - special.expit(own + slope * x)) * x) == pytest.approx(0, abs=1e-8)
    assert slope != pytest.approx(1, abs=0.05)  # y was drawn miscalibrated


def test_the_slope_converges_where_the_classes_barely_overlap():
    """One case below one control: the maximum exists but is steep; the damped Newton reaches the
    point where the score vanishes."""
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1, 1])
    slope = calibration_slope(p, y)
    x = special.logit(p)
    own = optimize.brentq(lambda a: np.sum(y - special.expit(a + slope * x)), -50, 50)
    assert np.sum((y - special.expit(own + slope * x)) * x) == pytest.approx(0, abs=1e-8)
    assert slope > 1  # the probabilities are too modest for how well they separate


@pytest.mark.parametrize(("true_intercept", "true_slope"), [(0.0, 1.0), (0.5, 0.6), (-0.4, 1.5)])
def test_known_miscalibration_is_recovered(true_intercept, true_slope):
    """Classes drawn from logit P = a + b logit(p): the slope recovers b; with b = 1 the
    calibration-in-the-large intercept recovers a."""
    rng = np.random.default_rng(5)
    p = special.expit(rng.normal(0, 1.5, 200_000))
    y = rng.uniform(size=len(p)) < special.expit(true_intercept + true_slope * special.logit(p))
    intercept, slope = calibration_intercept(p, y), calibration_slope(p, y)
    assert slope == pytest.approx(true_slope, abs=0.02)
    if true_slope == 1.0:
        assert intercept == pytest.approx(true_intercept, abs=0.02)


def test_perfect_separation_and_a_single_class_are_refused():
    with pytest.raises(ValueError, match="separates the classes"):
        calibration_slope([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    # calibration in the large is defined all the same: mean of y vs the offset logits
    assert np.isfinite(calibration_intercept([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]))
    with pytest.raises(ValueError, match="both classes"):
        calibration_slope([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="both classes"):
        calibration_intercept([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="both classes"):
        c_statistic([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="0 \\(necrosis\\) and 1"):
        brier_score([0.1, 0.2], [0, 2])


def test_corp_decomposition_adds_up_and_its_curve_is_isotonic():
    rng = np.random.default_rng(6)
    p = np.round(rng.uniform(size=500), 2)
    y = (rng.uniform(size=500) < p**2).astype(int)
    r = corp_reliability(p, y)
    assert r.miscalibration - r.discrimination + r.uncertainty == pytest.approx(
        brier_score(p, y), abs=1e-12
    )
    assert np.all(np.diff(r.recalibrated) >= -1e-12) and np.all(np.diff(r.predicted) >= 0)
    assert r.miscalibration > 0 and r.discrimination > 0
    # equal p share one recalibrated value, the observed share where PAV pools nothing
    for value in np.unique(p)[:5]:
        assert np.ptp(r.recalibrated[r.predicted == value]) == 0


def test_a_recalibrated_forecast_has_no_miscalibration_left():
    """PAV of the PAV fit is itself: its miscalibration term is zero, its discrimination kept."""
    rng = np.random.default_rng(7)
    p = np.round(rng.uniform(size=400), 1)
    y = (rng.uniform(size=400) < p).astype(int)
    first = corp_reliability(p, y)
    order = np.argsort(p, kind="stable")
    again = corp_reliability(first.recalibrated, y[order])
    assert again.miscalibration == pytest.approx(0, abs=1e-12)
    assert again.discrimination == pytest.approx(first.discrimination, abs=1e-12)
