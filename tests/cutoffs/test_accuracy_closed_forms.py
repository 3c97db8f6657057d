"""The accuracy arithmetic against closed forms with SciPy, in shapes where a wrong axis or a
swapped class cannot cancel out: unequal class spreads, several groups and draws."""

import warnings

import numpy as np
import pytest
from scipy import stats

from model.cutoffs.accuracy import (
    accuracy,
    auc,
    combined_accuracy,
    likelihood_ratios,
    mixture_components,
    net_benefit,
    optimal_cutoff,
    predictive_values,
    youden_index,
)

# two draws, two groups; necrosis / recurrence locations and spreads differ everywhere
MEAN = np.array([[[0.0, 0.3], [1.0, 1.6]], [[-0.2, 0.1], [0.8, 1.1]]])  # (S, 2, A)
SD = np.array([[[0.5, 0.4], [0.9, 0.7]], [[0.6, 0.3], [0.8, 1.2]]])
WEIGHT = np.array([[0.3, 0.7], [0.6, 0.4]])  # (2, A): each class's own component weights


def test_accuracy_is_the_weighted_normal_tail_of_each_class():
    cutoffs = np.array([0.2, 0.9])
    se, sp = accuracy(cutoffs, MEAN, SD, WEIGHT)
    for s in range(2):
        for k, c in enumerate(cutoffs):
            recurrence = sum(
                WEIGHT[1, a] * stats.norm.sf(c, MEAN[s, 1, a], SD[s, 1, a]) for a in range(2)
            )
            necrosis = sum(
                WEIGHT[0, a] * stats.norm.cdf(c, MEAN[s, 0, a], SD[s, 0, a]) for a in range(2)
            )
            assert se[s, k] == pytest.approx(recurrence, rel=1e-12)
            assert sp[s, k] == pytest.approx(necrosis, rel=1e-12)


def test_auc_is_the_binormal_pair_sum():
    found = auc(MEAN, SD, WEIGHT)
    for s in range(2):
        expected = sum(
            WEIGHT[1, i]
            * WEIGHT[0, j]
            * stats.norm.cdf((MEAN[s, 1, i] - MEAN[s, 0, j]) / np.hypot(SD[s, 1, i], SD[s, 0, j]))
            for i in range(2)
            for j in range(2)
        )
        assert found[s] == pytest.approx(expected, rel=1e-12)


def test_mixture_components_put_misreads_on_the_other_class():
    location = np.array([[[0.0, 1.0], [2.0, 3.0]]])  # one draw, two groups
    spread = np.array([[0.5, 0.7]])
    mean, sd, weight = mixture_components(location, spread, 0.1, [0.25, 0.75])
    assert mean.tolist() == [[[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 0.0, 1.0]]]
    assert sd.tolist() == [[[0.5, 0.7, 0.5, 0.7], [0.5, 0.7, 0.5, 0.7]]]
    assert np.allclose(weight, [[0.225, 0.675, 0.025, 0.075]] * 2, rtol=0, atol=1e-15)


def test_predictive_values_likelihood_ratios_youden_and_net_benefit_closed_forms():
    se, sp, prevalence = np.array([0.8, 1.0]), np.array([0.9, 0.0]), 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 and x/0 are answered quietly
        ppv, npv = predictive_values(se, sp, prevalence)
        lr_pos, lr_neg = likelihood_ratios(np.array([0.8, 0.5, 0.0]), np.array([0.9, 1.0, 1.0]))
    assert ppv[0] == pytest.approx(0.24 / (0.24 + 0.07)) and npv[0] == pytest.approx(0.63 / 0.69)
    assert np.isnan(npv[1])
    assert lr_pos[0] == pytest.approx(8.0) and lr_pos[1] == np.inf
    assert lr_neg[0] == pytest.approx(0.2 / 0.9) and np.isnan(lr_pos[2]) and lr_neg[2] == 1.0
    assert youden_index(0.8, 0.9) == pytest.approx(0.7)
    benefit = net_benefit(prevalence, 0.25)
    assert benefit(0.8, 0.9) == pytest.approx(0.3 * 0.8 - 0.7 * 0.1 * (0.25 / 0.75))


def test_optimal_cutoff_matches_the_closed_form_youden_point_of_equal_spreads():
    """For two normals of one spread, Youden's index peaks midway between the means."""
    mean = np.array([[[0.0], [1.3]], [[0.4], [1.0]]])
    sd = np.full_like(mean, 0.6)
    weight = np.ones((2, 1))
    found = optimal_cutoff(youden_index, mean, sd, weight, -2.0, 3.0)
    resolution = 5.0 / ((64 - 1) * (33 - 1) / 2)  # as the docstring states
    assert found == pytest.approx([0.65, 0.7], abs=resolution / 2)


def test_two_modality_rules_multiply_within_groups_and_mix_over_them():
    # no symmetry between draws and groups, so a sum over the wrong axis shows
    first = (np.array([[0.8, 0.6], [0.6, 0.5]]), np.array([[0.9, 0.7], [0.8, 0.95]]))
    second = (np.array([[0.5, 0.9], [0.6, 0.3]]), np.array([[0.6, 0.8], [0.85, 0.9]]))
    w = np.array([0.25, 0.75])
    se_and, sp_and = combined_accuracy("and", first, second, w)
    se_or, sp_or = combined_accuracy("or", first, second, w)
    (se1, sp1), (se2, sp2) = first, second
    assert se_and == pytest.approx((se1 * se2) @ w)
    assert sp_and == pytest.approx(1 - ((1 - sp1) * (1 - sp2)) @ w)
    assert se_or == pytest.approx(1 - ((1 - se1) * (1 - se2)) @ w)
    assert sp_or == pytest.approx((sp1 * sp2) @ w)
    with pytest.raises(ValueError, match=r"^rule must be 'and' or 'or'$"):
        combined_accuracy("xor", first, second, w)
