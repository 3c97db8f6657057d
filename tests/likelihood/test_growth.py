"""Follow-up as a trajectory: the closed form against a dense multivariate normal."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from model.likelihood.growth import (
    growth_sums,
    trajectory_core_llr,
    trajectory_log_density,
    trajectory_log_density_scalar,
)


def sums_of(growth, weeks):
    g, w = np.array([growth]), np.array([weeks])
    return [float(x[0]) for x in growth_sums(g, w, np.ones_like(g), lambda x: x.sum(axis=1))]


@settings(max_examples=200, deadline=None)
@given(
    scans=st.integers(1, 3),
    data=st.data(),
    rate=st.floats(-0.5, 0.8),
    sd=st.floats(0.03, 0.5),
    tau=st.floats(0.0, 0.5),
)
def test_closed_form_is_the_multivariate_normal(scans, data, rate, sd, tau):
    growth = data.draw(st.lists(st.floats(-2, 2), min_size=scans, max_size=scans))
    weeks = data.draw(st.lists(st.floats(0.3, 3), min_size=scans, max_size=scans))
    w = np.array(weeks)
    dense = stats.multivariate_normal(rate * w, sd**2 * np.eye(scans) + tau**2 * np.outer(w, w))
    sums = sums_of(growth, weeks)
    expected = dense.logpdf(growth)
    assert trajectory_log_density(sums, rate, sd**2, tau**2, np.log) == pytest.approx(expected)
    assert trajectory_log_density_scalar(*sums, rate, sd**2, tau**2) == pytest.approx(expected)
    other = rate + 0.3
    core = trajectory_core_llr(sums[0], sums[1], 0.3, 0.5 * (other**2 - rate**2), sd**2, tau**2)
    dense_other = stats.multivariate_normal(other * w, dense.cov)
    assert core == pytest.approx(dense_other.logpdf(growth) - expected, abs=1e-8)


def test_no_rescan_has_no_density():
    sums = sums_of([], [])
    assert trajectory_log_density(sums, 0.2, 0.01, 0.02, np.log) == 0.0


@pytest.mark.parametrize("tau", [0.05, 0.15, 0.3])
def test_a_second_equal_rescan_adds_less_than_the_first(tau):
    """sd^2 / (sd^2 + 2 tau^2) of the first's evidence, and exactly as much without tau."""
    sd, gap, half = 0.10, 0.35, 0.5 * 0.35**2
    growth = np.log(1.3)

    def core(n, tau):
        P, W, _, _ = sums_of([growth] * n, [1.0] * n)
        return trajectory_core_llr(P, W, gap, half, sd**2, tau**2)

    first, second = core(1, tau), core(2, tau) - core(1, tau)
    assert second == pytest.approx(first * sd**2 / (sd**2 + 2 * tau**2))
    assert 0 < second < first
    assert core(2, 0.0) - core(1, 0.0) == pytest.approx(core(1, 0.0))
