"""The class prior: how likely recurrence is before any evidence, from the patient's history.

    logit P(recurrence) = intercept + u_center + early * x_early + mgmt * x_mgmt
                          + mgmt_early * x_mgmt * x_early + reirradiation * x_reirradiation

Each covariate is effect-coded (+0.5 yes, -0.5 no, 0 unknown): ``x_early`` is the
pseudoprogression window (12 weeks after radiotherapy), ``x_mgmt`` MGMT promoter methylation and
``x_reirradiation`` a second course of radiotherapy before the scan. The MGMT log odds ratio is
``mgmt + mgmt_early / 2`` within the window and ``mgmt - mgmt_early / 2`` after it.

Written once with arithmetic only, so the PyMC model (PyTensor), the scorer's tables and the
simulator (NumPy, broadcast) compute the same logit.
"""

from __future__ import annotations

from collections.abc import Mapping

PRIOR_TERMS: tuple[str, ...] = ("intercept", "early", "mgmt", "mgmt_early", "reirradiation")
"""The coefficients of the class prior's logit (without the center offset)."""


def class_prior_logit(coefficients: Mapping, x_early, x_mgmt, x_reirradiation):
    """logit P(recurrence) without the center offset.

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
