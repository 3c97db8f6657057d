import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from model.core.errors import InputError
from model.decision import load_decision_parameters
from model.decision.utilities import (
    LesionContext,
    best_action,
    immediate_value,
    perfect_information_value,
)
from model.decision.value import (
    Preposterior,
    decide,
    preposterior,
    value_grid,
    with_value,
    without,
)
from model.scoring.predict import encode_patients, predict, score_tables

BASE = load_decision_parameters()
CLASSIC = BASE.with_values(delay_loss=BASE.benefit, surveillance_rounds=1)
"""The classic Pauker-Kassirer structure (L = B), where biopsy has a band."""


@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30),
    p_after=st.data(),
    b=st.floats(0.5, 40),
    h=st.floats(0.5, 40),
    r=st.floats(0, 8),
    se=st.floats(0, 1),
    sp=st.floats(0, 1),
    delay=st.floats(0, 8),
    rounds=st.integers(1, 4),
    symptomatic=st.booleans(),
    early=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_evpi_at_least_evsi_at_least_zero(
    weights, p_after, b, h, r, se, sp, delay, rounds, symptomatic, early
):
    weights = np.array(weights)
    if weights.sum() == 0:
        weights[0] = 1.0
    post = np.array(
        p_after.draw(st.lists(st.floats(0, 1), min_size=len(weights), max_size=len(weights)))
    )
    pre = Preposterior(np.arange(len(weights), dtype=float), weights / weights.sum(), post, post)
    try:
        params = BASE.with_values(
            benefit=b,
            harm=h,
            harm_early=2 * h,
            biopsy_harm=r,
            biopsy_sensitivity=se,
            biopsy_specificity=sp,
            delay_loss=delay,
            surveillance_rounds=rounds,
        )
    except InputError:  # watching a necrosis would cost more than treating it: refused
        assume(False)
    context = LesionContext(symptomatic, early)
    evsi = pre.evsi(params, context)
    now = float(immediate_value(pre.p_now, params, context))
    evpi = float(perfect_information_value(pre.p_now, params, context)) - now
    assert -1e-9 <= evsi <= evpi + 1e-9


def _examples_decided(fit, params=None) -> pd.DataFrame:
    """decide() on the bundled examples, indexed by patient (and lesion where there are several)."""
    from conftest import DATA

    table = decide(fit, DATA / "patients_example.csv", params)
    names = [
        pid if pd.isna(lid) else f"{pid}/{lid}"
        for pid, lid in zip(table["patient_id"], table["lesion_id"], strict=True)
    ]
    return table.set_index(pd.Index(names))


@pytest.fixture(scope="module")
def examples_decided(bundled_fit):
    return _examples_decided(bundled_fit)


@pytest.fixture(scope="module")
def decided_on_few_draws(few_draws_fit):
    return _examples_decided(few_draws_fit)


def test_pet_is_worth_most_in_the_gray_zone(examples_decided):
    t = examples_decided
    assert t.loc["EX3-grayzone-no-pet", "evsi_pet"] > 0.15
    assert t.loc["EX1-clear-recurrence", "evsi_pet"] < 0.01
    # a clear necrosis stays under surveillance whatever a PET shows: its PET is worth nothing
    assert 0 <= t.loc["EX2-clear-necrosis", "evsi_pet"] + 1e-12 < 1e-6
    assert np.isfinite(t.loc["EX3-grayzone-no-pet", "eu_pet"])
    assert np.isnan(t.loc["EX1-clear-recurrence", "eu_pet"])  # it has a PET: no referral option


def test_value_of_information_ordering_on_examples(examples_decided):
    from model.decision.thresholds import ACTIONS

    t = examples_decided
    for column in ("evsi_pet", "evsi_perfusion", "evsi_rescan"):
        assert (t[column].dropna() >= -1e-9).all()
    not_done = t["eu_pet"].notna()  # lesions without PET: EVSI of a PET <= EVPI
    assert (t.loc[not_done, "evsi_pet"] <= t.loc[not_done, "evpi"] + 1e-3).all()
    assert (t["evsi_rescan"].dropna() <= t.loc[t["evsi_rescan"].notna(), "evpi"] + 1e-3).all()
    expected = {
        "EX1-clear-recurrence": "treat",
        "EX2-clear-necrosis": "manage",
        "EX7-grayzone-two-rescans": "treat",
    }
    for pid, action in expected.items():
        assert t.loc[pid, "recommendation"] == action
    eu_columns = [f"eu_{a}" for a in ACTIONS]
    best = t[eu_columns].max(axis=1)
    for pid in t.index:
        assert t.loc[pid, f"eu_{t.loc[pid, 'recommendation']}"] == best[pid]


