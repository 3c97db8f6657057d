"""Answers a neuro-oncologist can defend: monotone in the evidence, bounded, on the bundled fit.

For every registered marker, kind, center (each training center and a new one) and posterior draw:
P(recurrence) never moves against the marker's declared direction anywhere in its physiological
range, with the other evidence held fixed; likewise for growth at a rescan, for reads and for
binary tests; and no single measurement moves the log-odds by more than its stated bound.
"""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.core.files import bundled
from model.inputs.encode import READ, VALUE, Evidence, encode
from model.inputs.reading import cohort_from_records
from model.likelihood.kernel import class_log_joint, score
from model.modalities.spec import Marker
from model.scoring.curves import growth_llr_curve, llr_curve, natural_grid
from model.scoring.predict import predict, score_tables

GRID = 400
WEIGHTS = (0.0, 0.4, 1.0)
"""Pseudoprogression-window weights: long after radiotherapy, part-way, at its end."""
GROWTH_RANGE = (0.05, 20.0)
"""Volume ratio between two scans seen in patients: shrinking to 5% to growing twentyfold."""


def markers(fit):
    return [(slot, m) for slot, m in enumerate(fit.registry) if isinstance(m, Marker)]


def test_every_marker_curve_is_monotone_and_bounded_for_every_center_and_draw(bundled_fit):
    tables = score_tables(bundled_fit)
    checked = 0
    for slot, marker in markers(bundled_fit):
        values = natural_grid(marker, GRID)
        bound = marker.llr_bound(float(tables.moments.misread[slot]))
        for kind in marker.kind_names:
            # every center and a new one, after, part-way into and within the window
            for center, early in itertools.product(range(len(bundled_fit.centers) + 1), WEIGHTS):
                llr = llr_curve(tables, bundled_fit.registry, kind, center, values, early)
                steps = marker.direction * np.diff(llr, axis=1)  # (S, G - 1)
                assert steps.min() >= -1e-12, (kind, center, early)
                assert np.abs(llr).max() <= bound + 1e-9, (kind, center, early)
                checked += llr.shape[0]
    assert checked >= 4000 * 5 * 9 * len(WEIGHTS)


def test_pseudoprogression_window_weakens_perfusion_and_leaves_pet_alone(bundled_fit):
    """Within 12 weeks of radiotherapy a treatment effect looks more like tumour on perfusion.

    At each draw's gray-zone value after the window (likelihood ratio 1), the same value inside
    the window points to necrosis; a lesion with high perfusion gets a smaller perfusion term
    early, and PET, which declares no early shift, reads the same in both windows.
    """
    tables = score_tables(bundled_fit)
    n_centers = len(bundled_fit.centers)
    shifted = 0
    for _, marker in markers(bundled_fit):
        values = natural_grid(marker, GRID)
        for kind in marker.kind_names:
            for center in range(n_centers + 1):
                late = llr_curve(tables, bundled_fit.registry, kind, center, values)
                early = llr_curve(tables, bundled_fit.registry, kind, center, values, 1.0)
                if not marker.early_shift:
                    np.testing.assert_array_equal(early, late)
                    continue
                gray = np.abs(late).argmin(axis=1)  # (S,)
                inside = (gray > 0) & (gray < GRID - 1)
                at_gray = early[np.arange(len(gray)), gray]
                assert inside.all() and (marker.direction * at_gray < 0).all(), kind
                shifted += 1
    assert shifted == 2 * (n_centers + 1)  # perfusion: DSC and ASL

    def lesion(months):
        return {
            "center": bundled_fit.centers[0],
            "perfusion_technique": "DSC",
            "perfusion_ratio": 2.4,
            "pet_tracer": "FET",
            "pet_tbr": 2.2,
            "months_since_rt": months,
        }

    result = predict(bundled_fit, [{"patient_id": f"m{m}", **lesion(m)} for m in (1.0, 12.0)])
    early, late = result.iloc[0], result.iloc[1]
    assert 0 < early["llr_perfusion"] < late["llr_perfusion"] - 0.3
    assert early["llr_pet"] == pytest.approx(late["llr_pet"], abs=1e-12)


