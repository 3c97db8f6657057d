"""Follow-up as a trajectory: a lesion's rescans share its own growth rate.

A lesion of class k has its own rate r ~ Normal(rho_k, tau) per 6 weeks (recurrent tumours grow at
different speeds, and some radiation necrosis keeps enlarging for months). Rescan j, after w_j
six-week units, shows log(V_j / V_(j-1)) ~ Normal(r w_j, sigma), sigma being measurement noise.
With r integrated out, the growths g of one lesion are jointly normal,

    g | k ~ Normal(rho_k w, sigma^2 I + tau^2 w w'),

so successive rescans are correlated evidence: once the first has shown how fast the lesion grows,
a second with the same growth mostly confirms it. Everything depends on the data through four
sums over the lesion's rescans, P = sum w_j g_j, W = sum w_j^2, Q = sum g_j^2 and the count m:

    log N(g; rho w, Sigma) = -(Q - 2 rho P + rho^2 W - c (P - rho W)^2) / (2 sigma^2)
                             - (m log sigma^2 + log(1 + tau^2 W / sigma^2) + m log 2 pi) / 2,
    c = tau^2 / (sigma^2 + tau^2 W),

and the core log likelihood ratio of recurrence is linear in P,

    L = ((rho_1 - rho_0) P - (rho_1^2 - rho_0^2) W / 2) / (sigma^2 + tau^2 W),

increasing in every rescan's growth. Of two rescans with the same interval and growth, the second
adds sigma^2 / (sigma^2 + 2 tau^2) times the core log likelihood ratio of the first: less whenever
tau > 0. With
probability e the whole series looks like the other class (a change of technique or of steroid
dose, a segmentation error), the misread mixture of :mod:`model.modalities.forms`, which bounds
what the follow-up as a whole can say by log((1 - e) / e).

A steroid increase between two scans shrinks enhancement in either class (dexamethasone reduced
the enhancing volume of 9 in 10 recurrent gliomas: Watling 1994), so rescan j shows
g_j = r w_j + beta s_j + noise, s_j = 1 when the dose was raised before it. The recorded s_j are
known; a rescan without a record may hide an increase, with probability ``share``
(``context.follow_up_steroid_share``), and the lesion's density is the mixture over the patterns
of increases its record allows (:func:`steroid_patterns`). Every pattern enters through three
more sums, A = sum w_j s_j, B = sum g_j s_j and C = sum s_j^2, since g - beta s has
P - beta A and Q - 2 beta B + beta^2 C.

The array functions are plain arithmetic (given the backend's ``log`` and sum), for NumPy and
PyTensor; the numba twins serve the scorer's kernels. ``tests/likelihood/test_growth.py`` checks
them against a dense multivariate normal.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit

from model.inputs.encode import Lesions
from model.inputs.vocabulary import GROWTH_WEEKS, MAX_FOLLOW_UPS
from model.modalities.forms import LOG_2PI, logaddexp

STEROID_PATTERNS: np.ndarray = np.array(list(itertools.product((0.0, 1.0), repeat=MAX_FOLLOW_UPS)))
"""Every pattern of steroid increases before a lesion's rescans: (2^scans, scans), 1 raised."""


def growth_sums(growth, weeks, mask, xp_sum):
    """(P, W, Q, m) of every lesion: sums over its rescans (axis 1) of w g, w^2, g^2 and 1.

    ``weeks`` are in six-week units; ``xp_sum(x)`` sums over the rescans.
    """
    return (
        xp_sum(mask * weeks * growth),
        xp_sum(mask * weeks * weeks),
        xp_sum(mask * growth * growth),
        xp_sum(mask),
    )