def test_preposterior_is_a_martingale_and_captures_the_mass(bundled_fit):
    from conftest import DATA

    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    pet = bundled_fit.registry["pet"]
    for i in (2, 5):
        base = without(lesions.subset([i]), "pet")
        pre = preposterior(
            base,
            score_tables(bundled_fit),
            len(bundled_fit.centers),
            bundled_fit.registry,
            lambda ls, y: with_value(ls, pet, "FET", y),
            value_grid(pet),
        )
        assert pre.grid_mass == pytest.approx(1.0, abs=1e-3)
        assert pre.grid_mass < 1.0  # the normals' tails beyond the plausible range are not on it
        assert pre.probability.sum() == pytest.approx(1.0)
        # the mean of P(R | y) over the predictive distribution is P(R) without the PET
        from model.likelihood.kernel import score

        p_without = score(
            base, score_tables(bundled_fit), len(bundled_fit.centers), bundled_fit.registry
        ).p_mean[0]
        assert pre.p_now == pytest.approx(p_without, abs=2e-4)


def test_a_lesion_of_a_patient_with_several_is_analysed_given_the_others(
    few_draws_fit, decided_on_few_draws
):
    """The preposterior of EX9's second lesion starts from its probability given the first
    lesion and the shared symptoms (the patient offset), and the patient's action is read at
    P(any lesion is recurrence)."""
    from conftest import DATA

    from model.decision.utilities import expected_utilities
    from model.likelihood.kernel import patient_offsets

    _, lesions = encode_patients(few_draws_fit, DATA / "patients_example.csv")
    tables, registry = score_tables(few_draws_fit), few_draws_fit.registry
    n_centers = len(few_draws_fit.centers)
    offsets = patient_offsets(lesions, tables, n_centers, registry)
    several = np.bincount(lesions.patient)[lesions.patient] > 1  # EX9's two lesions
    second = int(np.flatnonzero(several)[-1])
    assert np.all(offsets[~several] == 0) and np.all(offsets[second] != 0)
    pet = registry["pet"]

    def with_pet(offset=None):
        return preposterior(
            lesions.subset([second]),
            tables,
            n_centers,
            registry,
            lambda ls, y: with_value(ls, pet, "FET", y),
            value_grid(pet),
            offset,
        )

    pre, alone = with_pet(offsets[second]), with_pet()
    row = decided_on_few_draws.loc["EX9-two-lesions/L2-callosal"]
    assert pre.p_now == pytest.approx(row["p_recurrence"], abs=2e-4)
    assert abs(alone.p_now - pre.p_now) > 10 * 2e-4  # the sibling matters, beyond that tolerance
    symptomatic = LesionContext(symptomatic=True)  # EX9 has symptoms
    assert row["symptomatic"] and not row["early_window"]
    # decide() used the offset
    assert row["evsi_pet"] == pytest.approx(pre.evsi(BASE, symptomatic), rel=1e-9)
    assert abs(alone.evsi(BASE, symptomatic) - pre.evsi(BASE, symptomatic)) > 1e-3
    perfusion = registry["perfusion"]
    perfusion_study = preposterior(
        without(lesions.subset([second]), "perfusion"),
        tables,
        n_centers,
        registry,
        lambda ls, y: with_value(ls, perfusion, "DSC", y),
        value_grid(perfusion),
        offsets[second],
    )
    assert row["evsi_perfusion"] == pytest.approx(perfusion_study.evsi(BASE, symptomatic), 1e-9)
    # the robustness draws start from each posterior draw's P given the sibling, and weigh the
    # PET referral and the best rescan as decide() did
    from scipy.special import expit

    from model.decision.policy import RESCAN_INTERVALS
    from model.decision.robust import robustness
    from model.decision.value import GROWTH_GRID, with_rescan
    from model.likelihood.kernel import class_log_joint

    base = class_log_joint(lesions.subset([second]), tables, n_centers, registry)[0]
    p_draws = expit(base[:, 1] + offsets[second] - base[:, 0])
    assert p_draws.mean() == pytest.approx(row["p_recurrence"], abs=2e-3)
    rescans = [
        preposterior(
            lesions.subset([second]),
            tables,
            n_centers,
            registry,
            lambda ls, g, w=w: with_rescan(ls, g, w),
            GROWTH_GRID,
            offsets[second],
        )
        for w in RESCAN_INTERVALS
    ]
    waiting = {
        "pet": lambda v: pre.value_if_waiting(v, v.pet_delay_weeks, symptomatic) - v.pet_cost,
        "rescan": lambda v: max(
            r.value_if_waiting(v, w, symptomatic) - v.scan_cost
            for r, w in zip(rescans, RESCAN_INTERVALS, strict=True)
        ),
    }
    robust = robustness(
        row["recommendation"], row["p_recurrence"], p_draws, BASE, symptomatic, waiting
    )
    assert (row["p_best"], row["expected_loss"]) == (robust.p_best, robust.expected_loss)
    assert row["sensitive_to"] == robust.sensitive_to
    assert row["rescan_weeks"] == 4.0  # the shortest wait costs least
    for name in ("EX9-two-lesions/L1-frontal", "EX9-two-lesions/L2-callosal"):
        patient = decided_on_few_draws.loc[name]
        assert patient["p_patient_recurrence"] >= patient["p_recurrence"]
        eu = expected_utilities(patient["p_patient_recurrence"], BASE, symptomatic)
        assert patient["patient_action"] == max(eu, key=lambda a: float(eu[a]))


