"""Patients with several lesions: the closed form, the symptoms counted once, the patient effect."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit, logsumexp

from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_from_records
from model.likelihood.draws import draws_from_values
from model.likelihood.kernel import class_log_joint, contributions, patient_offsets, score
from model.likelihood.patients import (
    PatientGroups,
    configuration_log_weights,
    configurations,
    patient_log_likelihood,
)
from model.likelihood.tables import build_tables

P = load_parameters()
REGISTRY = P.registry
SYMPTOMS_COLUMN = contributions(REGISTRY).index("symptoms")


def test_groups_follow_the_patient_numbers_wherever_the_lesions_are():
    groups = PatientGroups.of(np.array([3, 0, 3, 1, 3, 0]))
    assert groups.first.tolist() == [1, 3, 0]  # patients 0, 1, 3 and their first lesions
    assert groups.slots.tolist() == [[1, 5, -1], [3, -1, -1], [0, 2, 4]]
    assert groups.counts.tolist() == [2, 1, 3]
    assert groups.present.tolist() == [[1, 1, 0], [1, 0, 0], [1, 1, 1]]


def random_patients(rng, sizes, n_draws=4):
    patient = np.repeat(np.arange(len(sizes)), sizes)
    n, n_patients = len(patient), len(sizes)
    pi = rng.uniform(0.05, 0.95, (n_patients, n_draws))
    prior = np.stack([np.log1p(-pi), np.log(pi)], axis=-1)
    symptoms = rng.normal(-2.0, 1.0, (n_patients, n_draws, 2))
    evidence = rng.normal(-3.0, 2.0, (n, n_draws, 2))
    return PatientGroups.of(patient), prior, symptoms, evidence, rng.uniform(0, 1, n_draws)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=6), seed=st.integers(0, 10_000))
def test_the_closed_form_sums_every_class_configuration(sizes, seed):
    """The m-term sum by first recurrent lesion against the 2^m configurations, one by one."""
    groups, prior, symptoms, evidence, rho = random_patients(np.random.default_rng(seed), sizes)
    got = patient_log_likelihood(
        prior, symptoms, evidence, groups.index, groups.present, rho, np, logsumexp
    )
    for p, slots in enumerate(groups.slots):
        members = slots[slots >= 0]
        weights = configuration_log_weights(prior[p], symptoms[p], evidence[members], rho)
        np.testing.assert_allclose(got[p], logsumexp(weights, axis=0), rtol=1e-12, atol=1e-12)


def test_configurations_by_hand():
    """Two lesions: the concordant share goes to 'both necrosis' and 'both recurrence' only."""
    pi, rho = 0.3, 0.4
    prior = np.log([[1 - pi, pi]])
    zero = np.zeros((1, 2))
    weights = np.exp(configuration_log_weights(prior, zero, np.zeros((2, 1, 2)), np.array([rho])))
    assert configurations(2).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    expected = [
        rho * (1 - pi) + (1 - rho) * (1 - pi) ** 2,
        (1 - rho) * (1 - pi) * pi,
        (1 - rho) * pi * (1 - pi),
        rho * pi + (1 - rho) * pi**2,
    ]
    np.testing.assert_allclose(weights[:, 0], expected, rtol=1e-12)
    # each lesion is still recurrence with probability pi: the patient effect keeps the prior
    assert weights[2:, 0].sum() == pytest.approx(pi)
    assert weights[[1, 3], 0].sum() == pytest.approx(pi)


def test_a_patients_only_lesion_is_that_lesion_whatever_the_concordance():
    groups, prior, symptoms, evidence, _ = random_patients(np.random.default_rng(1), [1, 1, 1])
    alone = logsumexp(prior + symptoms + evidence, axis=-1)
    for rho in (1e-9, 0.3, 1 - 1e-9):
        got = patient_log_likelihood(
            prior, symptoms, evidence, groups.index, groups.present, rho, np, logsumexp
        )
        np.testing.assert_allclose(got, alone, rtol=1e-12)


def test_pytensor_twin_agrees_and_has_finite_gradients_when_tissue_fixes_every_class():
    """Histopathology of necrosis on every lesion makes 'any recurrence' a sum of exp(-1e6)
    terms: the closed form must not subtract to -inf (no NaN gradients for NUTS)."""
    rng = np.random.default_rng(2)
    groups, prior, symptoms, evidence, _ = random_patients(rng, [2, 3, 1], n_draws=1)
    evidence[..., 1] -= 1e6  # every lesion proven necrosis
    prior, symptoms, evidence = prior[:, 0], symptoms[:, 0], evidence[:, 0]
    expected = patient_log_likelihood(
        prior, symptoms, evidence, groups.index, groups.present, 0.3, np, logsumexp
    )
    e = pt.dmatrix("e")
    rho = pt.dscalar("rho")
    out = patient_log_likelihood(
        pt.as_tensor(prior),
        pt.as_tensor(symptoms),
        e,
        pt.as_tensor(groups.index),
        pt.as_tensor(groups.present),
        rho,
        pt,
        lambda x, axis: pt.logsumexp(x, axis=axis),
    )
    function = pytensor.function([e, rho], [out, *pt.grad(out.sum(), [e, rho])])
    value, grad_e, grad_rho = function(evidence, 0.3)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert np.isfinite(grad_e).all() and np.isfinite(grad_rho)


# ---------------------------------------------------------------------------------------------
# Through the scorer, on records
# ---------------------------------------------------------------------------------------------
SYMPTOMATIC = {
    "headache": "yes",
    "seizure": "no",
    "focal_deficit": "yes",
    "cognitive_change": "yes",
    "steroid_increase": "no",
}
QUIET = dict.fromkeys(("headache", "seizure", "focal_deficit", "cognitive_change"), "no")


def lesion(patient, lesion_id, **cells):
    return {
        "patient_id": patient,
        "lesion_id": lesion_id,
        "center": "C01",
        "months_since_rt": 9.0,
        "edema_ratio": 3.0,
        **cells,
    }


def scored(records, concordance=0.5):
    values = {**P.model_values(), "prevalence.patient_concordance": concordance}
    tables = build_tables(draws_from_values(P, values), REGISTRY)
    lesions = encode(cohort_from_records(records), ["C01"], P)
    return score(lesions, tables, 1, REGISTRY), lesions, tables


def test_two_lesions_of_one_patient_count_its_symptoms_once():
    """The patient's symptoms multiply the odds that any of its lesions is recurrence by their
    likelihood ratio once, exactly as for a patient with one lesion: not once per lesion row."""
    imaging = [
        {"perfusion_technique": "DSC", "perfusion_ratio": 1.4},
        {"perfusion_technique": "DSC", "perfusion_ratio": 1.6},
    ]
    for concordance in (1e-9, 0.5):

        def patient(symptoms, concordance=concordance):
            records = [lesion("P", f"L{j}", **imaging[j], **symptoms) for j in range(len(imaging))]
            return scored(records, concordance)[0]

        with_symptoms, without = patient(SYMPTOMATIC), patient({})
        shift = logit(with_symptoms.patient_p_mean[0]) - logit(without.patient_p_mean[0])
        once = scored([lesion("Q", None, **imaging[0], **SYMPTOMATIC)])[0]
        symptom_llr = once.terms[0, SYMPTOMS_COLUMN]
        assert symptom_llr > 0.5  # the symptoms say recurrence
        assert shift == pytest.approx(symptom_llr, rel=1e-9)
        # were each row its own patient, the two rows would add the ratio twice
        rows = scored(
            [lesion(f"R{j}", None, **imaging[j], **SYMPTOMATIC) for j in range(len(imaging))]
        )[0]
        assert rows.terms[:, SYMPTOMS_COLUMN].sum() == pytest.approx(2 * symptom_llr)


def test_without_concordance_or_symptoms_lesions_are_scored_as_alone():
    records = [
        lesion("P", "L1", perfusion_technique="DSC", perfusion_ratio=2.8),
        lesion("P", "L2", perfusion_technique="DSC", perfusion_ratio=0.9),
    ]
    together, lesions, tables = scored(records, concordance=1e-12)
    alone = class_log_joint(lesions, tables, 1, REGISTRY)[:, 0]
    np.testing.assert_allclose(together.p_mean, expit(alone[:, 1] - alone[:, 0]), atol=1e-9)
    np.testing.assert_allclose(together.terms[:, -1], 0.0, atol=1e-9)
    p = together.p_mean
    assert together.patient_p_mean[0] == pytest.approx(1 - (1 - p[0]) * (1 - p[1]), abs=1e-9)


def test_the_patient_effect_moves_a_lesion_towards_its_sibling_monotonely():
    """With concordance, a hotter PET on the other lesion never lowers this lesion's probability,
    and full concordance gives both lesions one probability."""
    previous = None
    for tbr in (1.0, 1.4, 1.8, 2.4, 3.2):
        records = [
            lesion("P", "L1", perfusion_technique="DSC", perfusion_ratio=1.5),
            lesion(
                "P",
                "L2",
                perfusion_technique="DSC",
                perfusion_ratio=1.5,
                pet_tracer="FET",
                pet_tbr=tbr,
            ),
        ]
        p = scored(records, concordance=0.6)[0].p_mean
        if previous is not None:
            assert p[0] > previous
        previous = p[0]
    shared = scored(records, concordance=1 - 1e-12)[0].p_mean
    assert shared[0] == pytest.approx(shared[1], abs=1e-9)


def test_the_offset_of_the_other_lesions_does_not_depend_on_the_lesions_own_evidence():
    """What pre-posterior analyses rely on: a new result of one lesion adds its likelihood ratio
    to a patient-level offset that stays put."""
    offsets = []
    for ratio in (0.8, 1.5, 3.0):
        records = [
            lesion("P", "L1", perfusion_technique="DSC", perfusion_ratio=ratio, **SYMPTOMATIC),
            lesion("P", "L2", perfusion_technique="DSC", perfusion_ratio=2.0, **SYMPTOMATIC),
        ]
        result, lesions, tables = scored(records)
        offset = patient_offsets(lesions, tables, 1, REGISTRY)
        assert offset[0, 0] == pytest.approx(result.terms[0, -1], rel=1e-12)
        offsets.append(offset[0, 0])
    np.testing.assert_allclose(offsets, offsets[0], rtol=1e-9)
    assert offsets[0] != 0.0


def test_patient_groups_hold_each_patients_lesions_in_row_order():
    """2,000 lesions of 40 patients in shuffled order (enough for an unstable sort to reorder
    ties): each patient's slots list its lesions in row order, then -1; no lesions, no patients."""
    patient = np.random.default_rng(0).integers(0, 40, 2000)
    groups = PatientGroups.of(patient)
    assert groups.slots.dtype == np.int64 and groups.first.dtype == np.int64
    assert groups.slots.shape == (40, np.bincount(patient).max())
    for slot_row, first, number in zip(groups.slots, groups.first, np.unique(patient), strict=True):
        rows = np.flatnonzero(patient == number)
        np.testing.assert_array_equal(slot_row[: len(rows)], rows)
        assert (slot_row[len(rows) :] == -1).all() and first == rows[0]
    empty = PatientGroups.of(np.array([], dtype=np.int64))
    assert empty.first.shape == (0,) and empty.slots.shape == (0, 1)
    assert empty.first.dtype == np.int64 and empty.slots.dtype == np.int64
    assert empty.counts.shape == (0,)
    assert configurations(2).dtype == np.int64
    np.testing.assert_array_equal(configurations(2), [[0, 0], [0, 1], [1, 0], [1, 1]])


