import numpy as np
import pytest
from scipy import stats

from model.decision import expected_utilities, load_decision_parameters
from model.decision.policy import (
    RESCAN_INTERVALS,
    GrowthLikelihood,
    _bands,
    growth_likelihood,
    policy_by_delay,
    rescan_policy,
)
from model.decision.utilities import LesionContext, false_alarm_cost, surveillance_loss

BASE = load_decision_parameters()


def perfect_rescan(weeks=6.0):
    """A rescan that always tells the classes apart: necrosis shrinks, recurrence grows."""
    growth = np.linspace(-1.0, 1.0, 201)
    weights = np.full(len(growth), growth[1] - growth[0])
    weights[[0, -1]] /= 2
    shrinks, grows = (growth < 0).astype(float), (growth > 0).astype(float)
    density = np.stack([shrinks / (shrinks * weights).sum(), grows / (grows * weights).sum()])
    return GrowthLikelihood(growth, weights, density, weeks)


@pytest.fixture(scope="module")
def likelihood(bundled_fit):
    return growth_likelihood(bundled_fit.draws, BASE.rescan_weeks)


def test_growth_likelihood_is_normalised_and_separates(likelihood, bundled_fit):
    for density in likelihood.density:
        assert (density * likelihood.weights).sum() == pytest.approx(1.0)
    mean = (likelihood.density * likelihood.growth * likelihood.weights).sum(axis=1)
    draws = bundled_fit.draws.thin(1000)  # the draws the likelihood averages (its default)
    e = draws.growth_misread  # a misread scan shows the other class's growth
    rate = ((1 - e) * draws.growth_rate + e * draws.growth_rate[:, ::-1]).mean(axis=0)
    np.testing.assert_allclose(mean, rate * BASE.rescan_weeks / 6, atol=1e-4)


def test_without_delay_or_window_loss_surveillance_dominates(likelihood):
    """A recurrence that loses nothing by waiting (delay and window loss 0) is best watched:
    L = 0, so managing as necrosis beats treating, biopsy and re-resection at every P, and no
    rescan, at any interval, makes any of them worth it."""
    free = BASE.with_values(delay_loss=0, window_loss=0, scan_cost=0)
    assert surveillance_loss(free) == 0
    policy = rescan_policy(likelihood, free, rounds=3)
    eu = expected_utilities(policy.p, free)
    for k in range(4):
        assert set(policy.action[k]) == {"manage"}
        for action in ("biopsy", "treat", "resect"):
            assert np.all(policy.value[k] >= eu[action] - 1e-12)
    symptomatic = rescan_policy(likelihood, free, rounds=2, context=LesionContext(True))
    assert set(symptomatic.action.ravel()) == {"manage", "treat_necrosis"}


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
    assert policy.action_at(0.5, 3) == "manage" and policy.action_at(0.9, 3) == "treat"
    informative = rescan_policy(perfect_rescan(), BASE, rounds=2)
    assert informative.action_at(0.5, 2) == "rescan" and informative.action_at(0.5, 0) == "manage"


@pytest.mark.parametrize("weeks", [6.0, 12.0])
def test_a_perfectly_informative_rescan_has_the_closed_form_value(weeks):
    """After a rescan that always tells the classes apart, P is 0 (worth V_0(0), what
    surveillance's false alarms cost) or 1 (treat, worth B). Waiting w weeks loses the window
    with probability 1 - (1 - q)^(w / 6) and costs the delay while it is open, so with k >= 1
    rescans left
    V_k(p) = max(V_0(p), p (1 - window) (B - delay) + (1 - p) V_0(0) - scan cost): every cost
    at every round counts, in its class."""
    params = BASE.with_values(scan_cost=0.3, delay_loss=1.5, window_loss=0.1)
    policy = rescan_policy(perfect_rescan(weeks), params, rounds=3)
    p, B = policy.p, params.benefit
    immediate = np.max(np.stack(list(expected_utilities(p, params).values())), axis=0)
    np.testing.assert_allclose(policy.value[0], immediate, atol=1e-12)
    at_zero = -false_alarm_cost(params, early=False)  # surveillance of a known necrosis
    assert immediate[0] == pytest.approx(at_zero, abs=1e-12)
    rounds = weeks / 6
    window, delay = 1 - 0.9**rounds, 1.5 * rounds
    closed = np.maximum(immediate, p * (1 - window) * (B - delay) + (1 - p) * at_zero - 0.3)
    for k in (1, 2, 3):
        np.testing.assert_allclose(policy.value[k], closed, atol=1e-9)
        assert set(policy.weeks[k][policy.action[k] == "rescan"]) <= {weeks}