def test_flip_points_only_offer_what_would_change_the_action(decided_on_few_draws):
    """A lesion is never told what would make its current best action best, nor offered a PET
    result when it has one: EX7 (treat) gets no growth-to-treat flip, EX2 (manage) no TBR to
    manage, EX1 and EX4 (PET done) no TBR flip at all."""
    t = decided_on_few_draws
    for name, row in t.iterrows():
        situation = LesionContext(row["symptomatic"], row["early_window"])
        current = best_action(row["p_recurrence"], BASE, situation)
        if current == "treat":
            assert np.isnan(row["tbr_treat_at"]) and np.isnan(row["growth_treat_at"]), name
        if current == "manage":
            assert np.isnan(row["tbr_manage_below"]), name
            assert np.isnan(row["growth_manage_below"]), name
    for name in ("EX1-clear-recurrence", "EX4-grayzone-with-pet"):
        assert np.isnan(t.loc[name, ["tbr_treat_at", "tbr_manage_below"]].astype(float)).all()
    late = LesionContext()
    assert best_action(t.loc["EX7-grayzone-two-rescans", "p_recurrence"], BASE, late) == "treat"
    assert best_action(t.loc["EX2-clear-necrosis", "p_recurrence"], BASE, late) == "manage"
    assert np.isfinite(t.loc["EX7-grayzone-two-rescans", "growth_manage_below"])
    # EX3 is managed under surveillance now: only a result that would make it treated is offered
    assert np.isfinite(t.loc["EX3-grayzone-no-pet", "tbr_treat_at"])
    assert np.isnan(t.loc["EX3-grayzone-no-pet", "tbr_manage_below"])


def test_flip_points_agree_with_scoring(bundled_fit, examples_decided):
    """A FET TBR just above the gray-zone lesion's flip point puts P above the treatment
    threshold, one just below leaves it under (EX3: asymptomatic, late; biopsy is never best
    there, so one threshold, and its current action, managing, has no flip point of its own)."""
    from model.decision.thresholds import parameter_thresholds

    t = parameter_thresholds(BASE)
    assert not t.biopsy_ever_best
    record = _gray_zone_lesion()
    treat_at = examples_decided.loc["EX3-grayzone-no-pet", "tbr_treat_at"]
    high = predict(bundled_fit, {**record, "pet_tracer": "FET", "pet_tbr": treat_at * 1.03})[
        "p_recurrence"
    ][0]
    low = predict(bundled_fit, {**record, "pet_tracer": "FET", "pet_tbr": treat_at * 0.97})[
        "p_recurrence"
    ][0]
    assert high > t.treat > low