def test_each_draw_of_a_patient_is_scored_on_its_own(few_draws_fit):
    """With many draws, a two-lesion patient's lesion and patient probabilities are, draw by
    draw, what scoring that draw alone gives: the class configurations are summed per draw."""
    from model.scoring.predict import encode_patients, score_tables

    records = [
        lesion("P", "L1", perfusion_technique="DSC", perfusion_ratio=1.0, **SYMPTOMATIC),
        lesion("P", "L2", perfusion_technique="DSC", perfusion_ratio=1.5, **SYMPTOMATIC),
    ]
    _, lesions = encode_patients(few_draws_fit, records)
    tables = score_tables(few_draws_fit).select(np.arange(0, 200, 20))
    args = (len(few_draws_fit.centers), few_draws_fit.registry)
    together = score(lesions, tables, *args, keep_draws=True)
    alone = [score(lesions, tables.select([s]), *args) for s in range(tables.n_draws)]
    np.testing.assert_allclose(
        together.p_draws, np.stack([r.p_mean for r in alone], axis=1), rtol=1e-10
    )
    patient = [r.patient_p_mean[0] for r in alone]
    assert np.ptp(patient) > 0.01  # the draws disagree, so a pooled sum would show
    assert together.patient_p_mean[0] == pytest.approx(np.mean(patient), rel=1e-10)
