"""The class prior: how likely recurrence is before any evidence, from the patient's history.

    logit P(recurrence) = intercept + u_center + early * x_early + mgmt * x_mgmt
                          + mgmt_early * x_mgmt * x_early + reirradiation * x_reirradiation

Each covariate is effect-coded (+0.5 yes, -0.5 no): ``x_early`` is the pseudoprogression-window
weight less 1/2, continuous in time (:mod:`model.inputs.early_window`; 0 when the time is
unknown), ``x_mgmt`` MGMT promoter methylation and ``x_reirradiation`` a second course of
radiotherapy before the scan. The MGMT log odds ratio is ``mgmt + mgmt_early / 2`` just after
radiotherapy and ``mgmt - mgmt_early / 2`` long after it.

An unknown MGMT or re-irradiation status (coded 0) hides a yes or a no. The prior is the mixture
over what it may hide, weighted by the population shares (``context.mgmt_methylated_share``,
``context.reirradiated_share``):

    P(recurrence) = sum over hidden statuses h of P(h) P(recurrence | h).

It is exact when the status is missing at random, and unlike coding a blank midway between yes
and no it does not pull a rare exposure (re-irradiation) halfway to "yes".

Written once with arithmetic only, so the PyMC model (PyTensor), the scorer's tables and the
simulator (NumPy, broadcast) compute the same logit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

PRIOR_TERMS: tuple[str, ...] = ("intercept", "early", "mgmt", "mgmt_early", "reirradiation")
"""The coefficients of the class prior's logit (without the center offset)."""

HIDDEN_STATUSES: tuple[tuple[float, float], ...] = (
    (-0.5, -0.5),
    (-0.5, 0.5),
    (0.5, -0.5),
    (0.5, 0.5),
)
"""The (MGMT, re-irradiation) codes an unknown pair of statuses may hide: the mixture's
components, in the order of :class:`PriorComponents`' leading axis."""


def class_prior_logit(coefficients: Mapping, x_early, x_mgmt, x_reirradiation):
    """logit P(recurrence) without the center offset, for known statuses.

    Parameters
    ----------
    coefficients : mapping
        :data:`PRIOR_TERMS` to scalars, arrays or tensors (each broadcast with the covariates).
    x_early, x_mgmt, x_reirradiation : array-like or tensor
        The effect-coded covariates.

    Returns
    -------
    array-like or tensor
        The logit, broadcast over coefficients and covariates.
    """
    c = coefficients
    return (
        c["intercept"]
        + c["early"] * x_early
        + c["mgmt"] * x_mgmt
        + c["mgmt_early"] * x_mgmt * x_early
        + c["reirradiation"] * x_reirradiation
    )


class PriorComponents(NamedTuple):
    """The mixture's components per lesion: each (4, ...) over :data:`HIDDEN_STATUSES`.

    ``mgmt`` and ``reirradiation`` are the codes each component uses (a known status keeps its
    own code in every component), ``log_weight`` its log probability: log P(hidden status) for an
    unknown status, 0 for the component that matches a known one and -inf for the others.
    """

    mgmt: np.ndarray
    reirradiation: np.ndarray
    log_weight: np.ndarray


def prior_components(
    x_mgmt: np.ndarray, x_reirradiation: np.ndarray, shares: tuple[float, float]
) -> PriorComponents:
    """The statuses an unknown MGMT or re-irradiation code may hide, with their log weights.

    Parameters
    ----------
    x_mgmt, x_reirradiation : numpy.ndarray
        Effect codes: +0.5, -0.5, or 0 for unknown.
    shares : (float, float)
        P(methylated) and P(re-irradiated) where the status is not recorded.

    Returns
    -------
    PriorComponents
    """
    codes = (np.asarray(x_mgmt, float), np.asarray(x_reirradiation, float))
    used, log_weight = [[], []], []
    for hidden in HIDDEN_STATUSES:
        total = np.zeros(np.broadcast_shapes(*(c.shape for c in codes)))
        for j, (x, h, share) in enumerate(zip(codes, hidden, shares, strict=True)):
            unknown = x == 0.0
            used[j].append(np.broadcast_to(np.where(unknown, h, x), total.shape))
            weight = np.where(unknown, share if h > 0 else 1.0 - share, (x == h).astype(float))
            with np.errstate(divide="ignore"):
                total = total + np.log(weight)
        log_weight.append(total)
    return PriorComponents(np.stack(used[0]), np.stack(used[1]), np.stack(log_weight))


def class_prior_log_probabilities(
    coefficients: Mapping, offset, x_early, components: PriorComponents
) -> tuple[np.ndarray, np.ndarray]:
    """log P(necrosis) and log P(recurrence), mixed over unknown statuses (NumPy).

    Parameters
    ----------
    coefficients : mapping
        :data:`PRIOR_TERMS` to arrays broadcast with the covariates.
    offset : array-like
        The center offset u (or 0), broadcast with the covariates.
    x_early : array-like
        The early-window code, in [-0.5, 0.5].
    components : PriorComponents
        From :func:`prior_components`, whose trailing axes broadcast with ``x_early``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        log P(necrosis), log P(recurrence).
    """
    eta = offset + class_prior_logit(
        coefficients, x_early, components.mgmt, components.reirradiation
    )
    w = components.log_weight
    return (
        np.logaddexp.reduce(w - np.logaddexp(0.0, eta), axis=0),
        np.logaddexp.reduce(w - np.logaddexp(0.0, -eta), axis=0),
    )