def test_the_best_interval_is_chosen_among_those_offered():
    """Two perfect rescans, 4 and 12 weeks: the shorter loses less to waiting, so it is chosen;
    offered alone, the 12-week one is taken where it still pays, with a smaller band."""
    params = BASE.with_values(scan_cost=0.1, delay_loss=0.5, window_loss=0.02)
    both = rescan_policy([perfect_rescan(12.0), perfect_rescan(4.0)], params, rounds=1)
    alone = rescan_policy(perfect_rescan(12.0), params, rounds=1)
    chosen = both.action[1] == "rescan"
    assert chosen.any() and set(both.weeks[1][chosen]) == {4.0}
    assert (alone.action[1] == "rescan").sum() < chosen.sum()
    assert np.all(both.value[1] >= alone.value[1] - 1e-12)
    bands = both.bands[both.bands["action"] == "rescan"]
    assert set(bands["weeks"]) == {4.0}


def test_policy_by_delay_reproduces_the_policy_at_each_delay(likelihood):
    table = policy_by_delay(likelihood, BASE, delays=[0.0, 1.0, 8.0])
    assert list(table["delay_loss"].unique()) == [0.0, 1.0, 8.0]
    for delay, rows in table.groupby("delay_loss"):
        varied = BASE.with_values(delay_loss=delay)
        bands = rescan_policy(likelihood, varied, rounds=1).bands
        expected = bands[bands["rescans_left"] == 1]
        assert rows["action"].tolist() == expected["action"].tolist()
        np.testing.assert_allclose(rows["p_to"], expected["p_to"])
        assert rows["surveillance_loss"].iloc[0] == pytest.approx(surveillance_loss(varied))
    assert sorted(RESCAN_INTERVALS) == [4.0, 6.0, 8.0, 12.0]


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
    one_point = _bands(
        np.array([0.0, 0.5, 1.0]),
        [np.array(["manage", "rescan", "treat"])],
        [np.array([np.nan, 6.0, np.nan])],
    )
    records = one_point.to_dict("records")
    assert [(r["action"], r["p_from"], r["p_to"]) for r in records] == [
        (a, x, x) for a, x in (("manage", 0.0), ("rescan", 0.5), ("treat", 1.0))
    ]
    assert records[1]["weeks"] == 6.0 and np.isnan(records[0]["weeks"])
    # two rescans at different intervals are two bands
    split = _bands(
        np.array([0.0, 0.5, 1.0]),
        [np.array(["rescan", "rescan", "rescan"])],
        [np.array([4.0, 4.0, 8.0])],
    )
    assert split["weeks"].tolist() == [4.0, 8.0]


def test_backward_induction_matches_exact_recursion_with_a_three_way_rescan():
    """A rescan that shows growth, stability or shrinkage (70/25/5% of recurrences, 2/28/70% of
    necroses), where surveillance finds few recurrences (20% a scan) and the window is often
    lost (30% a round). A stable rescan leaves P in the gray zone, so rescans follow rescans:
    the policy's values on its grid against an exact recursion over the three results, which
    carries each rescan's value under recurrence to the round before (the window loss is
    charged on it)."""
    from model.decision.utilities import class_utilities, wait_costs

    given_r, given_n = (0.70, 0.25, 0.05), (0.02, 0.28, 0.70)
    three_way = GrowthLikelihood(np.arange(3.0), np.ones(3), np.array([given_n, given_r]), 6.0)
    params = BASE.with_values(
        scan_cost=0.2, window_loss=0.3, delay_loss=0.1, surveillance_detection=0.2
    )
    table = class_utilities(params)
    cost = wait_costs(params, 6.0)

    def exact(k, p):
        """(value, value under recurrence) of acting optimally with k rescans left."""
        eu = {a: p * r + (1 - p) * n for a, (n, r) in table.items()}
        best = max(eu, key=eu.get)
        now = (eu[best], table[best][1])
        if k == 0:
            return now
        total = under_r = 0.0
        for f_r, f_n in zip(given_r, given_n, strict=True):
            marginal = p * f_r + (1 - p) * f_n
            value, later_r = exact(k - 1, p * f_r / marginal)
            total += marginal * value
            under_r += f_r * later_r
        rescan = (
            total
            - p * cost.window * under_r
            - p * (1 - cost.window) * cost.delay
            - params.scan_cost
        )
        carried = (1 - cost.window) * (under_r - cost.delay) - params.scan_cost
        return (rescan, carried) if rescan > now[0] + 1e-9 else now

    policy = rescan_policy(three_way, params, rounds=3)
    rescans = [(policy.action[k] == "rescan").sum() for k in range(4)]
    assert rescans[0] == 0 and 0 < rescans[1] < rescans[3]  # later rounds rescan more
    errors = np.array(
        [
            abs(policy.value[k, i] - exact(k, policy.p[i])[0])
            for i in range(0, len(policy.p), 20)
            for k in range(4)
        ]
    )
    # exact but for the odd P whose update lands on an action's switch point, where the grid
    # blends the two actions' values under recurrence; leaving out a carried cost moves dozens
    assert np.mean(errors > 1e-9) < 0.01 and errors.max() < 0.01