def test_decide_columns_are_their_formulas(few_draws_fit, decided_on_few_draws):
    """Each column of decide's table against its definition: the immediate utilities at the
    lesion's P in its context, EVPI, the ranking, and the costs of a rescan and a PET referral.
    Without window loss, and for a lesion without symptoms, waiting w weeks costs p delay w / 6
    under recurrence alone, so eu_rescan - evsi_rescan = V(p) - p delay w / 6 - scan cost, and
    likewise for the PET with its own delay and cost."""
    from model.decision.thresholds import ACTIONS
    from model.decision.utilities import expected_utilities

    t = decided_on_few_draws
    assert list(t.columns[:6]) == [
        "patient_id", "lesion_id", "p_recurrence", "under_bevacizumab", "symptomatic",
        "early_window",
    ]  # fmt: skip
    assert t.attrs == {
        "units": "quality-adjusted life-weeks",
        "pet_tracer": "FET",
        "perfusion_technique": "DSC",
    }
    assert t["symptomatic"].tolist() == [True, False, False, False, True, False, False, False,
                                         True, True, False]  # fmt: skip
    assert t["early_window"].tolist() == [False] * 5 + [True] + [False] * 5
    for name, row in t.iterrows():
        situation = LesionContext(row["symptomatic"], row["early_window"])
        p = row["p_recurrence"]
        eu = expected_utilities(p, BASE, situation)
        for action in ("manage", "biopsy", "treat", "resect", "treat_necrosis"):
            if action in eu:
                assert row[f"eu_{action}"] == float(eu[action]), (name, action)
            else:
                assert np.isnan(row[f"eu_{action}"]), (name, action)
        now = float(immediate_value(p, BASE, situation))
        perfect = float(perfect_information_value(p, BASE, situation))
        assert row["evpi"] == pytest.approx(perfect - now, abs=1e-12)
        options = row[[f"eu_{a}" for a in ACTIONS]].astype(float)
        ranked = options.dropna().sort_values()
        assert row["recommendation"] == ranked.index[-1].removeprefix("eu_"), name
        assert row["margin"] == pytest.approx(ranked.iloc[-1] - ranked.iloc[-2], abs=1e-12)
        if row["symptomatic"]:
            assert row["eu_treat_necrosis"] > row["eu_manage"] - BASE.symptomatic_necrosis_loss
    assert set(t["rescan_weeks"].dropna()) <= {4.0, 6.0, 8.0, 12.0}
    assert t["p_best"].between(0, 1).all() and (t["expected_loss"] >= 0).all()
    # a clear recurrence is treated whatever the utilities: sure, and nothing to lose
    clear = t.loc["EX1-clear-recurrence"]
    assert (clear["p_best"], clear["expected_loss"]) == (1.0, 0.0)
    # near the treatment threshold the choice is a coin toss, and the harm decides it
    near = t.loc["EX4-grayzone-with-pet"]
    assert near["p_best"] < 0.6 and "harm" in near["sensitive_to"]
    open_window = BASE.with_values(window_loss=0.0, delay_loss=2.5)
    calm = _examples_decided(few_draws_fit, open_window)
    calm = calm[~calm["symptomatic"]]
    p = calm["p_recurrence"].to_numpy()
    now = np.array(
        [
            float(immediate_value(x, open_window, LesionContext(early=early)))
            for x, early in zip(p, calm["early_window"], strict=True)
        ]
    )
    rescan = calm["eu_rescan"] - calm["evsi_rescan"]
    weeks = calm["rescan_weeks"].to_numpy()
    waited = now - p * 2.5 * weeks / 6 - open_window.scan_cost
    np.testing.assert_allclose(rescan, waited, atol=1e-9)
    referred = calm["eu_pet"].notna()
    assert referred.sum() >= 2
    pet = (calm["eu_pet"] - calm["evsi_pet"])[referred]
    delay = 2.5 * open_window.pet_delay_weeks / 6
    # the PET's pre-posterior starts from its grid's P, within 2e-4 of the reported one
    np.testing.assert_allclose(
        pet, (now - p * delay - open_window.pet_cost)[referred.to_numpy()], atol=2e-4
    )


def test_preposterior_summaries_by_hand():
    """p_now, E[V after], EVSI and the plausible band of a five-point predictive distribution."""
    probability = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    p_after = np.array([0.0, 0.1, 0.3, 0.6, 1.0])
    pre = Preposterior(np.arange(5.0), probability, p_after, p_after)
    assert pre.p_now == pytest.approx(0.02 + 0.12 + 0.12 + 0.1)
    after = immediate_value(p_after, BASE)
    assert pre.expected_value(BASE) == pytest.approx(float(probability @ after), abs=1e-12)
    assert pre.evsi(BASE) == pytest.approx(
        float(probability @ after) - float(immediate_value(0.36, BASE)), abs=1e-12
    )
    # cdf 0.1 0.3 0.7 0.9 1.0: with tail 0.15 the first and last points fall outside
    np.testing.assert_array_equal(pre.plausible(0.15), [False, True, True, True, False])
    np.testing.assert_array_equal(pre.plausible(0.09), [True, True, True, True, True])
    dyadic = Preposterior(np.arange(5.0), np.array([1, 2, 2, 2, 1]) / 8, p_after, p_after)
    np.testing.assert_array_equal(dyadic.plausible(0.125), [True] * 5)  # bounds are inclusive
    tiny = Preposterior(np.arange(3.0), np.array([4e-4, 0.9992, 4e-4]), p_after[:3], p_after[:3])
    np.testing.assert_array_equal(tiny.plausible(), [False, True, False])  # default tail 5e-4
    edge = Preposterior(np.arange(3.0), np.array([6e-4, 0.9988, 6e-4]), p_after[:3], p_after[:3])
    np.testing.assert_array_equal(edge.plausible(), [True, True, True])


