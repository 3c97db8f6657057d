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

The array functions are plain arithmetic (given the backend's ``log`` and sum), for NumPy and
PyTensor; the numba twins serve the scorer's kernels. ``tests/likelihood/test_growth.py`` checks
them against a dense multivariate normal.
"""

from __future__ import annotations

import math

from numba import njit

from model.modalities.forms import LOG_2PI


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
