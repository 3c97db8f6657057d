"""Closed-form accuracy against simulation."""

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from model.cutoffs import accuracy as acc

RNG = np.random.default_rng(3)
# one draw, two centers: class locations (S=1, class, G=2) on the oriented log scale, one spread
# per center, a misread probability
LOCATION = np.array([[[0.2, 0.45], [1.0, 1.3]]])
SPREAD = np.array([[0.35, 0.3]])
MISREAD = 0.08
WEIGHTS = np.array([0.7, 0.3])
MIXTURE = acc.mixture_components(LOCATION, SPREAD, MISREAD, WEIGHTS)


def simulate(k, n):
    """Oriented log values of class k: a center, then the class's normal (misread: the other's)."""
    group = RNG.choice(2, size=n, p=WEIGHTS)
    looks = np.where(RNG.random(n) < MISREAD, 1 - k, k)
    return RNG.normal(LOCATION[0, looks, group], SPREAD[0, group])


def test_sensitivity_and_specificity_equal_monte_carlo():
    n = 400_000
    x0, x1 = simulate(0, n), simulate(1, n)
    cutoffs = np.log([1.2, 1.75, 2.1, 3.0])
    se, sp = acc.accuracy(cutoffs, *MIXTURE)
    for j, c in enumerate(cutoffs):
        assert se[0, j] == pytest.approx((x1 > c).mean(), abs=4 * np.sqrt(0.25 / n))
        assert sp[0, j] == pytest.approx((x0 <= c).mean(), abs=4 * np.sqrt(0.25 / n))


def test_auc_equals_mann_whitney_and_the_misread_closed_form():
    x0, x1 = simulate(0, 3000), simulate(1, 3000)
    u = mannwhitneyu(x1, x0).statistic / (len(x0) * len(x1))
    assert acc.auc(*MIXTURE)[0] == pytest.approx(u, abs=0.012)
    # one center: AUC = A (1 - 2e) + e, A the binormal AUC of the class normals
    one = acc.auc(*acc.mixture_components(LOCATION[..., :1], SPREAD[:, :1], MISREAD, [1.0]))[0]
    binormal = 0.5 * (1 + math.erf((1.0 - 0.2) / np.sqrt(2 * 2 * 0.35**2)))
    assert one == pytest.approx(binormal * (1 - 2 * MISREAD) + MISREAD)


@pytest.mark.parametrize("objective", [acc.youden_index, acc.net_benefit(0.6, 0.3)])
def test_coarse_to_fine_optimum_equals_a_dense_grid_search(objective):
    # draws of a three-center mixture with unequal spreads: no closed form
    rng = np.random.default_rng(5)
    mean = np.stack([rng.normal(0.2, 0.2, (50, 3)), rng.normal(1.1, 0.3, (50, 3))], axis=1)
    sd = rng.uniform(0.25, 0.6, (50, 2, 3))
    weights = np.broadcast_to(np.array([0.5, 0.3, 0.2]), (2, 3))
    grid = np.linspace(-3.0, 4.5, 200_001)
    se, sp = acc.accuracy(grid, mean, sd, weights)
    expected = grid[np.argmax(objective(se, sp), axis=1)]
    found = acc.optimal_cutoff(objective, mean, sd, weights, -3.0, 4.5)
    resolution = 7.5 / (63 * 16)
    np.testing.assert_allclose(found, expected, atol=resolution)
    # and the objective there is as good as the dense optimum's, to second order
    at_found = objective(*acc.accuracy(found[:, None], mean, sd, weights))[:, 0]
    assert np.all(at_found >= objective(se, sp).max(axis=1) - 1e-4)


@pytest.mark.parametrize("rule", ["and", "or"])
def test_two_modality_rules_equal_monte_carlo(rule):
    """Two markers independent given the class and the center, two centers."""
    n = 400_000
    first_cut, second_cut = np.log(1.6), np.log(1.9)
    per_group = []
    for cut, location, spread, e in (
        (first_cut, LOCATION, SPREAD, MISREAD),
        (second_cut, LOCATION + 0.3, SPREAD * 1.2, 0.03),
    ):
        groups = [
            acc.accuracy([cut], *acc.mixture_components(location[..., [g]], spread[:, [g]], e, [1]))
            for g in range(2)
        ]
        per_group.append(tuple(np.concatenate([x[i] for x in groups], axis=1) for i in (0, 1)))
    se, sp = acc.combined_accuracy(rule, per_group[0], per_group[1], WEIGHTS)
    for k, check in ((1, lambda positive: se[0]), (0, lambda positive: 1 - sp[0])):
        group = RNG.choice(2, size=n, p=WEIGHTS)
        x = RNG.normal(
            LOCATION[0, np.where(RNG.random(n) < MISREAD, 1 - k, k), group], SPREAD[0, group]
        )
        y = RNG.normal(
            (LOCATION + 0.3)[0, np.where(RNG.random(n) < 0.03, 1 - k, k), group],
            (SPREAD * 1.2)[0, group],
        )
        positive = (
            (x > first_cut) & (y > second_cut)
            if rule == "and"
            else ((x > first_cut) | (y > second_cut))
        )
        assert check(positive) == pytest.approx(positive.mean(), abs=0.004)


def test_predictive_values_and_likelihood_ratios():
    ppv, npv = acc.predictive_values(np.array([0.9]), np.array([0.8]), 0.6)
    assert ppv[0] == pytest.approx(0.54 / (0.54 + 0.08))
    assert npv[0] == pytest.approx(0.32 / (0.32 + 0.06))
    pos, neg = acc.likelihood_ratios(np.array([0.9]), np.array([0.8]))
    assert (pos[0], neg[0]) == (pytest.approx(4.5), pytest.approx(0.125))
