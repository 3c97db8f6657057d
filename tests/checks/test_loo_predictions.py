"""Leave-one-out predictions: in-sample optimism removed without refitting (PSIS weights)."""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from scipy.special import logsumexp

from model.checks.loo import loo, with_leave_one_out
from model.cutoffs.analysis import labelled_decision_curves
from model.evaluation.external import score_labelled
from model.scoring.predict import recurrence_draws

COHORT = DATA / "cohort.csv"


@pytest.fixture(scope="module")
def corrected(bundled_fit):
    return with_leave_one_out(score_labelled(bundled_fit, COHORT), bundled_fit, COHORT)


def test_each_lesion_is_its_patients_importance_weighted_prediction(bundled_fit, corrected):
    result = loo(bundled_fit, COHORT)
    weights = result.log_weights.transpose("patient", "chain", "draw").to_numpy()
    weights = weights.reshape(len(weights), -1)
    cohort = pd.read_csv(COHORT, dtype=str, keep_default_na=False)
    patient = pd.factorize(cohort["patient_id"], sort=True)[0]  # patients in sorted order
    draws = recurrence_draws(bundled_fit, COHORT)
    for row in np.flatnonzero(corrected.scored)[:25]:
        w = weights[patient[row]]
        expected = np.exp(logsumexp(w, b=draws[row]) - logsumexp(w))
        assert corrected.p_loo[corrected.scored[: row + 1].sum() - 1] == pytest.approx(expected)


def test_leaving_a_lesion_out_moves_its_prediction_away_from_its_label(corrected):
    """The fit learned from each label, so without it the prediction is less sure of it."""
    y, p, loo_p = corrected.y, corrected.p, corrected.p_loo
    assert np.mean(np.abs(loo_p - y) >= np.abs(p - y)) > 0.95
    assert np.mean((loo_p - y) ** 2) > np.mean((p - y) ** 2)  # the Brier score's optimism
    assert np.all((loo_p > 0) & (loo_p < 1))


def test_in_sample_decision_curves_carry_the_corrected_net_benefit(bundled_fit, corrected):
    curves = labelled_decision_curves(bundled_fit, corrected)
    model = curves[curves.model == "model"]
    gap = model.net_benefit - model.net_benefit_loo
    assert (gap >= -0.02).all() and gap.mean() > 0  # optimism: in-sample looks better
    at_zero = model[model.threshold == 0].iloc[0]
    assert at_zero.net_benefit_loo == pytest.approx(at_zero.net_benefit)  # everyone treated
    plain = labelled_decision_curves(bundled_fit, score_labelled(bundled_fit, COHORT))
    assert "net_benefit_loo" not in plain


def test_predictions_the_fit_never_trained_on_are_refused(bundled_fit, tmp_path):
    cohort = pd.read_csv(COHORT, dtype=str, keep_default_na=False)
    cohort.loc[0, "perfusion_ratio"] = "9.5"
    path = tmp_path / "other.csv"
    cohort.to_csv(path, index=False)
    with pytest.raises(ValueError, match="in-sample predictions only"):
        with_leave_one_out(score_labelled(bundled_fit, path), bundled_fit, path)