def test_a_symptomatic_lesion_waits_with_its_untreated_necrosis():
    """Symptomatic: treating the necrosis is open, and a rescan's wait costs an untreated
    necrosis S w / 6 as well; with a perfect rescan V_k = max(V_0, p (1 - window) (B - delay)
    + (1 - p) (V_0(0) - S w / 6) - scan cost)."""
    from model.decision.utilities import class_utilities

    context = LesionContext(symptomatic=True)
    params = BASE.with_values(
        scan_cost=0.05,
        delay_loss=0.2,
        window_loss=0.01,
        symptomatic_necrosis_loss=0.3,
        necrosis_treatment_harm=0.1,
    )
    policy = rescan_policy(perfect_rescan(3.0), params, rounds=2, context=context)
    assert "treat_necrosis" in set(policy.action[0]) and "rescan" in set(policy.action[1])
    at_zero = max(n for n, _ in class_utilities(params, context).values())
    assert policy.value[0][0] == pytest.approx(at_zero, abs=1e-12)
    p, window = policy.p, 1 - 0.99**0.5  # half a round
    waited = p * (1 - window) * (8.0 - 0.1) + (1 - p) * (at_zero - 0.15) - 0.05
    np.testing.assert_allclose(policy.value[1], np.maximum(policy.value[0], waited), atol=1e-9)


def test_the_interval_is_nan_where_the_action_is_not_a_rescan():
    policy = rescan_policy(perfect_rescan(6.0), BASE, rounds=2)
    assert policy.weeks.dtype == np.float64
    rescan = policy.action == "rescan"
    assert rescan.any() and np.isnan(policy.weeks[~rescan]).all()
    assert (policy.weeks[rescan] == 6.0).all()


def test_a_result_the_prior_rules_out_leaves_p_as_it_was():
    """The perfect rescan's densities are both 0 at no growth: there P is not updated."""
    from model.decision.policy import _rescan_step

    likelihood = perfect_rescan()
    p = np.linspace(0, 1, 5)
    updated, mass, conditional = _rescan_step(likelihood, p)
    none = likelihood.growth == 0
    np.testing.assert_array_equal(updated[:, none][:, 0], p)
    assert (mass[:, none] == 0).all()
    np.testing.assert_allclose(conditional[0], likelihood.density[1] * likelihood.weights)


def test_policy_by_delay_defaults_and_rows():
    """33 delay losses from 0 to the benefit by default; the rows of the asked number of
    rescans left only, numbered from 0; the context is passed on."""
    likelihood = perfect_rescan()
    table = policy_by_delay(likelihood, BASE)
    np.testing.assert_allclose(table["delay_loss"].unique(), np.linspace(0, 8, 33))
    assert list(table.index) == list(range(len(table)))
    two = policy_by_delay(likelihood, BASE, delays=[0.5], rescans_left=2)
    bands = rescan_policy(likelihood, BASE.with_values(delay_loss=0.5), rounds=2).bands
    expected = bands[bands["rescans_left"] == 2]
    assert two["action"].tolist() == expected["action"].tolist()
    one = policy_by_delay(likelihood, BASE, delays=[0.5])
    assert "rescan" in set(one["action"])  # rescans_left 1 by default, not the last round
    symptomatic = policy_by_delay(likelihood, BASE, delays=[0.5], context=LesionContext(True))
    assert "treat_necrosis" in set(symptomatic["action"])


def test_policy_by_delay_shows_one_rescan_left_by_default():
    """Where a second rescan changes the policy (a three-way rescan, later rounds rescan more),
    the default is the policy with one rescan left."""
    three_way = GrowthLikelihood(
        np.arange(3.0), np.ones(3), np.array([(0.02, 0.28, 0.70), (0.70, 0.25, 0.05)]), 6.0
    )
    params = BASE.with_values(
        scan_cost=0.2, window_loss=0.3, delay_loss=0.1, surveillance_detection=0.2
    )
    bands = rescan_policy(three_way, params, rounds=2).bands
    one, two = (bands[bands["rescans_left"] == k] for k in (1, 2))
    assert one["p_to"].tolist() != two["p_to"].tolist()
    default = policy_by_delay(three_way, params, delays=[0.1])
    np.testing.assert_allclose(default["p_to"], one["p_to"])