def test_flip_points_by_brute_force():
    """Results 0..20 whose reported P rises with the result, except a dip: scanning down, treat's
    top run starts where the first non-treat result from the top sits, and managing is first best
    below it; both are given on the natural scale, each suppressed when it is the current action."""
    from model.decision.utilities import expected_utilities
    from model.decision.value import _flips

    LATE = LesionContext()
    values = np.log(np.linspace(1.0, 3.0, 21))
    p_reported = np.linspace(0.05, 0.95, 21)
    p_reported[17] = 0.5  # a dip inside the treat region: biopsy best there
    pre = Preposterior(values, np.full(21, 1 / 21), p_reported, p_reported)
    eu = expected_utilities(p_reported, CLASSIC)
    best = np.array(list(eu))[np.argmax(np.stack(list(eu.values())), axis=0)]
    assert best[17] == "biopsy" and best[-1] == "treat" and best[0] == "manage"
    top = 20
    while best[top - 1] == "treat":
        top -= 1
    treat_at = np.exp(values[top])
    assert top == 18
    below = max(i for i in range(top) if best[i] == "manage")
    manage_below = np.exp(values[below])
    assert _flips(pre, CLASSIC, LATE, np.exp, "biopsy") == (pytest.approx(treat_at), manage_below)
    assert np.isnan(_flips(pre, CLASSIC, LATE, np.exp, "treat")[0])
    assert np.isnan(_flips(pre, CLASSIC, LATE, np.exp, "manage")[1])
    assert _flips(pre, CLASSIC, LATE, np.expm1, "biopsy")[0] == pytest.approx(np.expm1(values[top]))
    no_treat = Preposterior(values, np.full(21, 1 / 21), p_reported / 4, p_reported / 4)
    assert np.isnan(_flips(no_treat, CLASSIC, LATE, np.exp, "biopsy")[0])
    all_treat = Preposterior(values, np.full(21, 1 / 21), np.full(21, 0.99), np.full(21, 0.99))
    treat_from, manage_from = _flips(all_treat, CLASSIC, LATE, np.exp, "biopsy")
    assert treat_from == 1.0 and np.isnan(manage_from)  # every result treats: from the lowest
    only_top = np.where(np.arange(21) == 20, 0.99, 0.5)  # biopsy everywhere but the top
    top_only = Preposterior(values, np.full(21, 1 / 21), only_top, only_top)
    assert _flips(top_only, CLASSIC, LATE, np.exp, "biopsy")[0] == pytest.approx(3.0)


def test_observations_are_added_where_they_belong(bundled_fit):
    from conftest import DATA

    from model.decision.value import GRID_POINTS, with_rescan
    from model.inputs.encode import NONE, VALUE
    from model.inputs.vocabulary import MAX_FOLLOW_UPS

    pet = bundled_fit.registry["pet"]
    low, high = pet.physiological_range
    np.testing.assert_array_equal(
        value_grid(pet), np.linspace(np.log(low), np.log(high), GRID_POINTS)
    )
    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    two = lesions.subset([2, 2])
    added = with_value(two, pet, "MET", np.log([1.5, 2.5])).evidence["pet"]
    np.testing.assert_array_equal(added.state, [VALUE, VALUE])
    np.testing.assert_array_equal(added.kind, [pet.kind_names.index("MET")] * 2)
    np.testing.assert_allclose(added.value, np.log([1.5, 2.5]))
    assert (without(two, "pet").evidence["pet"].state == NONE).all()
    # the arrays keep the encoder's types (numba compiles the kernels for them)
    encoded = two.evidence["pet"]
    for changed in (
        with_value(two, pet, "MET", np.array([1, 2])).evidence["pet"],  # integer logs too
        without(two, "pet").evidence["pet"],
    ):
        assert [a.dtype for a in changed] == [a.dtype for a in encoded]
    slot = int(two.growth_mask[0].sum())
    grown = with_rescan(two, np.array([0.1, -0.2]), 7.0)
    np.testing.assert_array_equal(grown.growth[:, slot], [0.1, -0.2])
    np.testing.assert_array_equal(grown.growth_weeks[:, slot], [7.0, 7.0])
    assert (grown.growth_mask[:, slot] == 1).all() and grown.growth_mask[:, slot + 1 :].sum() == 0
    np.testing.assert_array_equal(grown.growth[:, :slot], two.growth[:, :slot])
    full = two
    for _ in range(MAX_FOLLOW_UPS - slot):
        full = with_rescan(full, np.zeros(2), 6.0)
    with pytest.raises(ValueError, match=f"at most {MAX_FOLLOW_UPS} follow-up scans"):
        with_rescan(full, np.zeros(2), 6.0)