def test_time_since_radiotherapy_moves_the_answer_smoothly_and_one_way(bundled_fit):
    """No step at 12 weeks: a day either side of the window's midpoint gives nearly the same
    answer, and over the first year each term moves one way only.

    Long after radiotherapy pseudoprogression is gone, so the prior favours recurrence more
    (``prevalence.early`` < 0) and raised perfusion counts more (the early shift); both change
    monotonically with the window weight, which falls with time.
    """
    midpoint = bundled_fit.early_window_months
    months = np.concatenate([np.linspace(0.25, 12.0, 48), midpoint + np.array([-1, 1]) / 30.4])
    records = [
        {
            "patient_id": f"t{i}",
            "center": bundled_fit.centers[1],
            "perfusion_technique": "DSC",
            "perfusion_ratio": 2.4,
            "months_since_rt": float(m),
        }
        for i, m in enumerate(months)
    ]
    result = predict(bundled_fit, records)
    grid = result.iloc[:48]
    for column in ("prior_log_odds", "llr_perfusion", "p_recurrence"):
        assert (np.diff(grid[column].to_numpy()) > 0).all(), column
    day_before, day_after = result.iloc[48], result.iloc[49]
    assert abs(day_after["p_recurrence"] - day_before["p_recurrence"]) < 0.01
    assert abs(day_after["llr_perfusion"] - day_before["llr_perfusion"]) < 0.02


@pytest.mark.parametrize("weeks", [4.0, 6.0, 8.0, 12.0])
def test_growth_is_monotone_and_bounded_for_every_draw(bundled_fit, weeks):
    ratios = np.exp(np.linspace(*np.log(GROWTH_RANGE), GRID))
    llr = growth_llr_curve(bundled_fit.draws, ratios, weeks)
    assert np.diff(llr, axis=1).min() >= -1e-12
    e = bundled_fit.draws.growth_misread
    assert np.abs(llr).max() <= np.log((1 - e) / e) + 1e-9


def context_strategy(fit):
    """Other evidence of a lesion: any state of each modality, symptoms, covariates, a rescan."""
    states = {}
    for marker in fit.registry:
        if isinstance(marker, Marker):
            options = [None, *((VALUE, j) for j in range(len(marker.kinds)))]
            if marker.has_reads:
                options += [(READ, j) for j in range(len(marker.kinds))]
        else:
            options = [None, (READ, 0)]
        states[marker.name] = st.sampled_from(options)
    return st.fixed_dictionaries(
        {
            "center": st.integers(0, len(fit.centers)),  # the last is a new center
            "states": st.fixed_dictionaries(states),
            "position": st.floats(0.0, 1.0),
            "sign": st.sampled_from([-1.0, 1.0]),
            "symptoms": st.lists(st.sampled_from([0, 1, 2]), min_size=4, max_size=4),
            "early": st.one_of(st.none(), st.floats(0.0, 1.0)),  # None: time unknown
            "growth": st.one_of(st.none(), st.floats(-1.5, 1.5)),
        }
    )


def lesions_varying(fit, base, context, vary, kind, log_values):
    """Copies of one lesion whose marker ``vary`` takes each log value; the rest held fixed."""
    n = len(log_values)
    lesions = base.subset(np.zeros(n, dtype=int))
    center = context["center"]
    lesions = type(lesions)(
        **{
            **lesions.__dict__,
            "center": np.full(n, -1 if center == len(fit.centers) else center),
            "x_early": np.full(n, 0.0 if context["early"] is None else context["early"] - 0.5),
            "early_weight": np.full(n, context["early"] or 0.0),
        }
    )
    for marker in fit.registry:
        state = context["states"][marker.name]
        if marker.name == vary:
            evidence = Evidence(np.full(n, VALUE), np.full(n, kind), log_values, np.zeros(n))
        elif state is None:
            evidence = Evidence(np.zeros(n, int), np.zeros(n, int), np.zeros(n), np.zeros(n))
        else:
            low, high = np.log(getattr(marker, "physiological_range", (1.0, 1.0)))
            value = low + context["position"] * (high - low)
            evidence = Evidence(
                np.full(n, state[0]),
                np.full(n, state[1]),
                np.full(n, value),
                np.full(n, context["sign"] if state[0] == READ else 0.0),
            )
        lesions = lesions.with_evidence(marker.name, evidence)
    yes = np.array([[s == 1 for s in context["symptoms"]]] * n, float)
    no = np.array([[s == 0 for s in context["symptoms"]]] * n, float)
    growth = np.zeros_like(lesions.growth)
    mask = np.zeros_like(lesions.growth_mask)
    weeks = np.zeros_like(lesions.growth_weeks)
    if context["growth"] is not None:
        growth[:, 0], mask[:, 0], weeks[:, 0] = context["growth"], 1.0, 6.0
    return type(lesions)(
        **{
            **lesions.__dict__,
            "symptom_yes": yes,
            "symptom_no": no,
            "growth": growth,
            "growth_mask": mask,
            "growth_weeks": weeks,
        }
    )


