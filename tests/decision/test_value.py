import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.decision import load_decision_parameters
from model.decision.thresholds import immediate_value
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


@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30),
    p_after=st.data(),
    b=st.floats(0.5, 40),
    h=st.floats(0.5, 40),
    r=st.floats(0, 8),
    se=st.floats(0, 1),
    sp=st.floats(0, 1),
)
@settings(max_examples=300, deadline=None)
def test_evpi_at_least_evsi_at_least_zero(weights, p_after, b, h, r, se, sp):
    weights = np.array(weights)
    if weights.sum() == 0:
        weights[0] = 1.0
    post = np.array(
        p_after.draw(st.lists(st.floats(0, 1), min_size=len(weights), max_size=len(weights)))
    )
    pre = Preposterior(np.arange(len(weights), dtype=float), weights / weights.sum(), post, post)
    params = BASE.with_values(
        benefit=b, harm=h, biopsy_harm=r, biopsy_sensitivity=se, biopsy_specificity=sp
    )
    evsi = pre.evsi(params)
    evpi = pre.p_now * params.benefit - float(immediate_value(pre.p_now, params))
    assert -1e-9 <= evsi <= evpi + 1e-9


@pytest.fixture(scope="module")
def examples_decided(bundled_fit):
    from conftest import DATA

    return decide(bundled_fit, DATA / "patients_example.csv").set_index("patient_id")


def test_pet_is_worth_most_in_the_gray_zone(examples_decided):
    t = examples_decided
    assert t.loc["EX3-grayzone-no-pet", "evsi_pet"] > 0.3
    assert t.loc["EX1-clear-recurrence", "evsi_pet"] < 0.01
    # one perfusion study cannot make necrosis certain (its likelihood ratio is bounded), so a
    # PET keeps some value for the clear necrosis, but less than in the gray zone
    assert 0.01 < t.loc["EX2-clear-necrosis", "evsi_pet"] < t.loc["EX3-grayzone-no-pet", "evsi_pet"]
    assert np.isfinite(t.loc["EX3-grayzone-no-pet", "eu_pet"])
    assert np.isnan(t.loc["EX1-clear-recurrence", "eu_pet"])  # it has a PET: no referral option


def test_value_of_information_ordering_on_examples(examples_decided):
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
    best = t[["eu_manage", "eu_biopsy", "eu_treat", "eu_rescan", "eu_pet"]].max(axis=1)
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
        assert pre.probability.sum() == pytest.approx(1.0)
        # the mean of P(R | y) over the predictive distribution is P(R) without the PET
        from model.likelihood.kernel import score

        p_without = score(
            base, score_tables(bundled_fit), len(bundled_fit.centers), bundled_fit.registry
        ).p_mean[0]
        assert pre.p_now == pytest.approx(p_without, abs=2e-4)


def test_flip_points_agree_with_scoring(bundled_fit, examples_decided):
    """Giving the gray-zone lesion a FET TBR just past a flip point moves P across the threshold."""
    import pandas as pd
    from conftest import DATA

    from model.decision.thresholds import parameter_thresholds

    t = parameter_thresholds(BASE)
    row = (
        pd.read_csv(DATA / "patients_example.csv", dtype=str, keep_default_na=False)
        .replace("", None)
        .iloc[2]
    )
    record = {k: v for k, v in row.items() if v is not None}
    treat_at = examples_decided.loc["EX3-grayzone-no-pet", "tbr_treat_at"]
    manage_below = examples_decided.loc["EX3-grayzone-no-pet", "tbr_manage_below"]
    high = predict(bundled_fit, {**record, "pet_tracer": "FET", "pet_tbr": treat_at * 1.03})[
        "p_recurrence"
    ][0]
    low = predict(bundled_fit, {**record, "pet_tracer": "FET", "pet_tbr": manage_below * 0.97})[
        "p_recurrence"
    ][0]
    assert high > t.test_treat and low < t.test
