"""The scorer's likelihood: per-lesion, per-draw class log-likelihoods in closed form (numba).

For every posterior draw the evidence of a lesion is evaluated exactly as in
:mod:`model.likelihood.pymc_model`, from the coefficient tables of :mod:`model.likelihood.tables`:

- numeric imaging, symptoms and growth: multiply-adds on the tabulated coefficients;
- a number with a read (the read given the number): one normal CDF per class;
- reads alone (one or two): a discrete configuration (kind, center, cutoff, side), so each distinct
  one is computed once with the exact formulas (two reads: the bivariate normal orthant
  probability) and shared by every lesion that has it.

:func:`score` reduces over draws without materialising the lesion x draw matrix: the mean of
P(recurrence), an equal-tailed interval, and the mean of each term of the log-odds.
:func:`class_log_joint` gives the per-class values that the PyMC model is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from model.inputs.encode import NONE, READ, VALUE, Lesions
from model.likelihood.order_statistics import order_statistics
from model.likelihood.quadrature import GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS, ORTHANT_SPAN
from model.likelihood.tables import LOG_2PI, LesionFeatures, ScoreTables, lesion_features

CONTRIBUTIONS = ("prior", "perfusion", "pet", "symptoms", "growth")
"""Terms of the posterior log-odds, in this order (PET is given perfusion: chain rule)."""


# ---------------------------------------------------------------------------------------------
# Scalar pieces
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
def log_orthant(h: float, k: float, r: float, nodes: np.ndarray, weights: np.ndarray) -> float:
    """log P(X > h, Y > k), X and Y standard bivariate normal with correlation r."""
    span = max(h, 0.0) + ORTHANT_SPAN - h
    scale = 1.0 / math.sqrt(1.0 - r * r)
    terms = np.empty(len(nodes))
    top = -np.inf
    for j in range(len(nodes)):
        x = h + 0.5 * span * (nodes[j] + 1.0)
        t = -0.5 * x * x - 0.5 * LOG_2PI + log_ndtr((r * x - k) * scale) + math.log(weights[j])
        terms[j] = t
        top = max(top, t)
    total = 0.0
    for j in range(len(nodes)):
        total += math.exp(terms[j] - top)
    return top + math.log(total) + math.log(0.5 * span)


@njit(cache=True)
def _normal_logpdf(x: float, mean: float, sd: float) -> float:
    z = (x - mean) / sd
    return -0.5 * z * z - math.log(sd) - 0.5 * LOG_2PI


@njit(cache=True)
def _one_modality(state: int, value: float, sign: float, mean: float, sd: float) -> float:
    if state == VALUE:
        return _normal_logpdf(value, mean, sd)
    return log_ndtr(sign * (mean - value) / sd)


@njit(cache=True)
def _imaging(ps, x, xs, mx, sx, qs, y, ys, my, sy, rho):
    """(perfusion marginal, perfusion + PET joint) log-likelihood of one class, exact formulas."""
    if qs == NONE:
        t = _one_modality(ps, x, xs, mx, sx) if ps != NONE else 0.0
        return t, t
    if ps == NONE:
        return 0.0, _one_modality(qs, y, ys, my, sy)
    if ps == VALUE:  # PET | perfusion is normal
        first = _normal_logpdf(x, mx, sx)
        mean = my + rho * sy * (x - mx) / sx
        sd = sy * math.sqrt(1.0 - rho * rho)
        return first, first + _one_modality(qs, y, ys, mean, sd)
    marginal = log_ndtr(xs * (mx - x) / sx)
    if qs == VALUE:  # perfusion is the read; perfusion | PET is normal
        mean = mx + rho * sx * (y - my) / sy
        sd = sx * math.sqrt(1.0 - rho * rho)
        return marginal, _normal_logpdf(y, my, sy) + log_ndtr(xs * (mean - x) / sd)
    h, k = xs * (x - mx) / sx, ys * (y - my) / sy
    return marginal, log_orthant(h, k, xs * ys * rho, GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS)


@njit(cache=True)
def _class_imaging(f, M, i, k, s):
    """_imaging for lesion i, class k, draw s, reading the class moments M."""
    c, t, r = f.center[i], f.perf_kind[i], f.pet_kind[i]
    mx, sx = M.perf_mean[k, t, c, s], M.perf_sd[k, t, c, s]
    my, sy = M.pet_mean[k, r, c, s], M.pet_sd[k, r, c, s]
    return _imaging(
        f.perf_state[i], f.perf_value[i], f.perf_sign[i], mx, sx,
        f.pet_state[i], f.pet_value[i], f.pet_sign[i], my, sy, M.rho[k, t, r, c, s],
    )  # fmt: skip


@njit(cache=True)
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))  # exp overflows to inf for x < -709: gives 0, as it should


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _reads_only_kernel(f, M, out):
    """(perfusion, PET | perfusion) log likelihood ratios per draw of reads-only configurations."""
    for i in prange(len(f.center)):
        for s in range(out.shape[-1]):
            perf0, joint0 = _class_imaging(f, M, i, 0, s)
            perf1, joint1 = _class_imaging(f, M, i, 1, s)
            out[i, 0, s] = perf1 - perf0
            out[i, 1, s] = (joint1 - joint0) - (perf1 - perf0)


# reassociation lets LLVM vectorise the per-draw sums (about 1.2x); infinities and NaNs keep
# their IEEE meaning (no "ninf"/"nnan"), which the sigmoid of an overflowing log-odds relies on
@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def _score_kernel(f, L, R, reads_index, reads_llr, q_low, q_high, keep_draws, out_p, out_low,
                  out_high, out_terms, out_draws):  # fmt: skip
    """Per lesion: accumulate the log-odds of every draw term by term, then reduce over draws.

    ``L`` holds the log likelihood ratio tables (class 1 - class 0), ``R`` the per-class read
    tables; ``reads_llr[reads_index[i]]`` the shared rows of a reads-only lesion.
    """
    n = len(f.center)
    S = L.log_prior.shape[-1]
    h_low, h_high = q_low * (S - 1), q_high * (S - 1)
    k_low, k_high = int(math.floor(h_low)), int(math.floor(h_high))
    for i in prange(n):
        ell = np.empty(S)
        scratch1 = np.empty(S)
        scratch2 = np.empty(S)
        c, t, r = f.center[i], f.perf_kind[i], f.pet_kind[i]
        ps, qs = f.perf_state[i], f.pet_state[i]
        x, y = f.perf_value[i], f.pet_value[i]
        prior_sum = perf_sum = pet_sum = symptom_sum = growth_sum = 0.0

        prior = L.log_prior[c, f.early_level[i], f.mgmt_level[i]]
        for s in range(S):
            ell[s] = prior[s]
            prior_sum += prior[s]

        if reads_index[i] >= 0:  # imaging known only as reads: shared rows
            rows = reads_llr[reads_index[i]]
            for s in range(S):
                ell[s] += rows[0, s] + rows[1, s]
                perf_sum += rows[0, s]
                pet_sum += rows[1, s]
        elif ps == READ or qs == READ:  # a number and a read: z = sign * (A + B other - C cutoff)
            if ps == VALUE:  # PET read given the perfusion number
                A1, A0 = R.read_pet_given_perf[1, t, r, c], R.read_pet_given_perf[0, t, r, c]
                sign, other, cut = f.pet_sign[i], x, y
            else:  # perfusion read given the PET number
                A1, A0 = R.read_perf_given_pet[1, t, r, c], R.read_perf_given_pet[0, t, r, c]
                sign, other, cut = f.perf_sign[i], y, x
            P, Q = L.perf_quad[t, c], L.pet_quad[r, c]
            B1, B0 = R.read_perf[1, t, c], R.read_perf[0, t, c]
            for s in range(S):
                read = log_ndtr(sign * (A1[0, s] + A1[1, s] * other - A1[2, s] * cut)) - log_ndtr(
                    sign * (A0[0, s] + A0[1, s] * other - A0[2, s] * cut)
                )
                if ps == VALUE:
                    perf = (P[0, s] * x + P[1, s]) * x + P[2, s]
                    pet = read
                else:  # joint = PET marginal + perfusion read | PET; perfusion = the read alone
                    perf = log_ndtr(sign * (B1[0, s] - B1[2, s] * x)) - log_ndtr(
                        sign * (B0[0, s] - B0[2, s] * x)
                    )
                    pet = (Q[0, s] * y + Q[1, s]) * y + Q[2, s] + read - perf
                ell[s] += perf + pet
                perf_sum += perf
                pet_sum += pet
        elif ps == VALUE and qs == VALUE:
            P, J = L.perf_quad[t, c], L.joint_quad[t, r, c]
            xx, yy, xy = x * x, y * y, x * y
            for s in range(S):
                perf = P[0, s] * xx + P[1, s] * x + P[2, s]
                joint = (
                    J[0, s] * xx + J[1, s] * yy + J[2, s] * xy + J[3, s] * x + J[4, s] * y + J[5, s]
                )
                ell[s] += joint
                perf_sum += perf
                pet_sum += joint - perf
        elif ps == VALUE:
            P = L.perf_quad[t, c]
            for s in range(S):
                perf = (P[0, s] * x + P[1, s]) * x + P[2, s]
                ell[s] += perf
                perf_sum += perf
        elif qs == VALUE:
            Q = L.pet_quad[r, c]
            for s in range(S):
                pet = (Q[0, s] * y + Q[1, s]) * y + Q[2, s]
                ell[s] += pet
                pet_sum += pet

        for j in range(f.symptom_yes.shape[1]):
            if f.symptom_yes[i, j] > 0:
                row = L.log_yes[j]
            elif f.symptom_no[i, j] > 0:
                row = L.log_no[j]
            else:
                continue
            for s in range(S):
                ell[s] += row[s]
                symptom_sum += row[s]

        g = f.growth_stats[i]
        if g[3] > 0:
            G = L.growth_quad
            for s in range(S):
                term = G[0, s] * g[0] + G[1, s] * g[1] + G[2, s] * g[2] + G[3, s] * g[3]
                ell[s] += term
                growth_sum += term

        p_sum = 0.0
        for s in range(S):
            p = _sigmoid(ell[s])
            p_sum += p
            if keep_draws:
                out_draws[i, s] = p
        out_p[i] = p_sum / S
        out_terms[i, 0] = prior_sum / S
        out_terms[i, 1] = perf_sum / S
        out_terms[i, 2] = pet_sum / S
        out_terms[i, 3] = symptom_sum / S
        out_terms[i, 4] = growth_sum / S
        lo0, lo1, hi0, hi1 = order_statistics(ell, k_low, k_high, scratch1, scratch2)
        p_lo0, p_lo1, p_hi0, p_hi1 = _sigmoid(lo0), _sigmoid(lo1), _sigmoid(hi0), _sigmoid(hi1)
        out_low[i] = p_lo0 + (h_low - k_low) * (p_lo1 - p_lo0)
        out_high[i] = p_hi0 + (h_high - k_high) * (p_hi1 - p_hi0)


@njit(cache=True, parallel=True)
def _class_log_joint_kernel(f, C, M, out):
    """log P(class) + log p(evidence | class), exact formulas from the per-class tables."""
    for i in prange(len(f.center)):
        g = f.growth_stats[i]
        for s in range(out.shape[1]):
            for k in range(2):
                value = C.log_prior[k, f.center[i], f.early_level[i], f.mgmt_level[i], s]
                value += _class_imaging(f, M, i, k, s)[1]
                for j in range(f.symptom_yes.shape[1]):
                    value += f.symptom_yes[i, j] * C.log_yes[k, j, s]
                    value += f.symptom_no[i, j] * C.log_no[k, j, s]
                G = C.growth_quad[k]
                value += G[0, s] * g[0] + G[1, s] * g[1] + G[2, s] * g[2] + G[3, s] * g[3]
                out[i, s, k] = value


# ---------------------------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ScoreArrays:
    """Per-lesion results of :func:`score` (arrays of length n)."""

    p_mean: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    terms: np.ndarray  # (n, 5) mean over draws of each term of the log-odds (CONTRIBUTIONS)
    p_draws: np.ndarray | None  # (n, S) when asked for


def score(
    lesions: Lesions,
    tables: ScoreTables,
    n_centers: int,
    ci_prob: float = 0.90,
    keep_draws: bool = False,
) -> ScoreArrays:
    """Posterior P(recurrence) of each lesion, over all draws.

    Parameters
    ----------
    lesions : Lesions
        Encoded lesions (centers indexed like the fit; unseen centers allowed).
    tables : ScoreTables
        From :func:`model.likelihood.tables.build_tables`.
    n_centers : int
        Number of training centers C.
    ci_prob : float, default 0.90
        Probability mass of the equal-tailed interval.
    keep_draws : bool, default False
        Also return P(recurrence) per draw (an n x S array: keep n moderate).

    Returns
    -------
    ScoreArrays
    """
    if not 0 < ci_prob < 1:
        raise ValueError("ci_prob must be strictly between 0 and 1")
    f = lesion_features(lesions, n_centers)
    n, S = len(lesions), tables.n_draws
    out_p, out_low, out_high = np.empty(n), np.empty(n), np.empty(n)
    out_terms = np.empty((n, len(CONTRIBUTIONS)))
    out_draws = np.empty((n, S) if keep_draws else (0, 0))
    reads_index, reads_llr = _reads_only(f, tables)
    tail = (1.0 - ci_prob) / 2.0
    _score_kernel(
        f, tables.ratio, tables.reads, reads_index, reads_llr, tail, 1.0 - tail, keep_draws,
        out_p, out_low, out_high, out_terms, out_draws,
    )  # fmt: skip
    return ScoreArrays(out_p, out_low, out_high, out_terms, out_draws if keep_draws else None)


def _reads_only(f: LesionFeatures, tables: ScoreTables) -> tuple[np.ndarray, np.ndarray]:
    """Index of each lesion's reads-only imaging configuration (-1 if none) and their LLR rows."""
    reads_only = (
        (f.perf_state != VALUE)
        & (f.pet_state != VALUE)
        & ((f.perf_state == READ) | (f.pet_state == READ))
    )
    index = np.full(len(f.center), -1, dtype=np.int64)
    if not reads_only.any():
        return index, np.zeros((0, 2, tables.n_draws))
    imaging = ("perf_state", "pet_state", "perf_kind", "pet_kind", "center")
    imaging += ("perf_value", "perf_sign", "pet_value", "pet_sign")
    keys = np.column_stack([getattr(f, name) for name in imaging])[reads_only]
    inverse = np.unique(keys, axis=0, return_inverse=True)[1].ravel()
    index[reads_only] = inverse
    first = np.flatnonzero(reads_only)[np.unique(inverse, return_index=True)[1]]  # one per config
    configurations = LesionFeatures(*(np.ascontiguousarray(a[first]) for a in f))
    rows = np.empty((len(first), 2, tables.n_draws))
    _reads_only_kernel(configurations, tables.moments, rows)
    return index, rows


def class_log_joint(lesions: Lesions, tables: ScoreTables, n_centers: int) -> np.ndarray:
    """log P(class k) + log p(evidence | class k) per lesion, draw and class: (n, S, 2).

    The same quantity as the PyMC model's class log-joint (labels excluded), computed with the
    exact formulas rather than the scoring kernel's shortcuts.
    """
    out = np.empty((len(lesions), tables.n_draws, 2))
    _class_log_joint_kernel(
        lesion_features(lesions, n_centers), tables.by_class, tables.moments, out
    )
    return out