@pytest.fixture(scope="module")
def base_lesion(bundled_fit):
    cohort = cohort_from_records([{"patient_id": "x", "center": bundled_fit.centers[0]}])
    return encode(cohort, bundled_fit.centers, bundled_fit.parameters)


def test_probability_is_monotone_in_each_marker_with_the_other_evidence_fixed(
    bundled_fit, base_lesion
):
    """End to end through the scorer, every posterior draw, random contexts of other evidence."""
    tables = score_tables(bundled_fit).select(slice(None, None, 4))  # 1,000 draws
    fit = bundled_fit

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(context=context_strategy(fit), data=st.data())
    def check(context, data):
        slot, marker = data.draw(st.sampled_from(markers(fit)))
        kind = data.draw(st.integers(0, len(marker.kinds) - 1))
        values = np.log(natural_grid(marker, 120))
        lesions = lesions_varying(fit, base_lesion, context, marker.name, kind, values)
        p = score(lesions, tables, len(fit.centers), fit.registry, keep_draws=True).p_draws
        steps = marker.direction * np.diff(p, axis=0)  # (G - 1, S)
        assert steps.min() >= -1e-12, (marker.name, kind, context)

    check()


def test_a_positive_result_raises_the_probability_for_every_draw(bundled_fit):
    tables = score_tables(bundled_fit)
    for slot, modality in enumerate(bundled_fit.registry):
        if isinstance(modality, Marker):
            continue
        rows = tables.binary[slot]  # (result, class, S)
        assert np.all(rows[1, 1] - rows[1, 0] > rows[0, 1] - rows[0, 0]), modality.name


@pytest.mark.parametrize("kind", ["DSC", "FET"])
def test_reads_point_the_right_way_and_strengthen_with_the_cutoff(bundled_fit, kind):
    marker = next(m for m in bundled_fit.registry.markers if kind in m.kind_names)
    cutoffs = natural_grid(marker, 30)
    records = [
        {
            "patient_id": f"{read}{c}",
            "center": bundled_fit.centers[0],
            marker.kind_column: kind,
            marker.read_column: read,
            marker.read_cutoff_column: float(c),
        }
        for read in ("positive", "negative")
        for c in cutoffs
    ]
    p = predict(bundled_fit, pd.DataFrame(records))["p_recurrence"].to_numpy().reshape(2, -1)
    positive, negative = p
    assert np.all(positive > negative)
    # a positive read at a higher cutoff (a negative one at a lower cutoff) says more
    assert np.all(marker.direction * np.diff(positive) >= -1e-12)
    assert np.all(marker.direction * np.diff(negative) >= -1e-12)


def example(fit, **fields):
    return predict(fit, {"patient_id": "x", **fields}).iloc[0]


def test_a_colder_fet_lesion_is_not_more_likely_recurrence(bundled_fit):
    fet_center = next(c for c in bundled_fit.centers if c in _centers_with(bundled_fit, "FET"))
    cold = example(bundled_fit, center=fet_center, pet_tracer="FET", pet_tbr=0.5)
    warmer = example(bundled_fit, center=fet_center, pet_tracer="FET", pet_tbr=1.3)
    assert cold["p_recurrence"] <= warmer["p_recurrence"]


def test_a_shrinking_lesion_is_less_likely_recurrence_than_a_stable_one(bundled_fit):
    shrinking = example(
        bundled_fit,
        center="C01",
        volume_baseline_ml=5.0,
        volume_fu1_ml=1.0,
        interval_fu1_weeks=6,
    )
    stable = example(
        bundled_fit, center="C01", volume_baseline_ml=5.0, volume_fu1_ml=5.0, interval_fu1_weeks=6
    )
    assert shrinking["p_recurrence"] < stable["p_recurrence"]


def test_one_extreme_rcbv_cannot_make_recurrence_certain(bundled_fit):
    for center in (*bundled_fit.centers, "a new center"):
        row = example(bundled_fit, center=center, perfusion_technique="DSC", perfusion_ratio=10.0)
        assert row["p_recurrence"] < 0.999
        bound = bundled_fit.registry["perfusion"].llr_bound(
            bundled_fit.parameters.value("modality.perfusion.misread")
        )
        assert row["llr_perfusion"] <= bound


def _centers_with(fit, kind):
    counts = fit.provenance["cohort"]["imaging_counts"][kind]
    return [c for c, n in counts.items() if n > 0]


def _examples():
    table = pd.read_csv(bundled("patients_example.csv"), dtype=str, keep_default_na=False)
    return {
        row["patient_id"][:3]: {k: v for k, v in row.items() if v} for _, row in table.iterrows()
    }


