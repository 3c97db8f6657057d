"""The surveillance-aware utility table, against hand computations and its limits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.decision import load_decision_parameters
from model.decision.utilities import (
    LesionContext,
    best_action,
    best_by_class,
    class_utilities,
    expected_utilities,
    false_alarm,
    false_alarm_cost,
    immediate_bands,
    immediate_value,
    perfect_information_value,
    surveillance_loss,
    treatment_harm,
    value_after_waiting,
    wait_costs,
)

BASE = load_decision_parameters()


def test_the_default_surveillance_loss_by_hand():
    """B 8, delay 1, window 0.05, detection 0.77, three rounds: each round is reached with
    probability (0.95 x 0.23)^(k-1) and costs 0.05 x 8 + 0.95 x found x k."""
    a = 0.95 * 0.23
    expected = (0.4 + 0.95 * 0.77 * 1) + a * (0.4 + 0.95 * 0.77 * 2) + a**2 * (0.4 + 0.95 * 1.0 * 3)
    assert surveillance_loss(BASE) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.6937, abs=1e-4)
    assert false_alarm(BASE) == pytest.approx(1 - 0.88**2, rel=1e-12)


def test_one_round_whose_delay_costs_the_benefit_is_the_classic_model():
    classic = BASE.with_values(delay_loss=BASE.benefit, surveillance_rounds=1)
    assert surveillance_loss(classic) == BASE.benefit  # exactly, whatever the window loss
    assert false_alarm(classic) == 0.0
    table = class_utilities(classic)
    b, h, r = BASE.benefit, BASE.harm, BASE.biopsy_harm
    se, sp = BASE.biopsy_sensitivity, BASE.biopsy_specificity
    assert table["manage"] == (0.0, 0.0)
    assert table["treat"] == (-h, b)
    assert table["biopsy"] == pytest.approx((-r - (1 - sp) * h, -r + se * b), abs=1e-12)


def test_a_delay_never_costs_more_than_the_benefit():
    slow = BASE.with_values(delay_loss=5.0, window_loss=0.0, surveillance_detection=0.5)
    # rounds 1, 2, 3 find it with 0.5, 0.25, 0.25: delays 5, min(10, 8), min(15, 8)
    assert surveillance_loss(slow) == pytest.approx(0.5 * 5 + 0.25 * 8 + 0.25 * 8, rel=1e-12)


@given(
    delay=st.floats(0, 20),
    window=st.floats(0, 1),
    detection=st.floats(0, 1),
    rounds=st.integers(1, 6),
    benefit=st.floats(0.5, 40),
)
@settings(max_examples=300, deadline=None)
def test_the_surveillance_loss_is_bounded_and_monotone(delay, window, detection, rounds, benefit):
    params = BASE.with_values(
        delay_loss=delay,
        window_loss=window,
        surveillance_detection=detection,
        surveillance_rounds=rounds,
        benefit=benefit,
    )
    loss = surveillance_loss(params)
    assert -1e-12 <= loss <= benefit * (1 + 1e-12)
    tol = 1e-9 * benefit
    assert surveillance_loss(params.with_values(delay_loss=delay + 0.5)) >= loss - tol
    assert surveillance_loss(params.with_values(window_loss=min(1.0, window + 0.1))) >= loss - tol
    found_sooner = params.with_values(surveillance_detection=min(1.0, detection + 0.1))
    assert surveillance_loss(found_sooner) <= loss + tol
    from model.decision.thresholds import parameter_thresholds

    for early in (False, True):  # the treatment threshold h' / (h' + L) never leaves (0, 1]
        assert 0 < parameter_thresholds(params, early).treat <= 1


def test_without_delay_or_window_surveillance_loses_nothing_and_dominates():
    free = BASE.with_values(delay_loss=0, window_loss=0)
    assert surveillance_loss(free) == 0.0
    p = np.linspace(0, 1, 1001)
    for context in (LesionContext(), LesionContext(early=True)):
        eu = expected_utilities(p, free, context)
        for action in ("biopsy", "treat", "resect"):
            assert np.all(eu["manage"] >= eu[action] - 1e-12), (context, action)


def test_each_action_by_hand_for_a_symptomatic_early_lesion():
    """P = 0.3, symptomatic, early window; defaults: L 1.6937, A 0.2256, h_early 12, S 1,
    Hn 0.5 (< S, so a negative biopsy treats the necrosis), Rb 1.5, Rr 3, se 0.9, sp 0.95;
    a false alarm is worked up by biopsy: M = A (Rb + (1 - sp) h)."""
    p, b = 0.3, 8.0
    h, s, hn, rb, rr, se, sp = 12.0, 1.0, 0.5, 1.5, 3.0, 0.9, 0.95
    loss, alarm = surveillance_loss(BASE), (1 - 0.88**2) * (rb + (1 - sp) * h)
    hand = {
        "manage": p * (b - loss) + (1 - p) * (-s - alarm),
        "biopsy": p * (-rb + b - (1 - se) * (loss + hn))
        + (1 - p) * (-rb - (1 - sp) * (h + s) - sp * (hn + alarm)),
        "treat": p * b + (1 - p) * (-h - s),
        "resect": p * (b - rr) + (1 - p) * (-rr),
        "treat_necrosis": p * (b - loss - hn) + (1 - p) * (-hn - alarm),
    }
    eu = expected_utilities(p, BASE, LesionContext(symptomatic=True, early=True))
    assert list(eu) == list(hand)
    for action, value in hand.items():
        assert float(eu[action]) == pytest.approx(value, rel=1e-12), action
    assert treatment_harm(BASE, early=True) == 12.0 and treatment_harm(BASE, early=False) == 6.0


def test_a_negative_biopsy_is_watched_when_treating_the_necrosis_costs_more():
    """With Hn above S the better necrosis arm is surveillance: the biopsy's negative branch
    costs S + M under necrosis and L under recurrence; no treat_necrosis for the asymptomatic."""
    costly = BASE.with_values(necrosis_treatment_harm=2.0)
    p, loss, h = 0.4, surveillance_loss(costly), costly.harm
    alarm = false_alarm(costly) * (1.5 + 0.05 * h)
    assert alarm == pytest.approx(false_alarm_cost(costly, early=False), rel=1e-12)
    eu = expected_utilities(p, costly, LesionContext(symptomatic=True))
    hand = p * (-1.5 + 8 - 0.1 * loss) + (1 - p) * (-1.5 - 0.05 * (h + 1) - 0.95 * (1 + alarm))
    assert float(eu["biopsy"]) == pytest.approx(hand, rel=1e-12)
    assert "treat_necrosis" not in expected_utilities(p, costly)


def test_best_by_class_and_perfect_information():
    p = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    context = LesionContext(symptomatic=True)
    necrosis, recurrence = best_by_class(p, BASE, context)
    np.testing.assert_allclose(
        p * recurrence + (1 - p) * necrosis, immediate_value(p, BASE, context), atol=1e-12
    )
    table = class_utilities(BASE, context)
    evpi = perfect_information_value(p, BASE, context) - immediate_value(p, BASE, context)
    assert np.all(evpi >= -1e-12) and evpi[0] == pytest.approx(0) and evpi[-1] == pytest.approx(0)
    assert perfect_information_value(1.0, BASE, context) == table["treat"][1]
    assert perfect_information_value(0.0, BASE, context) == table["treat_necrosis"][0]


def test_waiting_costs_by_class():
    costs = wait_costs(BASE, 12.0, LesionContext(symptomatic=True))
    assert costs.delay == pytest.approx(2.0) and costs.necrosis == pytest.approx(2.0)
    assert costs.window == pytest.approx(1 - 0.95**2, rel=1e-12)
    assert wait_costs(BASE, 6.0).necrosis == 0.0
    # a perfectly informative result: P' is 0 or 1
    p_after, mass = np.array([0.0, 1.0]), np.array([0.7, 0.3])
    got = value_after_waiting(p_after, mass, BASE, costs, LesionContext(symptomatic=True))
    n0 = max(u for u, _ in class_utilities(BASE, LesionContext(symptomatic=True)).values())
    hand = 0.3 * (1 - costs.window) * (8.0 - 2.0) + 0.7 * (n0 - 2.0)
    assert got == pytest.approx(hand, rel=1e-12)
    free = wait_costs(BASE.with_values(delay_loss=0, window_loss=0), 6.0)
    p_after, mass = np.array([0.1, 0.5, 0.8]), np.array([0.2, 0.5, 0.3])
    assert value_after_waiting(p_after, mass, BASE, free) == pytest.approx(
        float(mass @ immediate_value(p_after, BASE)), rel=1e-12
    )


def test_immediate_bands_cover_the_axis_at_the_switch_points():
    bands = immediate_bands(BASE)
    assert [a for a, _, _ in bands] == ["manage", "treat"]
    assert bands[0][1] == 0.0 and bands[-1][2] == 1.0
    from model.decision.thresholds import parameter_thresholds

    assert bands[1][1] == pytest.approx(parameter_thresholds(BASE).treat, abs=1e-3)
    symptomatic = immediate_bands(BASE, LesionContext(symptomatic=True))
    assert symptomatic[0][0] == "treat_necrosis" and symptomatic[-1][0] == "treat"


def test_whole_number_parameters_are_checked():
    from model.core.errors import InputError

    with pytest.raises(InputError, match="a whole number >= 1"):
        BASE.with_values(surveillance_rounds=2.5)
    with pytest.raises(InputError, match="a whole number >= 1"):
        BASE.with_values(surveillance_rounds=0)
    with pytest.raises(InputError, match=r"a probability in \[0, 1\]"):
        BASE.with_values(window_loss=1.5)


def test_a_tie_between_the_necrosis_arms_goes_to_surveillance():
    """With Hn = S, treating a negative biopsy's necrosis costs as much as leaving it under
    necrosis but Hn more under recurrence: the negative branch is surveillance (c_R = L)."""
    tied = BASE.with_values(necrosis_treatment_harm=1.0, symptomatic_necrosis_loss=1.0)
    necrosis, recurrence = class_utilities(tied, LesionContext(symptomatic=True))["biopsy"]
    assert recurrence == pytest.approx(-1.5 + 8 - 0.1 * surveillance_loss(tied), rel=1e-12)


def test_best_action_and_best_by_class_at_a_single_probability():
    context = LesionContext(symptomatic=True)
    for p, expected in ((0.05, "treat_necrosis"), (0.6, "manage"), (0.99, "treat")):
        assert best_action(p, BASE, context) == expected
        necrosis, recurrence = best_by_class(p, BASE, context)  # a scalar P
        assert (float(necrosis), float(recurrence)) == class_utilities(BASE, context)[expected]
    tie = LesionContext()
    p_tie = immediate_bands(BASE)[1][1]
    eu = expected_utilities(p_tie, BASE)
    assert best_action(p_tie, BASE, tie) == max(eu, key=lambda a: float(eu[a]))


def test_immediate_bands_end_one_grid_step_before_the_next_begins():
    bands = immediate_bands(BASE, LesionContext(symptomatic=True))
    for (_, _, end), (_, start, _) in zip(bands, bands[1:], strict=False):
        assert start - end == pytest.approx(1 / 2000, abs=1e-12)  # the default 2,001 points
        assert (start * 2000) == pytest.approx(round(start * 2000), abs=1e-9)
    coarse = immediate_bands(BASE, grid_size=11)
    assert [a for a, _, _ in coarse] == ["manage", "treat"]
    np.testing.assert_allclose([x for _, *ends in coarse for x in ends], [0, 0.7, 0.8, 1])
