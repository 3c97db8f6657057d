"""The likelihood forms, each written once per backend and side by side.

A modality's likelihood is one of a small closed set of forms; modalities are open. Each form is
written here for the three places that evaluate it: array code for NumPy and PyTensor (the same
function, given a :class:`Backend`), and scalar numba functions for the scorer's kernels.
``tests/modalities/test_forms.py`` proves each pair equal.

**Continuous marker with misreads.** On the log scale u, class k has location mu_k and a spread
sigma shared by both classes; with probability e a measurement looks like the other class (a
vessel in the region of interest, a misplaced region, blood products):

    p(u | k) = (1 - e) N(u; mu_k, sigma) + e N(u; mu_(1-k), sigma).

With equal spreads, the core log likelihood ratio L(u) = log N(u; mu_1) - log N(u; mu_0) is
linear in u, and the misread mixture turns it into

    LLR(u) = g_e(L) = log((1 - e) exp(L) + e) - log((1 - e) + e exp(L)),

an increasing function of L bounded by +-log((1 - e) / e): monotone in the value, and no single
measurement can say more than the bound. A read (the value on the recurrence side of a cutoff c,
direction d = +1 when higher values point to recurrence) has probability

    P(positive | k) = (1 - e) Phi(d (mu_k - c) / sigma) + e Phi(d (mu_(1-k) - c) / sigma).

**Binary test.** P(positive | recurrence) = sensitivity, P(positive | necrosis) = 1 - specificity.

**Growth** (follow-up scans) is the continuous form applied to a lesion's rescans together, whose
shared growth rate makes them jointly normal (:mod:`model.likelihood.growth`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# Array code: NumPy or PyTensor
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """The few array functions the forms need, from NumPy/SciPy or from PyTensor."""

    logaddexp: Any
    log: Any
    log1p: Any
    log_ndtr: Any


def numpy_backend() -> Backend:
    """NumPy and SciPy."""
    from scipy.special import log_ndtr

    return Backend(np.logaddexp, np.log, np.log1p, log_ndtr)


def pytensor_backend() -> Backend:
    """PyTensor (imported here, so scoring never imports it)."""
    import pytensor.tensor as pt
    from pymc.distributions.dist_math import normal_lcdf

    return Backend(pt.logaddexp, pt.log, pt.log1p, lambda z: normal_lcdf(0.0, 1.0, z))


def normal_logpdf(x, mean, sd, xp: Backend):
    """log N(x; mean, sd)."""
    z = (x - mean) / sd
    return -0.5 * z * z - xp.log(sd) - 0.5 * LOG_2PI


def misread_log_density(u, mean_own, mean_other, sd, misread, xp: Backend):
    """log p(u | k) of the continuous form: its class's normal, mixed with the other's.

    ``misread`` is a number or an array broadcasting with the values; with PyTensor, a float64
    one (a Python float that float32 holds exactly, such as 0.25, becomes a float32 constant).
    """
    return xp.logaddexp(
        xp.log1p(-misread) + normal_logpdf(u, mean_own, sd, xp),
        xp.log(misread) + normal_logpdf(u, mean_other, sd, xp),
    )


def misread_read_log_prob(z_own, z_other, misread, xp: Backend):
    """log P(read | k) of the continuous form, given the read's standardised arguments.

    ``z_own = sign * direction * (mean_own - cutoff) / sd`` and likewise ``z_other``, with sign
    +1 for a positive read (the recurrence side of the cutoff) and -1 for a negative one.
    """
    return xp.logaddexp(
        xp.log1p(-misread) + xp.log_ndtr(z_own), xp.log(misread) + xp.log_ndtr(z_other)
    )


def misread_llr_array(core_llr, misread: float):
    """g_e(L) on NumPy arrays: the misread mixture's log likelihood ratio from the core one."""
    keep, slip = math.log1p(-misread), math.log(misread)
    return np.logaddexp(keep + core_llr, slip) - np.logaddexp(keep, slip + core_llr)


def binary_log_prob(positive, sensitivity, specificity, xp: Backend):
    """(log P(result | necrosis), log P(result | recurrence)) of a binary test result.

    ``positive`` is 1.0 for a positive result and 0.0 for a negative one.
    """
    necrosis = positive * xp.log(1.0 - specificity) + (1.0 - positive) * xp.log(specificity)
    recurrence = positive * xp.log(sensitivity) + (1.0 - positive) * xp.log(1.0 - sensitivity)
    return necrosis, recurrence


# ---------------------------------------------------------------------------------------------
# Scalar numba code for the scorer's kernels
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def log_ndtr(z: float) -> float:
    """log Phi(z), accurate in both tails."""
    if z > 5.0:
        return math.log1p(-0.5 * math.erfc(z / math.sqrt(2.0)))
    if z > -30.0:
        return math.log(0.5 * math.erfc(-z / math.sqrt(2.0)))
    z2 = z * z
    series = 1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2)
    return -0.5 * z2 - math.log(-z) - 0.5 * LOG_2PI + math.log(series)


@njit(cache=True)
def logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


@njit(cache=True)
def misread_shifts(core_llr: float, keep: float, slip: float) -> tuple[float, float]:
    """What the misread mixture adds to log N(u; mu_0, sigma) for each class.

    log p(u | 0) = log N(u; mu_0) + log((1 - e) + e exp(L)) and
    log p(u | 1) = log N(u; mu_0) + log((1 - e) exp(L) + e), with ``keep`` = log(1 - e) and
    ``slip`` = log(e). Their difference is :func:`misread_llr`.
    """
    return logaddexp(keep, slip + core_llr), logaddexp(keep + core_llr, slip)


@njit(cache=True)
def misread_llr(core_llr: float, misread: float) -> float:
    """g_e(L): the misread mixture's log likelihood ratio, bounded by +-log((1 - e) / e).

    One exponential and one logarithm, without overflow and without a branch (so that the
    per-draw loops vectorise): with x = exp(-|L|),
    g = sign(L) log1p((1 - 2e)(1 - x) / ((1 - e) x + e)). Every step is monotone in x, so g is
    monotone in L in floating point too, to the last bit (the ratio form
    ((1 - e) + e x) / ((1 - e) x + e) can round one ulp the wrong way near saturation).
    """
    keep = 1.0 - misread
    x = math.exp(-abs(core_llr))
    return math.copysign(math.log1p((keep - misread) * (1.0 - x) / (keep * x + misread)), core_llr)


@njit(cache=True)
def misread_read(z_own: float, z_other: float, keep: float, slip: float) -> float:
    """log P(read | k) of the continuous form (scalar twin of :func:`misread_read_log_prob`)."""
    return logaddexp(keep + log_ndtr(z_own), slip + log_ndtr(z_other))
