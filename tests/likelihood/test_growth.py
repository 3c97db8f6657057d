"""Follow-up as a trajectory: the closed form against a dense multivariate normal, and the mixture
over the steroid changes a record may hide."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from model.likelihood.growth import (
    growth_sums,
    lesion_growth_sums,
    only_pattern,
    shifted_sums,
    split_by_patterns,
    steroid_patterns,
    trajectory_core_llr,
    trajectory_log_density,
    trajectory_log_density_scalar,
    trajectory_terms,
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


def test_the_steroid_patterns_are_the_record_and_what_its_blanks_may_hide():
    """A recorded change is the only pattern at its rescan; a blank is either, weighted by the
    share; a missing rescan has none. The weights of one lesion sum to 1."""
    steroid = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [-1.0, -1.0, 0.0]])
    mask = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    increases, log_weight = steroid_patterns(steroid, mask, 0.2)
    allowed = np.isfinite(log_weight)
    assert allowed.sum(axis=1).tolist() == [2, 1, 4]
    np.testing.assert_allclose(np.exp(log_weight).sum(axis=1), 1.0)
    assert sorted(map(tuple, increases[0][allowed[0]])) == [(1, 0, 0), (1, 1, 0)]
    assert sorted(np.exp(log_weight[0][allowed[0]]).round(12)) == [0.2, 0.8]
    assert increases[1][allowed[1]].tolist() == [[0, 0, 0]]
    blank_but_missing = steroid_patterns(
        np.array([[-1.0, -1.0, -1.0]]), np.array([[1.0, 0, 0]]), 0.2
    )
    assert np.isfinite(blank_but_missing[1]).sum() == 2  # only the rescan that exists may hide one


def test_lesions_split_by_their_patterns_keep_their_own_and_their_order():
    """Lesions whose record allows one pattern carry that pattern's increases, each its own; the
    others keep every pattern; growth_order puts each lesion back where it was."""
    steroid = np.array([[0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    growth = np.array([[0.1, 0.2, 0.0], [0.3, 0.1, 0.0], [0.4, 0.5, 0.0], [0.0, 0.2, 0.0]])
    weeks = np.full((4, 3), 1.0)
    sums, steroid_sums, weight = lesion_growth_sums(growth, weeks, mask, steroid, 0.2)
    split = split_by_patterns(
        {"growth_sums": sums, "steroid_sums": steroid_sums, "steroid_log_weight": weight}
    )
    assert split["growth_single_sums"].shape[0] == 3 and split["growth_mixed_sums"].shape[0] == 1
    own = [steroid_sums[i][np.isfinite(weight[i])][0] for i in (0, 2, 3)]
    np.testing.assert_array_equal(split["growth_single_steroid"][:, 0], own)
    assert len({tuple(x) for x in own}) == 3  # three different records, three different sums
    together = np.concatenate([split["growth_single_sums"], split["growth_mixed_sums"]])
    np.testing.assert_array_equal(together[split["growth_order"]], sums)


@settings(max_examples=100, deadline=None)
@given(
    record=st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=3, max_size=3),
    growth=st.lists(st.floats(-1, 1), min_size=3, max_size=3),
    weeks=st.lists(st.floats(0.3, 3), min_size=3, max_size=3),
    shift=st.floats(-0.5, 0.1),
    share=st.floats(0.05, 0.95),
)
def test_the_steroid_mixture_is_the_multivariate_normal_mixture(
    record, growth, weeks, shift, share
):
    """log p(g | class), with beta s taken out of every pattern and the patterns weighted by the
    record, equals the mixture of dense normals, in the kernel and in the array form."""
    g, w, s = np.array([growth]), np.array([weeks]), np.array([record])
    sums, steroid, log_weight = lesion_growth_sums(g, w, np.ones_like(g), s, share)
    rate, sd, tau, other = 0.1, 0.15, 0.1, 0.45
    cov = sd**2 * np.eye(3) + tau**2 * np.outer(w[0], w[0])
    unknown = [j for j in range(3) if record[j] < 0]

    def mixture(r):
        total = 0.0
        for hidden in itertools.product([0, 1], repeat=len(unknown)):
            pattern = np.maximum(np.array(record), 0.0)
            pattern[unknown] = hidden
            weight = np.prod([share if h else 1 - share for h in hidden])
            total += weight * stats.multivariate_normal(r * w[0] + shift * pattern, cov).pdf(g[0])
        return np.log(total)

    necrosis, core = trajectory_terms(
        sums[0], steroid[0], log_weight[0], rate, other - rate,
        0.5 * (other**2 - rate**2), sd**2, tau**2, shift, only_pattern(log_weight[0]), True,
    )  # fmt: skip
    assert necrosis == pytest.approx(mixture(rate), abs=1e-8)
    assert core == pytest.approx(mixture(other) - mixture(rate), abs=1e-8)
    shifted = shifted_sums(sums, steroid, shift)
    array = trajectory_log_density(shifted, rate, sd**2, tau**2, np.log)
    assert np.log(np.sum(np.exp(log_weight + array))) == pytest.approx(mixture(rate), abs=1e-8)


def test_shrinking_after_a_steroid_increase_is_weaker_evidence_of_necrosis():
    """The same shrinkage says less for necrosis after a recorded increase than with the dose
    unchanged, and a blank lies between them."""
    gap, half, sd, tau, shift = 0.35, 0.5 * (0.45**2 - 0.1**2), 0.15, 0.1, -0.15
    g, w = np.array([[np.log(0.8), 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])
    mask = np.array([[1.0, 0.0, 0.0]])

    def core(code):
        sums, steroid, weight = lesion_growth_sums(g, w, mask, np.array([[code, 0, 0]]), 0.2)
        return trajectory_terms(
            sums[0], steroid[0], weight[0], 0.1, gap, half, sd**2, tau**2, shift,
            only_pattern(weight[0]), False,
        )[1]  # fmt: skip

    assert core(0.0) < core(-1.0) < core(1.0) < 0