def test_symptomatic_necrosis_with_edema_is_not_pushed_towards_recurrence(bundled_fit):
    """EX5: low perfusion, every symptom, large edema in eloquent cortex. Its symptoms come from
    the edema, so P(recurrence) stays low; the same symptoms with small edema and high perfusion
    stay high."""
    ex5 = _examples()["EX5"]
    assert float(ex5["edema_ratio"]) >= 8 and float(ex5["perfusion_ratio"]) < 1.0
    assert example(bundled_fit, **ex5)["p_recurrence"] < 0.3
    hot = {**ex5, "perfusion_ratio": "2.6", "edema_ratio": "0.8", "eloquent_location": "no"}
    assert example(bundled_fit, **hot)["p_recurrence"] > 0.9


def test_five_symptoms_together_carry_a_likelihood_ratio_within_the_published_interval(
    bundled_fit,
):
    """All four symptom items and a steroid increase, context unknown: their likelihood ratio
    lies inside the 95% CI of the odds ratio of clinical decline or steroid increase, 1.003 to
    19.27 (Rowe LS et al., J Neurooncol 2018), and below exp(delta) in every draw."""
    fields = dict.fromkeys(
        ("headache", "seizure", "focal_deficit", "cognitive_change", "steroid_increase"), "yes"
    )
    row = example(bundled_fit, center="C01", **fields)
    assert np.log(1.003) < row["llr_symptoms"] < np.log(19.27)
    tables = score_tables(bundled_fit)

    def log_odds(**cells):
        cohort = cohort_from_records([{"patient_id": "x", "center": "C01", **cells}])
        lesions = encode(cohort, bundled_fit.centers, bundled_fit.parameters)
        ell = class_log_joint(lesions, tables, len(bundled_fit.centers), bundled_fit.registry)[0]
        return ell[:, 1] - ell[:, 0]

    ratio = log_odds(**fields) - log_odds()
    assert np.all(ratio <= bundled_fit.draws.decline[:, 1] + 1e-9)


@pytest.mark.parametrize("symptom", ["headache", "focal_deficit"])
def test_a_steroid_increase_or_edema_alone_is_not_evidence(bundled_fit, symptom):
    plain = example(bundled_fit, center="C01")
    context = example(
        bundled_fit, center="C01", steroid_increase="yes", edema_ratio=12, eloquent_location="yes"
    )
    assert context["llr_symptoms"] == 0.0 and context["p_recurrence"] == plain["p_recurrence"]
    with_symptom = example(bundled_fit, center="C01", **{symptom: "yes"})
    with_edema = example(bundled_fit, center="C01", edema_ratio=12, **{symptom: "yes"})
    assert 0 < with_edema["llr_symptoms"] < with_symptom["llr_symptoms"]


def test_a_second_rescan_with_the_same_growth_adds_less_than_the_first(bundled_fit):
    """The rescans share the lesion's growth rate: once the first has shown it, a second with the
    same growth (+30% in 6 weeks each) confirms rather than doubles the evidence."""
    first = {"volume_baseline_ml": 4.0, "volume_fu1_ml": 5.2, "interval_fu1_weeks": 6}
    second = {**first, "volume_fu2_ml": 6.76, "interval_fu2_weeks": 6}
    one = example(bundled_fit, center="C01", **first)["llr_growth"]
    two = example(bundled_fit, center="C01", **second)["llr_growth"]
    assert 0 < two - one < one


def test_mgmt_methylation_matters_most_in_the_pseudoprogression_window(bundled_fit):
    """Brandes 2008: 91% vs 41% pseudoprogression by MGMT status within the early window; the
    prior odds ratio of methylation is far larger there than months later."""

    def log_odds(months, methylated):
        row = example(bundled_fit, center="C01", months_since_rt=months, mgmt_methylated=methylated)
        return row["log_odds"]

    early = log_odds(1.5, "no") - log_odds(1.5, "yes")
    late = log_odds(9.0, "no") - log_odds(9.0, "yes")
    assert early > late + 1.0 and early > 1.5


def test_enhancement_outside_the_radiation_field_points_to_recurrence_even_early(bundled_fit):
    """RANO 2.0: new enhancement outside the radiation field is progression even within 12
    weeks, when in-field enhancement would be read as possible pseudoprogression."""
    early = {"center": "C01", "months_since_rt": 1.5, "mgmt_methylated": "yes"}
    inside = example(bundled_fit, **early, out_of_field="negative")
    outside = example(bundled_fit, **early, out_of_field="positive")
    assert outside["llr_out_of_field"] > np.log(4) and inside["llr_out_of_field"] < 0
    assert outside["p_recurrence"] > example(bundled_fit, **early)["p_recurrence"] + 0.3
