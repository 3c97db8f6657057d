import numpy as np
import pytest

from model.decision import expected_utilities, load_decision_parameters
from model.decision.policy import GrowthLikelihood, growth_likelihood, rescan_policy

BASE = load_decision_parameters()


@pytest.fixture(scope="module")
def likelihood(bundled_fit):
    return growth_likelihood(bundled_fit.draws, BASE.rescan_weeks)


def test_growth_likelihood_is_normalised_and_separates(likelihood, bundled_fit):
    for density in likelihood.density:
        assert (density * likelihood.weights).sum() == pytest.approx(1.0)
    mean = (likelihood.density * likelihood.growth * likelihood.weights).sum(axis=1)
    draws = bundled_fit.draws
    e = draws.growth_misread  # a misread scan shows the other class's growth
    rate = ((1 - e) * draws.growth_rate + e * draws.growth_rate[:, ::-1]).mean(axis=0)
    np.testing.assert_allclose(mean, rate * BASE.rescan_weeks / 6, atol=1e-3)


def test_free_rescans_dominate_biopsy(likelihood):
    policy = rescan_policy(likelihood, BASE.with_values(delay_loss=0, scan_cost=0), rounds=3)
    eu = expected_utilities(policy.p, BASE)
    for k in (1, 2, 3):
        assert np.all(policy.value[k] >= eu["biopsy"] - 1e-12)
        assert "biopsy" not in set(policy.action[k])


def test_costly_delay_never_pays(likelihood):
    policy = rescan_policy(likelihood, BASE.with_values(delay_loss=100), rounds=3)
    assert "rescan" not in set(policy.action.ravel())
    np.testing.assert_allclose(policy.value[3], policy.value[0])


def test_more_rounds_never_hurt_and_bands_cover_the_axis(likelihood):
    policy = rescan_policy(likelihood, BASE, rounds=3)
    assert np.all(np.diff(policy.value, axis=0) >= -1e-12)
    for k in range(4):
        bands = policy.bands[policy.bands["rescans_left"] == k]
        assert bands["p_from"].iloc[0] == 0.0 and bands["p_to"].iloc[-1] == 1.0
    assert policy.action_at(0.5, 3) == "rescan" and policy.action_at(0.5, 0) == "biopsy"


def test_a_perfectly_informative_rescan_has_the_closed_form_value():
    """A rescan that always tells the classes apart: afterwards P is 0 (manage, worth 0) or 1
    (treat, worth B), so with k >= 1 rescans left V_k(p) = max(V_0(p), p (B - delay) - scan cost)
    and the manage/rescan boundary is scan cost / (B - delay): every cost at every round counts."""
    growth = np.linspace(-1.0, 1.0, 201)
    weights = np.full(len(growth), growth[1] - growth[0])
    weights[[0, -1]] /= 2
    shrinks, grows = (growth < 0).astype(float), (growth > 0).astype(float)
    density = np.stack([shrinks / (shrinks * weights).sum(), grows / (grows * weights).sum()])
    params = BASE.with_values(scan_cost=0.3, delay_loss=1.5)
    policy = rescan_policy(GrowthLikelihood(growth, weights, density), params, rounds=3)
    p, B = policy.p, params.benefit
    immediate = np.max(np.stack(list(expected_utilities(p, params).values())), axis=0)
    np.testing.assert_allclose(policy.value[0], immediate, atol=1e-12)
    closed = np.maximum(immediate, p * (B - params.delay_loss) - params.scan_cost)
    for k in (1, 2, 3):
        np.testing.assert_allclose(policy.value[k], closed, atol=1e-9)
        first_rescan = p[np.argmax(policy.action[k] == "rescan")]
        boundary = params.scan_cost / (B - params.delay_loss)
        assert first_rescan == pytest.approx(boundary, abs=1.5 / (len(p) - 1))
