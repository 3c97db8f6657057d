"""Decision-curve arithmetic against hand computation (no dcurves needed, so these also run
under pandas 3), and the checks of a decision-curve table."""

import warnings

import numpy as np
import pandas as pd
import pytest

from model.core.errors import InputError
from model.decision.curves import (
    decision_curve,
    net_benefit,
    net_benefit_draws,
    probability_better,
    rates,
)

SOURCE = "<decision curve data>"


def test_net_benefit_is_the_textbook_formula_without_harm_by_default():
    tp, fp = np.array([0.3, 0.2, 0.0, 0.1]), np.array([0.1, 0.05, 0.2, 0.0])
    t = np.array([0.2, 0.5, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # threshold 1 divides by zero (and 0 x inf), silently
        plain, harmed = net_benefit(tp, fp, t), net_benefit(tp, fp, t, harm=0.01)
    assert plain[:2].tolist() == (tp[:2] - fp[:2] * t[:2] / (1 - t[:2])).tolist()
    assert plain[2] == -np.inf and np.isnan(plain[3])
    assert np.allclose(harmed[:2], plain[:2] - 0.01, rtol=0, atol=1e-15)


def test_draws_in_chunks_equal_draw_by_draw_with_prevalence_and_harm():
    rng = np.random.default_rng(1)
    n, draws = 40, 600  # more than two chunks of 256 draws
    y = rng.random(n) < 0.4
    p = rng.random((n, draws))
    t = np.array([0.1, 0.3, 0.6])
    got = net_benefit_draws(p, y, t, prevalence=0.25, harm=0.02)
    assert got.shape == (draws, 3)
    for s in (0, 255, 256, 511, 512, 599):
        positive = p[:, s][None, :] >= t[:, None]
        tp, fp = positive[:, y].mean(1) * 0.25, positive[:, ~y].mean(1) * 0.75
        assert np.allclose(got[s], tp - fp * t / (1 - t) - 0.02, rtol=0, atol=1e-12)
    assert net_benefit_draws(p, y).shape == (draws, 100)  # dcurves' default thresholds


def test_rates_keep_leading_axes_and_a_zero_risk_is_never_positive():
    r = rates(np.array([[0.0, 0.5, 1.0]]), np.array([0, 1, 1]), np.array([0.0, 0.5, 0.9]))
    assert r["test_pos_rate"].shape == r["tp_rate"].shape == (1, 3)
    assert r["test_pos_rate"][0].tolist() == [2 / 3, 2 / 3, 1 / 3]
    assert r["fp_rate"][0].tolist() == [0.0, 0.0, 0.0] and r["prevalence"] == 2 / 3


def test_probability_better_counts_strict_wins_over_draws():
    a = np.array([[1.0, 0.0, 0.5], [2.0, 0.0, 0.1]])  # two draws, three thresholds
    assert probability_better(a, np.array([0.5, 0.0, 0.3])).tolist() == [1.0, 0.0, 0.5]


def test_the_table_is_numbered_from_zero_and_accepts_booleans_and_all_none_harms():
    data = pd.DataFrame({"y": [False, True, True, False], "m": [0.1, 0.8, 0.6, 0.3]})
    table = decision_curve(data, "y", ["m"], [0.2, 0.5], harm={"all": 0.1, "none": 0.0})
    assert table.index.tolist() == list(range(6))
    assert table.loc[table["model"] == "all", "harm"].tolist() == [0.1, 0.1]


def problems(call) -> set[tuple]:
    with pytest.raises(InputError) as info:
        call()
    assert {p.file for p in info.value.problems} == {SOURCE}
    return {(p.row, p.column, p.value, p.expected) for p in info.value.problems}


def test_bad_outcomes_and_probabilities_are_named_with_what_was_expected():
    data = pd.DataFrame({"y": [0, 1, 2, 1], "m": [0.2, np.nan, 1.5, "abc"]})
    assert problems(lambda: decision_curve(data, "y", ["m"])) == {
        (2, "y", "2", "1/True (recurrence) or 0/False"),
        (1, "m", "nan", "a probability in [0, 1]"),
        (2, "m", "1.5", "a probability in [0, 1]"),
        (3, "m", "abc", "a probability in [0, 1]"),
    }


@pytest.mark.parametrize("prevalence", [0.0, 1.0, 1.5])
def test_a_prevalence_outside_the_open_unit_interval_is_refused(prevalence):
    data = pd.DataFrame({"y": [0, 1], "m": [0.1, 0.9]})
    assert problems(lambda: decision_curve(data, "y", ["m"], prevalence=prevalence)) == {
        (None, "prevalence", str(prevalence), "a number in (0, 1)")
    }


def test_a_missing_column_and_a_harm_for_no_strategy_are_refused():
    data = pd.DataFrame({"y": [0, 1], "m": [0.1, 0.9]})
    found = problems(lambda: decision_curve(data, "y", ["m", "gone"], harm={"other": 0.1}))
    assert found == {
        (None, "gone", None, "a column of the data (missing)"),
        (None, "other", None, "a harm for one of the models, 'all' or 'none'"),
    }
