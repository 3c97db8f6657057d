"""Symptoms in context: one latent clinical decline shared by a lesion's symptom items.

Symptoms are supporting evidence only, and extensive radiation necrosis with severe edema can
itself cause hemiplegia or aphasia. So the items are not independent given the class. A lesion's
patient has a latent clinical decline D (yes / no) with

    logit P(D | class k) = eta + k * delta,
    eta = b_0 + b_edema * x_edema + b_eloquent * x_eloquent + b_steroid * x_steroid,

and each item j is yes with probability ``if_decline[j]`` when D and ``if_stable[j]`` otherwise,
whatever the class. With L_D the log-probability of the recorded items given D,

    log p(items | k) = log( sigmoid(eta + k delta) exp(L_1) + sigmoid(-(eta + k delta)) exp(L_0) ).

Consequences a tumor board can check:

- the class acts only through D, so any set of items has a likelihood ratio between
  P(no D | 1) / P(no D | 0) and P(D | 1) / P(D | 0), and never beyond exp(delta) (the odds ratio
  of decline between the classes, Rowe 2018);
- edema, eloquent location and a steroid increase raise P(D) in both classes: as decline becomes
  likely whatever the class, the symptoms' likelihood ratio falls towards 1;
- with no item recorded, L_1 = L_0 = 0 and the covariates carry no evidence at all.

The array functions take a :class:`model.modalities.forms.Backend` (NumPy or PyTensor); the numba
twin serves the scorer's kernels. ``tests/likelihood/test_symptoms.py`` checks them against each
other and against the bounds above.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from model.modalities.forms import Backend, logaddexp


# numba compiles this function too, and cannot compile mutmut's trampoline around a mutant
def decline_logit(coefficients, x_edema, x_eloquent, x_steroid):  # pragma: no mutate block
    """Eta: the necrosis class's logit of decline.

    ``coefficients`` (intercept, recurrence, edema, eloquent, steroid) are indexed on their first
    axis; the covariates broadcast with them.
    """
    return (
        coefficients[0]
        + coefficients[2] * x_edema
        + coefficients[3] * x_eloquent
        + coefficients[4] * x_steroid
    )


decline_logit_numba = njit(cache=True)(decline_logit)
"""The same logit for the scorer's kernels: per lesion, over the draws of the coefficients."""


def decline_probability(decline: np.ndarray, x_edema, x_eloquent, x_steroid) -> np.ndarray:
    """P(decline | class) per lesion, draw and class: (n, S, 2).

    Parameters
    ----------
    decline : ndarray (5, S)
        The decline logit's coefficients per draw (intercept, recurrence, edema, eloquent,
        steroid).
    x_edema, x_eloquent, x_steroid : ndarray (n,)
    """
    covariates = [np.asarray(x, float)[:, None] for x in (x_edema, x_eloquent, x_steroid)]
    eta = decline_logit(decline, *covariates)  # (n, S)
    logits = np.stack([eta, eta + decline[1]], axis=-1)
    return 1.0 / (1.0 + np.exp(-logits))


def symptom_log_likelihood(log_if_decline, log_if_stable, eta, delta, xp: Backend):
    """(log p(items | necrosis), log p(items | recurrence)).

    Parameters
    ----------
    log_if_decline, log_if_stable : array
        Per lesion: the sum over recorded items of log P(answer | D) and log P(answer | no D).
    eta : array
        Per lesion: the necrosis logit of decline (:func:`decline_logit`).
    delta : float or array
        The recurrence class's shift of that logit.
    xp : Backend
    """

    def given(logit):
        # log sigmoid(x) = -log(1 + exp(-x))
        with_decline = -xp.logaddexp(0.0, -logit) + log_if_decline
        without = -xp.logaddexp(0.0, logit) + log_if_stable
        return xp.logaddexp(with_decline, without)

    return given(eta), given(eta + delta)


@njit(cache=True)
def _log_sigmoid(x: float) -> float:
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(cache=True)
def symptom_log_lik(log_if_decline: float, log_if_stable: float, logit: float) -> float:
    """log p(items | class) for one lesion, draw and class whose decline logit is ``logit``."""
    return logaddexp(_log_sigmoid(logit) + log_if_decline, _log_sigmoid(-logit) + log_if_stable)
