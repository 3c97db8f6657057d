"""Diagnostic accuracy of cutoff rules in closed form, vectorised over posterior draws.

Within class k the log value is a mixture over groups g (centers) with weights w_g of normals
N(mean[k, g], sd[k, g]); a single center is the one-group case. At log cutoff c:

    sensitivity = sum_g w_g Phi((mean[1, g] - c) / sd[1, g])
    specificity = sum_g w_g Phi((c - mean[0, g]) / sd[0, g])
    AUC = sum_g sum_h w_g w_h Phi((mean[1, g] - mean[0, h]) / sqrt(sd[1, g]^2 + sd[0, h]^2))

Arrays of draws lead: ``mean`` and ``sd`` are (S, 2, G); results are (S, K) for K cutoffs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy.special import ndtr

from model.likelihood.kernel import log_orthant
from model.likelihood.quadrature import GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS


def accuracy(log_cutoffs, mean, sd, weights) -> tuple[np.ndarray, np.ndarray]:
    """Sensitivity and specificity of "value above the cutoff" for every draw and cutoff.

    Parameters
    ----------
    log_cutoffs : array (K,) or (S, K)
        Cutoffs shared by all draws, or one row of cutoffs per draw.
    mean, sd : arrays (S, 2, G)
        Class (necrosis, recurrence) means and spreads per group, on the log scale.
    weights : array (G,)
        Group weights (summing to 1).

    Returns
    -------
    sensitivity, specificity : arrays (S, K)
    """
    c = np.asarray(log_cutoffs, float)
    c = c[None, :, None] if c.ndim == 1 else c[:, :, None]
    w = np.asarray(weights, float)[None, None, :]
    se = (ndtr((mean[:, None, 1, :] - c) / sd[:, None, 1, :]) * w).sum(axis=-1)
    sp = (ndtr((c - mean[:, None, 0, :]) / sd[:, None, 0, :]) * w).sum(axis=-1)
    return se, sp


def auc(mean, sd, weights) -> np.ndarray:
    """Area under the ROC curve per draw (binormal, or a mixture of binormals): (S,)."""
    w = np.asarray(weights, float)
    m1, m0 = mean[:, 1, :, None], mean[:, 0, None, :]
    s1, s0 = sd[:, 1, :, None], sd[:, 0, None, :]
    return (ndtr((m1 - m0) / np.sqrt(s1**2 + s0**2)) * w[:, None] * w[None, :]).sum(axis=(1, 2))


def predictive_values(sensitivity, specificity, prevalence: float) -> tuple[np.ndarray, np.ndarray]:
    """PPV and NPV at a prevalence of recurrence."""
    tp, fp = sensitivity * prevalence, (1 - specificity) * (1 - prevalence)
    tn, fn = specificity * (1 - prevalence), (1 - sensitivity) * prevalence
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fp), tn / (tn + fn)


def likelihood_ratios(sensitivity, specificity) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative likelihood ratios (inf where a denominator is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return sensitivity / (1 - specificity), (1 - sensitivity) / specificity


def youden_index(sensitivity, specificity):
    """Sensitivity + specificity - 1."""
    return sensitivity + specificity - 1


def net_benefit(prevalence: float, threshold: float):
    """Net benefit of treating test-positives at a threshold probability, as ``f(se, sp)``.

    Net benefit = prevalence se - (1 - prevalence)(1 - sp) t / (1 - t).
    """
    odds = threshold / (1 - threshold)
    return lambda se, sp: prevalence * se - (1 - prevalence) * (1 - sp) * odds


def optimal_cutoff(
    objective, mean, sd, weights, low: float, high: float, coarse: int = 64, fine: int = 33
) -> np.ndarray:
    """Per draw, the log cutoff in [low, high] maximising ``objective(se, sp)``: (S,).

    A coarse grid finds each draw's best point; a fine grid spanning one coarse step either side
    of it refines it, to (high - low) / ((coarse - 1) (fine - 1) / 2): 97 evaluations per draw
    instead of the ~1,000 of one grid with that resolution.
    """
    grid = np.linspace(low, high, coarse)
    best = grid[np.argmax(objective(*accuracy(grid, mean, sd, weights)), axis=1)]
    step = grid[1] - grid[0]
    local = best[:, None] + np.linspace(-step, step, fine)[None, :]
    values = objective(*accuracy(local, mean, sd, weights))
    return local[np.arange(len(local)), np.argmax(values, axis=1)]


@njit(cache=True, parallel=True)
def _both_above(h, k, r, nodes, weights, out):
    for i in prange(len(h)):
        out[i] = np.exp(log_orthant(h[i], k[i], r[i], nodes, weights))


def both_above(h, k, r) -> np.ndarray:
    """P(X > h, Y > k) for standard bivariate normals with correlation r (arrays, any shape)."""
    h, k, r = np.broadcast_arrays(*(np.asarray(a, float) for a in (h, k, r)))
    out = np.empty(h.size)
    _both_above(h.ravel().copy(), k.ravel().copy(), r.ravel().copy(), GAUSS_LEGENDRE_NODES,
                GAUSS_LEGENDRE_WEIGHTS, out)  # fmt: skip
    return out.reshape(h.shape)


def combined_accuracy(
    rule: str, cut_x: float, cut_y: float, mean_x, sd_x, mean_y, sd_y, rho, weights
):
    """Sensitivity and specificity of a two-modality rule, the within-class correlation included.

    Parameters
    ----------
    rule : {"and", "or"}
        Positive when both values are above their cutoffs ("and") or either is ("or").
    cut_x, cut_y : float
        Log cutoffs of the two modalities.
    mean_x, sd_x, mean_y, sd_y, rho : arrays (S, 2, G)
        Class parameters of each modality and their correlation, per group.
    weights : array (G,)

    Returns
    -------
    sensitivity, specificity : arrays (S,)
    """
    w = np.asarray(weights, float)[None, :]
    zx, zy = (cut_x - mean_x) / sd_x, (cut_y - mean_y) / sd_y
    if rule == "and":
        positive = both_above(zx, zy, rho)  # P(X > a, Y > b | class)
    elif rule == "or":
        positive = 1 - both_above(-zx, -zy, rho)  # 1 - P(X <= a, Y <= b | class)
    else:
        raise ValueError("rule must be 'and' or 'or'")
    return (positive[:, 1] * w).sum(axis=-1), ((1 - positive[:, 0]) * w).sum(axis=-1)


def binormal_optimal(mean, sd, log_ratio: float = 0.0) -> np.ndarray:
    """Per draw, the log cutoff where the likelihood ratio f1 / f0 equals exp(log_ratio): (S,).

    Youden's index is maximal where the class densities are equal (``log_ratio = 0``); net
    benefit at threshold t with prevalence pi where f1 / f0 = (1 - pi) / pi * t / (1 - t). With
    normal classes that is a quadratic in the log cutoff; of its roots the one with the larger
    objective (sensitivity - log-ratio-weighted false positives) is taken.

    Parameters
    ----------
    mean, sd : arrays (S, 2) or (S, 2, 1)
    log_ratio : float
    """
    m0, m1 = mean[:, 0].reshape(-1), mean[:, 1].reshape(-1)
    s0, s1 = sd[:, 0].reshape(-1), sd[:, 1].reshape(-1)
    a = 0.5 / s0**2 - 0.5 / s1**2
    b = m1 / s1**2 - m0 / s0**2
    d = 0.5 * m0**2 / s0**2 - 0.5 * m1**2 / s1**2 + np.log(s0 / s1) - log_ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = -d / b
        root = np.sqrt(np.maximum(b**2 - 4 * a * d, 0.0))
        first, second = (-b + root) / (2 * a), (-b - root) / (2 * a)
    weight = np.exp(log_ratio)

    def objective(c):
        return ndtr((m1 - c) / s1) - weight * ndtr((m0 - c) / s0)

    quadratic = np.where(objective(first) >= objective(second), first, second)
    return np.where(np.abs(a) < 1e-12 * np.abs(b), linear, quadratic)
