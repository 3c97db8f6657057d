import numpy as np
import pytest
from scipy import stats

from model.decision import expected_utilities, load_decision_parameters
from model.decision.policy import GrowthLikelihood, _bands, growth_likelihood, rescan_policy

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


def test_growth_likelihood_is_the_draw_averaged_normal_mixture_on_its_grid(bundled_fit):
    """Against SciPy: per class the average over draws of N(mean, sd) mixed with the other class
    by the misread probability, on a grid spanning 8 sd beyond the extreme means, with trapezoid
    weights. A 7-point grid is coarse enough that normalising on it is visible."""
    thinned = bundled_fit.draws.thin(40)
    weeks = BASE.rescan_weeks
    mean = thinned.growth_rate * weeks / 6
    sd = thinned.scan_sd(weeks)
    assert np.ptp(sd) > 0  # the draws disagree about the spread, so sd placement matters
    for grid_size in (7, 301):
        got = growth_likelihood(bundled_fit.draws, weeks, n_draws=40, grid_size=grid_size)
        g = got.growth
        assert g[0] == pytest.approx((mean - 8 * sd[:, None]).min(), abs=1e-12)
        assert g[-1] == pytest.approx((mean + 8 * sd[:, None]).max(), abs=1e-12)
        step = g[1] - g[0]
        np.testing.assert_allclose(got.weights[1:-1], step, rtol=1e-12)
        np.testing.assert_allclose(got.weights[[0, -1]], step / 2, rtol=1e-12)
        own = stats.norm.pdf(g[None, :, None], mean[:, None, :], sd[:, None, None])  # (S, G, 2)
        e = thinned.growth_misread
        mixture = ((1 - e) * own + e * own[..., ::-1]).mean(axis=0).T
        expected = mixture / (mixture * got.weights).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(got.density, expected, rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose((got.density * got.weights).sum(axis=1), 1.0, rtol=1e-12)


def test_rounds_and_grid_are_as_asked(likelihood):
    assert rescan_policy(likelihood, BASE).value.shape == (4, 2001)  # 3 rounds by default
    policy = rescan_policy(likelihood, BASE, rounds=0, grid_size=11)
    np.testing.assert_array_equal(policy.p, np.linspace(0, 1, 11))
    assert policy.value.shape == (1, 11) and "rescan" not in set(policy.action[0])
    with pytest.raises(ValueError, match=r"^rounds must be >= 0$"):
        rescan_policy(likelihood, BASE, rounds=-1)


def test_bands_are_the_runs_of_each_action_row(likelihood):
    policy = rescan_policy(likelihood, BASE, rounds=3)
    for k, row in enumerate(policy.action):
        bands = policy.bands[policy.bands["rescans_left"] == k]
        assert (bands["action"].to_numpy()[1:] != bands["action"].to_numpy()[:-1]).all()
        rebuilt = np.concatenate(
            [
                np.repeat(b.action, int(round((b.p_to - b.p_from) * 2000)) + 1)
                for b in bands.itertuples()
            ]
        )
        np.testing.assert_array_equal(rebuilt, row)
    # one-point runs at either end, as in a coarse grid
    one_point = _bands(np.array([0.0, 0.5, 1.0]), [np.array(["manage", "rescan", "treat"])])
    assert one_point.to_dict("records") == [
        {"rescans_left": 0, "action": a, "p_from": x, "p_to": x}
        for a, x in (("manage", 0.0), ("rescan", 0.5), ("treat", 1.0))
    ]