def test_decide_refuses_a_kind_the_fit_lacks(bundled_fit):
    from conftest import DATA

    known = r"pet kind must be one of the fit's \(.*FET.*\), not 'XYZ'"
    with pytest.raises(ValueError, match=known):
        decide(bundled_fit, DATA / "patients_example.csv", pet_tracer="XYZ")
    with pytest.raises(ValueError, match=r"^perfusion kind must be one of"):
        decide(bundled_fit, DATA / "patients_example.csv", perfusion_technique="XYZ")


def _gray_zone_lesion() -> dict:
    """EX3 of the bundled examples (gray-zone perfusion, no PET) as a record."""
    from conftest import DATA

    table = pd.read_csv(DATA / "patients_example.csv", dtype=str, keep_default_na=False)
    return {k: v for k, v in table.iloc[2].items() if v != ""}


def test_decide_refuses_bevacizumab_by_default_and_uses_the_parameters_given(few_draws_fit):
    from dataclasses import replace

    from model.core.errors import InputError
    from model.decision.utilities import expected_utilities

    lesion = _gray_zone_lesion()
    treated = {**lesion, "bevacizumab_last_dose_weeks": "2"}
    with pytest.raises(InputError, match="bevacizumab"):
        decide(few_draws_fit, treated)
    other = {**lesion, "patient_id": "OTHER"}
    allowed = decide(few_draws_fit, [treated, other], allow_bevacizumab=True)
    assert allowed["under_bevacizumab"].tolist() == [True, False]
    generous = replace(BASE, benefit=2 * BASE.benefit)
    row = decide(few_draws_fit, lesion, generous).iloc[0]
    eu = expected_utilities(row["p_recurrence"], generous)
    assert row["eu_treat"] == pytest.approx(float(eu["treat"]))
    assert row["eu_treat"] != pytest.approx(
        float(expected_utilities(row["p_recurrence"], BASE)["treat"])
    )
    message = r"^pet kind must be one of the fit's \(MET, FET, DOPA, FDG\), not 'XYZ'$"
    with pytest.raises(ValueError, match=message):
        decide(few_draws_fit, lesion, pet_tracer="XYZ")


def test_decide_refuses_a_pet_referral_the_fit_cannot_score(fit_without_pet):
    lesion = _gray_zone_lesion()
    with pytest.raises(
        ValueError, match=r"^pet kind must be one of the fit's \(none\), not 'FET'$"
    ):
        decide(fit_without_pet, lesion)


def test_decide_thins_to_evenly_spaced_draws_with_the_first_and_last(few_draws_fit):
    """``n_draws=k`` analyses draws round(linspace(0, S - 1, k)) of the chain-major sample: the
    value-of-information columns equal those of a fit made of exactly those draws."""
    from model.fitting.sampling import Fit

    k = 7
    kept = np.linspace(0, few_draws_fit.draws.n_draws - 1, k).round().astype(int)
    flat = few_draws_fit.posterior.stack(sample=("chain", "draw")).isel(sample=kept)
    posterior = (
        flat.drop_vars(["sample", "chain", "draw"])
        .rename(sample="draw")
        .expand_dims(chain=[0])
        .assign_coords(draw=np.arange(k))
        .transpose("chain", "draw", ...)
    )
    thinned = Fit(posterior, few_draws_fit.sample_stats, few_draws_fit.provenance)
    lesion = _gray_zone_lesion()
    got = decide(few_draws_fit, lesion, n_draws=k).iloc[0]
    expected = decide(thinned, lesion, n_draws=None).iloc[0]
    columns = ["evsi_pet", "evsi_perfusion", "evsi_rescan", "tbr_treat_at", "tbr_manage_below"]
    np.testing.assert_allclose(got[columns].astype(float), expected[columns].astype(float))
    assert got["evsi_pet"] != decide(few_draws_fit, lesion, n_draws=k + 1).iloc[0]["evsi_pet"]


