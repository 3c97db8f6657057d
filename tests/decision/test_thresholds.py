import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from model.decision import (
    classic_thresholds,
    expected_utilities,
    load_decision_parameters,
    parameter_thresholds,
    thresholds,
)
from model.decision.utilities import CLASSIC_ACTIONS, LesionContext

BASE = load_decision_parameters()


def classic(b, h, r, se, sp):
    """Parameters of the classic model: one surveillance round whose delay costs all of B."""
    return BASE.with_values(
        benefit=b,
        harm=h,
        biopsy_harm=r,
        biopsy_sensitivity=se,
        biopsy_specificity=sp,
        delay_loss=b,
        surveillance_rounds=1,
    )


def best_action(p, params, early=False):
    """Brute force: the action of largest expected utility (0 manage, 1 biopsy, 2 treat)."""
    eu = expected_utilities(p, params, LesionContext(early=early))
    return int(np.argmax([eu[a] for a in CLASSIC_ACTIONS]))


def switch_points(params, early=False):
    """Where the best action changes on (0, 1), by grid search then bisection to 1e-13."""
    grid = np.linspace(0, 1, 2001)
    actions = [best_action(p, params, early) for p in grid]
    points = []
    for i in range(len(grid) - 1):
        if actions[i] != actions[i + 1]:
            lo, hi = grid[i], grid[i + 1]
            while hi - lo > 1e-13:
                mid = (lo + hi) / 2
                if best_action(mid, params, early) == actions[i]:
                    lo = mid
                else:
                    hi = mid
            points.append(((lo + hi) / 2, actions[i], actions[i + 1]))
    return points


def assert_switches_at(points, t):
    inside = lambda x: 1e-9 < x < 1 - 1e-9  # noqa: E731  (a tie at p = 0 or 1 is no switch)
    points = [point for point in points if inside(point[0])]
    if t.biopsy_ever_best:
        expected = [(x, a, c) for x, a, c in ((t.test, 0, 1), (t.test_treat, 1, 2)) if inside(x)]
    else:
        expected = [(t.treat, 0, 2)] if inside(t.treat) else []
    assert [(a, c) for _, a, c in points] == [(a, c) for _, a, c in expected]
    for (found, _, _), (closed, _, _) in zip(points, expected, strict=True):
        assert found == pytest.approx(closed, abs=1e-9)


@given(
    b=st.floats(0.5, 50),
    h=st.floats(0.5, 50),
    r=st.floats(0.0, 10),
    se=st.floats(0.05, 1.0),
    sp=st.floats(0.05, 1.0),  # below, e.g. sp = 1e-200, utilities differ by less than rounding
)
@settings(max_examples=200, deadline=None)
def test_closed_forms_equal_brute_force(b, h, r, se, sp):
    """The classic Pauker-Kassirer thresholds are the surveillance-aware model's switch points
    when one round's delay costs the whole benefit (then L = B and there is no false alarm)."""
    t = thresholds(b, h, r, se, sp)
    # Degenerate cases where two actions tie at every p (a biopsy that always says "recurrence"
    # is treating), or all three cross at one point, have no unique switch: excluded.
    assume((1 - sp) * h + se * b > 0 and sp * h + (1 - se) * b > 0)
    # A biopsy band narrower than the brute-force grid's step (5e-4) cannot be found by it.
    assume(not (sp == 0 and se == 1) and abs(t.test - t.test_treat) > 1e-3)
    params = classic(b, h, r, se, sp)
    assert parameter_thresholds(params) == t == classic_thresholds(params)
    assert_switches_at(switch_points(params), t)


@given(
    delay=st.floats(0.0, 8.0),
    window=st.floats(0.0, 0.5),
    detection=st.floats(0.05, 1.0),
    specificity=st.floats(0.5, 1.0),
    rounds=st.integers(1, 5),
    r=st.floats(0.0, 4.0),
    early=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_surveillance_aware_thresholds_equal_brute_force(
    delay, window, detection, specificity, rounds, r, early
):
    """The closed forms (B -> L, H -> (1 - A) h) against the utility table's own switch points."""
    params = BASE.with_values(
        delay_loss=delay,
        window_loss=window,
        surveillance_detection=detection,
        surveillance_specificity=specificity,
        surveillance_rounds=rounds,
        biopsy_harm=r,
    )
    t = parameter_thresholds(params, early)
    assume(abs(t.test - t.test_treat) > 1e-3 and t.treat < 1 - 1e-6)
    assert_switches_at(switch_points(params, early), t)


def test_harmless_perfect_biopsy_is_best_for_every_interior_p():
    t = thresholds(benefit=8, harm=6, test_harm=0, test_sensitivity=1, test_specificity=1)
    assert (t.test, t.test_treat) == (0.0, 1.0)
    params = classic(8, 6, 0, 1, 1)
    p = np.linspace(1e-6, 1 - 1e-6, 10001)
    eu = expected_utilities(p, params)
    assert np.all(eu["biopsy"] > eu["manage"]) and np.all(eu["biopsy"] > eu["treat"])


@given(b=st.floats(0.01, 100), h=st.floats(0.01, 100))
def test_treatment_threshold_is_harm_over_harm_plus_benefit(b, h):
    assert thresholds(b, h, 1.0, 0.9, 0.9).treat == pytest.approx(h / (h + b), rel=1e-12)


def test_useless_biopsy_is_never_best():
    t = thresholds(benefit=8, harm=6, test_harm=0.5, test_sensitivity=0.0, test_specificity=1.0)
    assert t.test == np.inf and not t.biopsy_ever_best


def test_an_always_positive_biopsy_is_never_preferred_to_treating():
    """Specificity 0 and sensitivity 1: the biopsy calls every lesion recurrence, so it is
    treating plus the biopsy's harm, worse than treating at every p (test_treat = -inf)."""
    t = thresholds(benefit=8, harm=6, test_harm=0.5, test_sensitivity=1.0, test_specificity=0.0)
    assert t.test_treat == -np.inf and not t.biopsy_ever_best
    params = BASE.with_values(biopsy_sensitivity=1.0, biopsy_specificity=0.0)
    eu = expected_utilities(np.linspace(0, 1, 101), params)
    assert np.all(eu["biopsy"] < eu["treat"])


def test_public_api_names():
    import model
    import model.decision

    t = model.decision.thresholds(
        benefit=8, harm=6, test_harm=1.5, test_sensitivity=0.9, test_specificity=0.95
    )
    assert t == thresholds(8, 6, 1.5, 0.9, 0.95)
    assert callable(model.decide) and model.load_decision_parameters().benefit == 8.0