def steroid_patterns(
    steroid: np.ndarray, mask: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """The steroid increases each lesion's rescans may have had, and each pattern's log weight.

    Parameters
    ----------
    steroid : numpy.ndarray
        (n, scans): 1 when the dose was raised before the rescan, 0 when not, -1 not recorded.
    mask : numpy.ndarray
        (n, scans): 1 where the rescan exists.
    share : float
        P(raised) behind a rescan without a record.

    Returns
    -------
    increases : numpy.ndarray
        (n, K, scans), K = len(:data:`STEROID_PATTERNS`): s_j of every pattern, 0 where there is
        no rescan.
    log_weight : numpy.ndarray
        (n, K): log P(pattern | record); -inf for a pattern the record rules out. A lesion whose
        rescans are all recorded has one pattern, of weight 0.
    """
    patterns = STEROID_PATTERNS[None, :, :]
    present = mask[:, None, :] > 0
    recorded = np.where(present, np.maximum(steroid[:, None, :], 0.0), 0.0)
    unknown = present & (steroid[:, None, :] < 0)
    increases = np.where(unknown, patterns, recorded)
    allowed = np.all(unknown | (patterns == recorded), axis=2)
    each = np.where(patterns > 0, math.log(share), math.log1p(-share))
    log_weight = np.sum(np.where(unknown, each, 0.0), axis=2)
    return increases, np.where(allowed, log_weight, -np.inf)


def lesion_growth_sums(
    growth: np.ndarray, weeks: np.ndarray, mask: np.ndarray, steroid: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Everything the growth likelihood reads of n lesions' rescans.

    Parameters
    ----------
    growth, weeks, mask, steroid : numpy.ndarray
        (n, scans): log growth, interval in six-week units, 1 where the rescan exists, and the
        steroid record (:func:`steroid_patterns`).
    share : float
        P(raised) behind a rescan without a record.

    Returns
    -------
    sums : numpy.ndarray
        (n, 4): P, W, Q, m (:func:`growth_sums`).
    steroid_sums : numpy.ndarray
        (n, K, 3): A, B, C of every pattern, sums over the rescans of w s, g s and s^2.
    log_weight : numpy.ndarray
        (n, K): each pattern's log weight, -inf where the record rules it out.
    """
    sums = np.stack(growth_sums(growth, weeks, mask, lambda x: x.sum(axis=1)), axis=1)
    s, log_weight = steroid_patterns(steroid, mask, share)  # 0 where there is no rescan
    steroid_sums = np.stack(
        [(s * weeks[:, None, :]).sum(axis=2), (s * growth[:, None, :]).sum(axis=2), (s * s).sum(2)],
        axis=2,
    )
    return sums, steroid_sums, log_weight


def growth_features(lesions: Lesions, share: float) -> dict[str, np.ndarray]:
    """:func:`lesion_growth_sums` of encoded lesions, keyed as the model's data names them.

    The keys are ``growth_sums``, ``steroid_sums`` and ``steroid_log_weight``, as in the PyMC
    model's data and the scorer's features.
    """
    arrays = lesion_growth_sums(
        lesions.growth,
        lesions.growth_weeks / GROWTH_WEEKS,
        lesions.growth_mask,
        lesions.growth_steroid,
        share,
    )
    return dict(zip(("growth_sums", "steroid_sums", "steroid_log_weight"), arrays, strict=True))


def split_by_patterns(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`growth_features` split into lesions with one steroid pattern and those with more.

    Most lesions' records allow one pattern (every rescan's change recorded, or no rescan), and
    their density needs no mixture; only the others are evaluated at every pattern. Returns the
    single lesions' sums (n1, 4) and pattern sums (n1, 1, 3), the mixed lesions' sums (n2, 4),
    pattern sums (n2, K, 3) and log weights (n2, K), and ``growth_order``: each lesion's position
    in the single lesions followed by the mixed ones.
    """
    weight = features["steroid_log_weight"]
    allowed = np.isfinite(weight)
    single = np.flatnonzero(allowed.sum(axis=1) == 1)
    mixed = np.flatnonzero(allowed.sum(axis=1) > 1)
    sums, steroid = features["growth_sums"], features["steroid_sums"]
    pattern = np.argmax(allowed[single], axis=1)
    order = np.empty(len(weight), dtype=np.int64)
    order[np.concatenate([single, mixed])] = np.arange(len(weight))
    return {
        "growth_single_sums": sums[single],
        "growth_single_steroid": steroid[single, pattern][:, None, :],
        "growth_mixed_sums": sums[mixed],
        "growth_mixed_steroid": steroid[mixed],
        "growth_mixed_weight": weight[mixed],
        "growth_order": order,
    }


def shifted_sums(sums, steroid_sums, shift):
    """(P, W, Q, m) of every lesion and pattern once the steroid shift is taken out: (n, K) each.

    g - beta s has P - beta A and Q - 2 beta B + beta^2 C; plain arithmetic, for NumPy and
    PyTensor.
    """
    P0, W, Q0, m = (sums[:, k][:, None] for k in range(4))
    A, B, C = (steroid_sums[:, :, k] for k in range(3))
    return P0 - shift * A, W, Q0 - shift * (2.0 * B - shift * C), m


def trajectory_log_density(sums, rate, sd2, tau2, log):
    """log N(g; rate w, sigma^2 I + tau^2 w w') from the lesion's sums (0 without rescans).

    Parameters
    ----------
    sums : tuple
        (P, W, Q, m) from :func:`growth_sums`.
    rate : float or array
        The class's mean rate per six weeks.
    sd2, tau2 : float or array
        Measurement variance sigma^2 and between-lesion rate variance tau^2.
    log : callable
        The backend's logarithm.
    """
    P, W, Q, m = sums
    denominator = sd2 + tau2 * W
    residual = P - rate * W
    quadratic = (
        Q - 2.0 * rate * P + rate * rate * W - tau2 * residual * residual / denominator
    ) / sd2
    log_det = m * log(sd2) + log(denominator / sd2)
    return -0.5 * (quadratic + log_det + m * LOG_2PI)


@njit(cache=True)
def trajectory_core_llr(P: float, W: float, gap: float, half_square_gap: float, sd2, tau2):
    """The core log likelihood ratio L of one lesion and draw.

    ``gap`` is rho_1 - rho_0 and ``half_square_gap`` (rho_1^2 - rho_0^2) / 2.
    """
    return (gap * P - half_square_gap * W) / (sd2 + tau2 * W)


@njit(cache=True)
def trajectory_log_density_scalar(
    P: float, W: float, Q: float, m: float, rate: float, sd2: float, tau2: float
) -> float:
    """Scalar twin of :func:`trajectory_log_density`."""
    denominator = sd2 + tau2 * W
    residual = P - rate * W
    quadratic = (
        Q - 2.0 * rate * P + rate * rate * W - tau2 * residual * residual / denominator
    ) / sd2
    log_det = m * math.log(sd2) + math.log(denominator / sd2)
    return -0.5 * (quadratic + log_det + m * LOG_2PI)


@njit(cache=True)
def _shifted(sums: np.ndarray, pattern: np.ndarray, shift: float) -> tuple[float, float]:
    """P and Q of one lesion once a steroid pattern's shift is taken out (:func:`shifted_sums`)."""
    A, B, C = pattern[0], pattern[1], pattern[2]
    return sums[0] - shift * A, sums[2] - shift * (2.0 * B - shift * C)


@njit(cache=True)
def trajectory_terms(
    sums: np.ndarray,
    steroid: np.ndarray,
    log_weight: np.ndarray,
    rate: float,
    gap: float,
    half_square_gap: float,
    sd2: float,
    tau2: float,
    shift: float,
    single: int,
    need_density: bool,
) -> tuple[float, float]:
    """log p(g | necrosis) and the core log likelihood ratio of one lesion at one draw.

    ``sums`` is the lesion's (P, W, Q, m), ``steroid`` its (K, 3) pattern sums (A, B, C) and
    ``log_weight`` (K,) their weights (:func:`steroid_patterns`), ``shift`` beta, ``single``
    :func:`only_pattern`. With one pattern the ratio is :func:`trajectory_core_llr` and the density
    is computed only when ``need_density``; with several, both come from the mixture over
    patterns.
    """
    W, m = sums[1], sums[3]
    if single >= 0:
        P, Q = _shifted(sums, steroid[single], shift)
        core = trajectory_core_llr(P, W, gap, half_square_gap, sd2, tau2)
        if not need_density:
            return 0.0, core
        return trajectory_log_density_scalar(P, W, Q, m, rate, sd2, tau2), core
    necrosis = recurrence = -math.inf
    for k in range(len(log_weight)):
        if log_weight[k] == -math.inf:
            continue
        P, Q = _shifted(sums, steroid[k], shift)
        d0 = log_weight[k] + trajectory_log_density_scalar(P, W, Q, m, rate, sd2, tau2)
        d1 = d0 + trajectory_core_llr(P, W, gap, half_square_gap, sd2, tau2)
        necrosis = logaddexp(necrosis, d0)
        recurrence = logaddexp(recurrence, d1)
    return necrosis, recurrence - necrosis


@njit(cache=True)
def only_pattern(log_weight: np.ndarray) -> int:
    """The index of a lesion's only possible steroid pattern; -1 when its record allows more."""
    single = -1
    for k in range(len(log_weight)):
        if log_weight[k] > -math.inf:
            if single >= 0:
                return -1
            single = k
    return single