def test_decide_thins_to_1000_draws_by_default(bundled_fit):
    from model.fitting.sampling import Fit

    fit = Fit(
        bundled_fit.posterior.isel(draw=slice(0, 300)),
        bundled_fit.sample_stats,
        bundled_fit.provenance,
    )  # 1,200 draws
    lesion = _gray_zone_lesion()
    default = decide(fit, lesion)
    pd.testing.assert_frame_equal(default, decide(fit, lesion, n_draws=1000), check_exact=True)
    assert default["evsi_pet"].iloc[0] != decide(fit, lesion, n_draws=None)["evsi_pet"].iloc[0]


def test_decide_table_columns_a_lesion_without_a_follow_up_slot_and_the_perfusion_study(
    few_draws_fit,
):
    """The whole column list; a lesion with every follow-up slot used gets no rescan option;
    the perfusion study's EVSI is its own preposterior, recomputed here."""
    from dataclasses import replace

    from model.decision.utilities import immediate_value
    from model.inputs.vocabulary import MAX_FOLLOW_UPS
    from model.likelihood.kernel import patient_offsets

    assert MAX_FOLLOW_UPS == 3
    gray = _gray_zone_lesion()
    full = {
        **gray, "patient_id": "FULL", "volume_baseline_ml": "3.0", "volume_fu1_ml": "3.1",
        "interval_fu1_weeks": "6", "volume_fu2_ml": "3.0", "interval_fu2_weeks": "6",
        "volume_fu3_ml": "3.2", "interval_fu3_weeks": "6",
    }  # fmt: skip
    # the default delay 1.0 would hide p * loss against p / loss; no window loss, so waiting
    # costs the asymptomatic lesion its delay alone
    params = replace(BASE, delay_loss=2.5, window_loss=0.0)
    table = decide(few_draws_fit, [gray, full], params)
    assert table.columns.tolist() == [
        "patient_id", "lesion_id", "p_recurrence", "under_bevacizumab", "symptomatic",
        "early_window", "eu_manage", "eu_biopsy", "eu_treat", "eu_resect", "eu_treat_necrosis",
        "evsi_pet", "eu_pet", "tbr_treat_at", "tbr_manage_below", "evsi_perfusion",
        "rescan_weeks", "eu_rescan", "evsi_rescan", "growth_treat_at", "growth_manage_below",
        "recommendation", "margin", "evpi", "p_best", "expected_loss", "sensitive_to",
        "p_patient_recurrence", "patient_action",
    ]  # fmt: skip
    rescan_columns = ["rescan_weeks", "evsi_rescan", "eu_rescan", "growth_treat_at",
                      "growth_manage_below"]  # fmt: skip
    no_slot = table.iloc[1][rescan_columns]
    assert no_slot.astype(float).isna().all()
    alone = decide(few_draws_fit, [full], params)  # NaN, not None, even with no other row
    assert (alone[rescan_columns].dtypes == np.float64).all()
    assert alone[rescan_columns].isna().all(axis=None)
    assert np.isfinite(table.iloc[0][["evsi_rescan", "eu_rescan"]].astype(float)).all()
    # eu_rescan - evsi_rescan = the immediate value now, less the scan's cost and delay
    p, weeks = table.iloc[0]["p_recurrence"], table.iloc[0]["rescan_weeks"]
    rescan = table.iloc[0]["eu_rescan"] - table.iloc[0]["evsi_rescan"]
    costs = params.scan_cost + p * params.delay_loss * weeks / params.rescan_weeks
    assert rescan == pytest.approx(float(immediate_value(p, params)) - costs, abs=1e-9)
    _, lesions = encode_patients(few_draws_fit, [gray])
    tables, registry = score_tables(few_draws_fit), few_draws_fit.registry
    offset = patient_offsets(lesions, tables, len(few_draws_fit.centers), registry)[0]
    perfusion = registry["perfusion"]
    study = preposterior(
        without(lesions, "perfusion"),
        tables,
        len(few_draws_fit.centers),
        registry,
        lambda ls, y: with_value(ls, perfusion, "DSC", y),
        value_grid(perfusion),
        offset,
    )
    assert table.iloc[0]["evsi_perfusion"] == pytest.approx(study.evsi(params), rel=1e-9)


