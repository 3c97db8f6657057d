"""Closed-form accuracy against simulation."""

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from model.cutoffs import accuracy as acc

RNG = np.random.default_rng(3)
# one draw, two centers: class means/spreads (S=1, class, G=2) on the log scale
MEAN = np.array([[[0.2, 0.45], [1.0, 1.3]]])
SD = np.array([[[0.35, 0.3], [0.45, 0.4]]])
WEIGHTS = np.array([0.7, 0.3])


def simulate(k, n):
    group = RNG.choice(2, size=n, p=WEIGHTS)
    return RNG.normal(MEAN[0, k, group], SD[0, k, group])


def test_sensitivity_and_specificity_equal_monte_carlo():
    n = 400_000
    x0, x1 = simulate(0, n), simulate(1, n)
    cutoffs = np.log([1.2, 1.75, 2.1, 3.0])
    se, sp = acc.accuracy(cutoffs, MEAN, SD, WEIGHTS)
    for j, c in enumerate(cutoffs):
        assert se[0, j] == pytest.approx((x1 > c).mean(), abs=4 * np.sqrt(0.25 / n))
        assert sp[0, j] == pytest.approx((x0 <= c).mean(), abs=4 * np.sqrt(0.25 / n))


def test_auc_equals_mann_whitney():
    x0, x1 = simulate(0, 3000), simulate(1, 3000)
    u = mannwhitneyu(x1, x0).statistic / (len(x0) * len(x1))
    assert acc.auc(MEAN, SD, WEIGHTS)[0] == pytest.approx(u, abs=0.012)
    one = acc.auc(MEAN[..., :1], SD[..., :1], np.ones(1))[0]
    assert one == pytest.approx(
        0.5 * (1 + __import__("math").erf((1.0 - 0.2) / np.sqrt(2 * (0.35**2 + 0.45**2))))
    )


@pytest.mark.parametrize("log_ratio", [0.0, 0.7, -0.5])
def test_closed_form_optimum_equals_grid_search(log_ratio):
    mean = np.array([[0.1, 1.0], [0.3, 0.9], [0.0, 1.5]])[:, :, None]
    sd = np.array([[0.3, 0.5], [0.4, 0.4], [0.5, 0.3]])[:, :, None]
    grid = np.linspace(-3, 5, 400_001)
    se, sp = acc.accuracy(grid, mean, sd, np.ones(1))
    objective = se - np.exp(log_ratio) * (1 - sp)
    expected = grid[np.argmax(objective, axis=1)]
    np.testing.assert_allclose(acc.binormal_optimal(mean, sd, log_ratio), expected, atol=3e-5)
    # equal spreads, Youden: the midpoint of the class means
    assert acc.binormal_optimal(mean[1:2], sd[1:2], 0.0)[0] == pytest.approx(0.6)


@pytest.mark.parametrize("objective", [acc.youden_index, acc.net_benefit(0.6, 0.3)])
def test_coarse_to_fine_optimum_equals_a_dense_grid_search(objective):
    # draws of a three-center mixture with unequal spreads: no closed form
    rng = np.random.default_rng(5)
    mean = np.stack([rng.normal(0.2, 0.2, (50, 3)), rng.normal(1.1, 0.3, (50, 3))], axis=1)
    sd = rng.uniform(0.25, 0.6, (50, 2, 3))
    weights = np.array([0.5, 0.3, 0.2])
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
    n = 400_000
    mx, sx, my, sy, rho = 0.3, 0.4, 0.4, 0.3, 0.45
    shape = (1, 2, 1)
    params = [np.full(shape, v) for v in (mx, sx, my, sy, rho)]
    for k, shift in ((0, 0.0), (1, 0.6)):
        for p in params[::2][:2]:
            p[0, k, 0] += shift
    e1 = RNG.standard_normal((2, n))
    e2 = rho * e1 + np.sqrt(1 - rho**2) * RNG.standard_normal((2, n))
    x = params[0][0, :, 0, None] + sx * e1
    y = params[2][0, :, 0, None] + sy * e2
    a, b = np.log(1.6), np.log(1.5)
    positive = (x > a) & (y > b) if rule == "and" else (x > a) | (y > b)
    se, sp = acc.combined_accuracy(rule, a, b, *params, np.ones(1))
    assert se[0] == pytest.approx(positive[1].mean(), abs=0.004)
    assert sp[0] == pytest.approx(1 - positive[0].mean(), abs=0.004)


def test_predictive_values_and_likelihood_ratios():
    ppv, npv = acc.predictive_values(np.array([0.9]), np.array([0.8]), 0.6)
    assert ppv[0] == pytest.approx(0.54 / (0.54 + 0.08))
    assert npv[0] == pytest.approx(0.32 / (0.32 + 0.06))
    pos, neg = acc.likelihood_ratios(np.array([0.9]), np.array([0.8]))
    assert (pos[0], neg[0]) == (pytest.approx(4.5), pytest.approx(0.125))
