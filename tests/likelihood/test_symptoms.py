"""The clinical-decline model of symptoms: its twins agree, and its bounds hold for any values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.likelihood.symptoms import (
    decline_logit,
    decline_probability,
    symptom_log_lik,
    symptom_log_likelihood,
)
from model.modalities.forms import numpy_backend

probability = st.floats(0.01, 0.99)
logit = st.floats(-6.0, 6.0)


def llr(answers, if_decline, if_stable, eta, delta):
    """Log likelihood ratio of the recorded answers (1 yes, 0 no, None unknown)."""
    recorded = [(a, d, s) for a, d, s in zip(answers, if_decline, if_stable, strict=True)]
    l1 = sum(np.log(d if a else 1 - d) for a, d, _ in recorded if a is not None)
    l0 = sum(np.log(s if a else 1 - s) for a, _, s in recorded if a is not None)
    necrosis, recurrence = symptom_log_likelihood(
        np.array([l1]), np.array([l0]), np.array([eta]), delta, numpy_backend()
    )
    return float(recurrence[0] - necrosis[0]), (l1, l0)


@settings(max_examples=300, deadline=None)
@given(
    answers=st.lists(st.sampled_from([0, 1, None]), min_size=4, max_size=4),
    if_decline=st.lists(probability, min_size=4, max_size=4),
    if_stable=st.lists(probability, min_size=4, max_size=4),
    eta=logit,
    delta=st.floats(0.0, 4.0),
)
def test_no_set_of_symptoms_says_more_than_decline_itself(
    answers, if_decline, if_stable, eta, delta
):
    """Whatever the items, their likelihood ratio lies between those of 'no decline' and
    'decline', so never beyond exp(delta): five symptoms cannot multiply into a large ratio."""
    ratio, (l1, l0) = llr(answers, if_decline, if_stable, eta, delta)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    low = np.log(sigmoid(-(eta + delta)) / sigmoid(-eta))
    high = np.log(sigmoid(eta + delta) / sigmoid(eta))
    assert low - 1e-9 <= ratio <= high + 1e-9
    assert ratio <= delta + 1e-9
    # the numba twin gives the same per-class values
    for x, expected in ((eta, None), (eta + delta, None)):
        mixed = np.logaddexp(np.log(sigmoid(x)) + l1, np.log(sigmoid(-x)) + l0)
        assert symptom_log_lik(l1, l0, x) == pytest.approx(mixed, abs=1e-10), expected


def test_no_recorded_item_carries_no_evidence_whatever_the_context():
    for eta in (-5.0, 0.0, 5.0):
        ratio, _ = llr([None] * 4, [0.5] * 4, [0.05] * 4, eta, 1.6)
        assert ratio == pytest.approx(0.0, abs=1e-12)


def test_more_edema_makes_the_same_symptoms_say_less():
    """The ratio of a symptomatic lesion falls towards 1 as decline becomes likely in both
    classes, and the edema coefficient acts through eta only."""
    coefficients = np.array([-0.4, 1.6, 1.0, 1.0, 0.5])
    ratios = []
    for x_edema in np.linspace(-2, 4, 25):
        eta = decline_logit(coefficients, x_edema, 0.5, 0.5)
        ratios.append(llr([1, 1, 1, 1], [0.5, 0.35, 0.55, 0.4], [0.06] * 4, eta, 1.6)[0])
    assert np.all(np.diff(ratios) < 0)
    assert ratios[-1] < 0.1 < ratios[0]


def test_decline_probability_is_the_logistic_of_each_class_logit():
    """Per lesion, draw and class against SciPy: necrosis b0 + b2 edema + b3 eloquent + b4 steroid,
    recurrence the same plus b1 (integer and boolean covariates read as numbers)."""
    from scipy.special import expit

    rng = np.random.default_rng(3)
    coefficients = rng.normal(size=(5, 4))  # 4 draws
    edema, eloquent, steroid = np.array([0.0, 1.5, -0.7]), [0, 1, 1], np.array([True, False, True])
    got = decline_probability(coefficients, edema, eloquent, steroid)
    assert got.shape == (3, 4, 2)
    for i in range(3):
        for s in range(4):
            b = coefficients[:, s]
            necrosis = b[0] + b[2] * edema[i] + b[3] * eloquent[i] + b[4] * float(steroid[i])
            np.testing.assert_allclose(
                got[i, s], expit([necrosis, necrosis + b[1]]), rtol=1e-13, atol=0
            )