def test_waiting_prices_a_symptomatic_necrosis_and_rounding_never_makes_evsi_negative():
    """value_if_waiting in a symptomatic context charges the untreated necrosis S w / 6 (by
    hand, with a two-point predictive distribution); an EVSI that rounding would make a
    hair below zero is reported as 0."""
    from model.decision.utilities import best_by_class, wait_costs

    context = LesionContext(symptomatic=True)
    p_after, mass = np.array([0.1, 0.9]), np.array([0.5, 0.5])
    pre = Preposterior(np.arange(2.0), mass, p_after, p_after)
    costs = wait_costs(BASE, 12.0, context)
    necrosis, recurrence = best_by_class(p_after, BASE, context)
    hand = float(
        np.sum(
            mass
            * (
                p_after * (1 - costs.window) * (recurrence - costs.delay)
                + (1 - p_after) * (necrosis - costs.necrosis)
            )
        )
    )
    assert costs.necrosis == 2.0
    assert pre.value_if_waiting(BASE, 12.0, context) == pytest.approx(hand, rel=1e-12)
    assert pre.value_if_waiting(BASE, 12.0) != pytest.approx(hand, rel=1e-6)
    flat = Preposterior(np.arange(3.0), np.full(3, 1 / 3), np.full(3, 0.13), np.full(3, 0.13))
    raw = flat.expected_value(BASE) - float(immediate_value(flat.p_now, BASE))
    assert raw < 0 and raw > -1e-12  # a third sums to 0.9999999999999999
    assert flat.evsi(BASE) == 0.0


def test_an_unknown_time_since_radiotherapy_counts_as_late(few_draws_fit):
    lesion = {k: v for k, v in _gray_zone_lesion().items() if k != "months_since_rt"}
    row = decide(few_draws_fit, lesion, n_draws=50).iloc[0]
    assert not row["early_window"]
    early = decide(few_draws_fit, {**lesion, "months_since_rt": "2"}, n_draws=50).iloc[0]
    assert early["early_window"]


@pytest.mark.parametrize(
    ("values", "action"),
    [
        ({"pet_cost": 0.0, "pet_delay_weeks": 1.0}, "pet"),
        (
            {
                "surveillance_detection": 0.05,
                "window_loss": 0.2,
                "delay_loss": 0.1,
                "scan_cost": 0.0,
                "pet_cost": 1.0,
                "biopsy_harm": 3.0,
            },
            "rescan",
        ),
    ],
)
def test_a_waiting_action_recommended_has_its_robustness(few_draws_fit, values, action):
    """A free, one-week PET; or surveillance that rarely finds a recurrence while the window
    closes fast, with PET and biopsy dear: the gray-zone lesion is best referred, or rescanned,
    and the robustness draws weigh that action under its own name."""
    row = decide(few_draws_fit, _gray_zone_lesion(), BASE.with_values(**values), n_draws=100)
    row = row.iloc[0]
    assert row["recommendation"] == action
    assert 0 < row["p_best"] < 1 and row["expected_loss"] > 0


def test_flip_points_are_read_in_the_lesions_context():
    """A symptomatic lesion's flip points come from its own utilities (treating the necrosis
    open, untreated symptoms priced): brute force over the same results, and they differ
    from an asymptomatic lesion's."""
    from model.decision.utilities import expected_utilities
    from model.decision.value import NECROSIS_ARM, _flips

    values = np.log(np.linspace(1.0, 3.0, 41))
    p_reported = np.linspace(0.02, 0.98, 41)
    pre = Preposterior(values, np.full(41, 1 / 41), p_reported, p_reported)
    symptomatic = LesionContext(symptomatic=True)
    eu = expected_utilities(p_reported, CLASSIC, symptomatic)
    best = np.array(list(eu))[np.argmax(np.stack(list(eu.values())), axis=0)]
    top = 40
    while best[top - 1] == "treat":
        top -= 1
    below = max(i for i in range(top) if best[i] in NECROSIS_ARM)
    got = _flips(pre, CLASSIC, symptomatic, np.exp, "biopsy")
    assert got == (pytest.approx(np.exp(values[top])), pytest.approx(np.exp(values[below])))
    assert got != _flips(pre, CLASSIC, LesionContext(), np.exp, "biopsy")
