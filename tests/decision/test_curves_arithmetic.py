"""Decision-curve arithmetic against hand computation (no dcurves needed, so these also run
under pandas 3), and the checks of a decision-curve table."""

import warnings

import numpy as np
import pandas as pd
import pytest

from model.core.errors import InputError
from model.decision.curves import (
    decision_curve,
    decision_value,
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


def test_treat_all_against_treat_none_has_the_beta_closed_form():
    """Under the Bayesian bootstrap the weighted prevalence is Beta(n1, n0), so treat all beats
    treat none with probability P(prevalence > t), and EVPI = E[max(NB_all, 0)] - max(E NB_all, 0)
    with E[max(NB_all, 0)] = (E[pi; pi > t] - t P(pi > t)) / (1 - t)."""
    from scipy import stats

    n1, n0 = 12, 18
    data = pd.DataFrame({"y": [1] * n1 + [0] * n0, "never": 0.0})
    t = np.array([0.3, 0.4, 0.5])
    value = decision_value(data, "y", ["never"], t, resamples=200_000, seed=3)
    everyone = value[value.model == "all"]
    above = stats.beta.sf(t, n1, n0)
    mean_above = n1 / (n1 + n0) * stats.beta.sf(t, n1 + 1, n0)
    expected_max = (mean_above - t * above) / (1 - t)
    mean_nb = (n1 / (n1 + n0) - t) / (1 - t)
    np.testing.assert_allclose(everyone.p_best, above, atol=0.005)
    np.testing.assert_allclose(everyone.evpi, expected_max - np.maximum(mean_nb, 0), atol=0.002)
    # "never" and "none" always tie: they share what treat all leaves
    never = value[value.model == "never"].p_best.to_numpy()
    np.testing.assert_allclose(never, (1 - above) / 2, atol=0.005)
    np.testing.assert_allclose(value.groupby("threshold").p_best.sum(), 1.0)
    # any two strategies: treat all above treat none exactly when the prevalence exceeds t
    np.testing.assert_allclose(everyone.p_above_none, above, atol=0.005)
    none = value[value.model == "none"]
    np.testing.assert_allclose(none.p_above_all.to_numpy(), 1 - above, atol=0.005)
    np.testing.assert_array_equal(none.p_above_never, 0.0)  # a tie is neither above
    assert everyone.p_above_all.isna().all()


def test_a_strategy_best_in_every_resample_leaves_nothing_to_learn():
    """A model that separates the classes is best at every threshold in (0, 1) in every resample:
    P(best) = 1 and EVPI = 0; its expected net benefit is the point estimate."""
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    data = pd.DataFrame({"y": y, "perfect": np.where(y == 1, 0.9, 0.1)})
    t = np.array([0.2, 0.5, 0.8])
    value = decision_value(data, "y", ["perfect"], t, groups=[0, 0, 1, 1, 2, 2, 3, 3], seed=1)
    perfect = value[value.model == "perfect"]
    np.testing.assert_array_equal(perfect.p_best, 1.0)
    np.testing.assert_array_equal(value.evpi, 0.0)
    np.testing.assert_array_equal(perfect[["p_above_all", "p_above_none"]], 1.0)


def test_patients_are_resampled_together():
    """Two lesions of one patient share their weight: duplicating every patient's lesion leaves
    the resampled net benefits, hence P(best) and EVPI, unchanged for the same seed."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    data = pd.DataFrame({"y": y, "model": np.clip(0.5 * y + rng.uniform(0, 0.5, 40), 0, 1)})
    t = np.array([0.2, 0.4, 0.6])
    once = decision_value(data, "y", ["model"], t, groups=np.arange(40), seed=5)
    twice = decision_value(
        pd.concat([data, data], ignore_index=True),
        "y",
        ["model"],
        t,
        groups=np.tile(np.arange(40), 2),
        seed=5,
    )
    pd.testing.assert_frame_equal(once, twice)
