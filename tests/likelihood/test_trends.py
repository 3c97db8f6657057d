"""A marker measured again at follow-up: its change between scans as evidence.

At the parameter file's values: a rising value points to recurrence and a falling one to treatment
effect, monotonically; a second equal change adds less than the first (the lesion's own rate is
shared); the follow-up values together are bounded by the marker's misread probability; and a
modality removed for a what-if takes its follow-up values with it.
"""

import math

import numpy as np
import pandas as pd
import pytest

from model.decision.value import without
from model.inputs.encode import encode
from model.inputs.parameters import bundled_parameters
from model.inputs.reading import cohort_from_records
from model.likelihood.draws import draws_from_values
from model.likelihood.kernel import contributions, score
from model.likelihood.tables import build_tables
from model.likelihood.trends import has_trend, trend_sums
from model.modalities.registry import Registry

BASE = {
    "patient_id": "p",
    "center": "X",
    "perfusion_technique": "DSC",
    "perfusion_ratio": 1.6,
    "pet_tracer": "FET",
    "pet_tbr": 1.8,
    "volume_baseline_ml": 3.0,
    "volume_fu1_ml": 3.3,
    "interval_fu1_weeks": 6,
    "volume_fu2_ml": 3.6,
    "interval_fu2_weeks": 6,
}


@pytest.fixture(scope="module")
def parameters():
    return bundled_parameters()


@pytest.fixture(scope="module")
def tables(parameters):
    return build_tables(draws_from_values(parameters), parameters.registry)


def terms_of(records, parameters, tables):
    """Each record's log-odds terms, by name, and the posterior P(recurrence)."""
    rows = []
    for i, record in enumerate(records):
        rows.append({**BASE, **record, "patient_id": f"p{i}"})
    cohort = cohort_from_records(pd.DataFrame(rows), registry=parameters.registry)
    lesions = encode(cohort, ["X"], parameters)
    result = score(lesions, tables, 1, parameters.registry)
    names = contributions(parameters.registry)
    return pd.DataFrame(result.terms, columns=names).assign(p=result.p_mean), lesions


@pytest.mark.parametrize(
    ("marker", "column"), [("perfusion", "perfusion_ratio"), ("pet", "pet_tbr")]
)
def test_a_rising_value_points_to_recurrence_monotonically(parameters, tables, marker, column):
    first = BASE[column]
    ratios = np.linspace(0.5, 2.0, 13)
    records = [{f"{column}_fu1": round(first * r, 3)} for r in ratios]
    terms, _ = terms_of([{}, *records], parameters, tables)
    baseline = terms[marker].iloc[0]
    added = terms[marker].iloc[1:].to_numpy() - baseline
    assert np.all(np.diff(added) > 0)
    assert np.all(np.diff(terms["p"].iloc[1:].to_numpy()) > 0)
    # a value that halves points to treatment effect, one that doubles to recurrence
    assert added[0] < 0 < added[-1]
    # the other terms do not move
    others = [n for n in terms.columns if n not in (marker, "p")]
    assert np.allclose(terms[others].iloc[1:].to_numpy(), terms[others].iloc[0].to_numpy())


def test_a_second_equal_change_adds_less_than_the_first(parameters, tables):
    rise = math.exp(0.25)
    one = {"perfusion_ratio_fu1": round(1.6 * rise, 3)}
    two = {**one, "perfusion_ratio_fu2": round(1.6 * rise * rise, 3)}
    terms, _ = terms_of([{}, one, two], parameters, tables)
    first = terms["perfusion"].iloc[1] - terms["perfusion"].iloc[0]
    second = terms["perfusion"].iloc[2] - terms["perfusion"].iloc[1]
    assert 0 < second < first
    # without the misread mixture, the second would add sd^2 / (sd^2 + 2 tau^2) of the first; the
    # mixture bends the total towards its bound, so the second adds at most that share
    sd = parameters.value("modality.perfusion.follow_up_sd")
    tau = parameters.value("modality.perfusion.follow_up_tau_lesion")
    assert second / first <= sd**2 / (sd**2 + 2 * tau**2) + 1e-9


def test_the_follow_up_values_together_are_bounded_by_the_misread(parameters, tables):
    huge = {"perfusion_ratio_fu1": 19.0, "perfusion_ratio_fu2": 20.0}
    tiny = {"perfusion_ratio": 1.6, "perfusion_ratio_fu1": 0.11, "perfusion_ratio_fu2": 0.1}
    terms, _ = terms_of([{}, huge, tiny], parameters, tables)
    e = parameters.value("modality.perfusion.misread")
    bound = math.log((1 - e) / e)
    added = terms["perfusion"].to_numpy() - terms["perfusion"].iloc[0]
    assert bound * 0.95 < added[1] <= bound + 1e-9
    assert -bound - 1e-9 <= added[2] < -bound * 0.95


def test_the_sums_sit_in_each_markers_own_slot_whatever_the_order(parameters, tables):
    """A modality without follow-up values has zero sums in its slot and does not end the
    search: with the registry reversed, PET's and perfusion's sums follow their slots."""
    _, lesions = terms_of(
        [{"perfusion_ratio_fu1": 2.4, "pet_tbr_fu1": 1.5}, {}], parameters, tables
    )
    registry = parameters.registry
    forward = trend_sums(lesions, registry)
    backward = trend_sums(lesions, Registry(tuple(reversed(registry.modalities))))
    np.testing.assert_array_equal(backward, forward[:, ::-1])
    followed = [registry.names.index(name) for name in ("perfusion", "pet")]
    assert (forward[0, followed, 0] != 0).all() and not np.delete(forward, followed, axis=1).any()
    assert not forward[1].any()


def test_which_lesions_have_follow_up_values_of_a_marker(parameters, tables):
    _, lesions = terms_of([{"perfusion_ratio_fu1": 2.4}, {}], parameters, tables)
    assert has_trend(lesions, "perfusion").tolist() == [True, False]
    never = has_trend(lesions, "adc")
    assert never.dtype == bool and never.tolist() == [False, False]


def test_a_modality_removed_for_a_what_if_takes_its_follow_up_values(parameters, tables):
    terms, lesions = terms_of([{"perfusion_ratio_fu1": 2.4}], parameters, tables)
    assert has_trend(lesions, "perfusion").all() and terms["perfusion"].iloc[0] > 0
    removed = without(lesions, "perfusion")
    assert not has_trend(removed, "perfusion").any()
    result = score(removed, tables, 1, parameters.registry)
    assert result.terms[0, contributions(parameters.registry).index("perfusion")] == 0.0
