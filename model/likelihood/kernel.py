"""The scorer's likelihood: per-lesion, per-draw class log-likelihoods in closed form (numba).

For every posterior draw the evidence of a lesion is evaluated exactly as in
:mod:`model.likelihood.pymc_model`, from the coefficient tables of :mod:`model.likelihood.tables`:

- a marker's number: the core log likelihood ratio (linear in the log value) through the misread
  mixture (:func:`model.modalities.forms.misread_llr`);
- a read or a binary test result: its precomputed row;
- a marker measured again at follow-up: its changes between scans, a trajectory like growth
  (:mod:`model.likelihood.trends`), through the marker's misread mixture, in the marker's term;
- symptoms: the items' log rates given decline, mixed over decline
  (:func:`model.likelihood.symptoms.symptom_log_lik`); growth: the lesion's rescans together
  (:mod:`model.likelihood.growth`), through the misread mixture.

:func:`score` reduces over draws without materialising the lesion x draw matrix: the mean of
P(recurrence), an equal-tailed interval, and the mean of each term of the log-odds.
:func:`class_log_joint` gives the per-class values that the PyMC model is tested against and that
pre-posterior analyses use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numba import njit, prange
from scipy.special import expit, logsumexp

from model.inputs.encode import READ, VALUE, Lesions
from model.inputs.vocabulary import MAX_LESIONS_PER_PATIENT
from model.likelihood.growth import (
    only_pattern,
    trajectory_core_llr,
    trajectory_log_density_scalar,
    trajectory_terms,
)
from model.likelihood.order_statistics import order_statistics
from model.likelihood.patients import PatientGroups, configuration_log_weights, configurations
from model.likelihood.symptoms import decline_logit_numba, symptom_log_lik
from model.likelihood.tables import ScoreTables, lesion_features
from model.modalities.forms import misread_llr, misread_shifts
from model.modalities.registry import Registry

SCORE_BLOCK_VALUES = 4_000_000
"""Lesions x draws :func:`score` handles at a time: each distinct prior context at an unseen
center among them holds log P(class) for every draw
(:func:`model.likelihood.tables.unseen_center_log_priors`), so the blocks keep that bounded whatever
the number of lesions."""


def contributions(registry: Registry) -> tuple[str, ...]:
    """Terms of the posterior log-odds, in order.

    The prior, each modality, symptoms, growth, and what the patient's other lesions add (0 for a
    patient's only lesion).
    """
    return ("prior", *registry.names, "symptoms", "growth", "other_lesions")


@njit(cache=True)
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))  # exp overflows to inf for x < -709: gives 0, as it should


# reassociation lets LLVM vectorise the per-draw sums; infinities and NaNs keep their IEEE meaning
# (no "ninf"/"nnan"), which the sigmoid of an overflowing log-odds relies on
@njit(cache=True, parallel=True, fastmath={"reassoc", "contract", "nsz"})
def _score_kernel(
    f, T, rows, priors, q_low, q_high, keep_draws, out_p, out_low, out_high, out_terms, out_draws
):
    """Per lesion: accumulate the log-odds of every draw term by term, then reduce over draws."""
    n = len(f.center)
    S = T.prior_terms.shape[-1]
    slots = f.state.shape[1]
    width = T.core_intercept.shape[2] // 2
    h_low, h_high = q_low * (S - 1), q_high * (S - 1)
    k_low, k_high = int(math.floor(h_low)), int(math.floor(h_high))
    for i in prange(n):
        ell = np.empty(S)
        scratch1 = np.empty(S)
        scratch2 = np.empty(S)
        c, w = f.center[i], f.early[i]
        bend = w * w - w
        total = 0.0
        _prior_log_odds(f, T, priors, i, ell)
        for s in range(S):
            total += ell[s]
        out_terms[i, 0] = total / S

        for e in range(slots):
            term = 0.0
            if f.state[i, e] == VALUE:
                j, u, eps = f.kind[i, e], f.value[i, e], T.misread[e]
                a0, a1 = T.core_intercept[e, j, c], T.core_intercept[e, j, c + width]
                b0, b1 = T.core_slope[e, j, c], T.core_slope[e, j, c + width]
                bow = T.core_curvature[e, j, c]
                for s in range(S):
                    a = a0[s] + w * (a1[s] - a0[s]) + bend * bow[s]
                    b = b0[s] + w * (b1[s] - b0[s])
                    t = misread_llr(a + b * u, eps)
                    ell[s] += t
                    term += t
            elif f.state[i, e] == READ:
                r = rows[f.row[i, e]]
                for s in range(S):
                    t = r[1, s] - r[0, s]
                    ell[s] += t
                    term += t
            if f.trend_sums[i, e, 3] > 0:
                P, W, R, eps = (
                    f.trend_sums[i, e, 0],
                    f.trend_sums[i, e, 1],
                    T.trend[e],
                    T.misread[e],
                )
                for s in range(S):
                    t = misread_llr(
                        trajectory_core_llr(P, W, R[0, s], R[1, s], R[3, s], R[4, s]), eps
                    )
                    ell[s] += t
                    term += t
            out_terms[i, 1 + e] = term / S

        term = 0.0
        if _symptom_answers(f, T, i, scratch1, scratch2):
            D = T.decline
            eta = decline_logit_numba(D, f.x_edema[i], f.x_eloquent[i], f.x_steroid[i])
            for s in range(S):
                t = symptom_log_lik(scratch1[s], scratch2[s], eta[s] + D[1, s]) - symptom_log_lik(
                    scratch1[s], scratch2[s], eta[s]
                )
                ell[s] += t
                term += t
        out_terms[i, 1 + slots] = term / S

        term = 0.0
        if f.growth_sums[i, 3] > 0:
            G = T.growth
            single = only_pattern(f.steroid_log_weight[i])
            for s in range(S):
                _, core = _trajectory(f, i, G, s, single, False)
                t = misread_llr(core, T.growth_misread)
                ell[s] += t
                term += t
        out_terms[i, 2 + slots] = term / S

        p_sum = 0.0
        for s in range(S):
            p = _sigmoid(ell[s])
            p_sum += p
            if keep_draws:
                out_draws[i, s] = p
        out_p[i] = p_sum / S
        lo0, lo1, hi0, hi1 = order_statistics(ell, k_low, k_high, scratch1, scratch2)
        p_lo0, p_lo1, p_hi0, p_hi1 = _sigmoid(lo0), _sigmoid(lo1), _sigmoid(hi0), _sigmoid(hi1)
        out_low[i] = p_lo0 + (h_low - k_low) * (p_lo1 - p_lo0)
        out_high[i] = p_hi0 + (h_high - k_high) * (p_hi1 - p_hi0)


@njit(cache=True)
def _prior_log_probabilities(f, T, priors, i, s):
    """log P(necrosis), log P(recurrence) of lesion i at draw s, before any evidence.

    At a training center from the prior's coefficients, mixed over the statuses an unknown one
    may hide (:func:`model.likelihood.class_prior.class_prior_log_probabilities`: the components'
    probabilities summed, each class's logistic written so that neither overflows); at an unseen
    center from its precomputed row.
    """
    row = f.prior_row[i]
    if row >= 0:
        return priors[row, 0, s], priors[row, 1, s]
    c, x, P = f.center[i], f.x_early[i], T.prior_terms
    base = P[0, s] + T.prior_offsets[c, s] + P[1, s] * x
    p0 = p1 = 0.0
    for h in range(f.prior_log_weight.shape[1]):
        w = f.prior_log_weight[i, h]
        if w == -math.inf:
            continue
        m = f.prior_mgmt[i, h]
        eta = base + P[2, s] * m + P[3, s] * m * x + P[4, s] * f.prior_reirradiation[i, h]
        e = math.exp(-abs(eta))
        weight = math.exp(w) / (1.0 + e)
        p1 += weight if eta >= 0 else weight * e
        p0 += weight * e if eta >= 0 else weight
    return math.log(p0), math.log(p1)


@njit(cache=True)
def _prior_log_odds(f, T, priors, i, out):
    """Lesion i's prior log-odds, log P(recurrence) - log P(necrosis), for every draw, into out.

    The logit itself when the lesion's statuses are known (one mixture component: a loop the
    compiler vectorises), else from :func:`_prior_log_probabilities` draw by draw.
    """
    only = -1
    for h in range(f.prior_log_weight.shape[1]):
        if f.prior_log_weight[i, h] != -math.inf:
            only = h if only == -1 else -2
    if f.prior_row[i] >= 0 or only < 0:
        for s in range(out.shape[0]):
            log0, log1 = _prior_log_probabilities(f, T, priors, i, s)
            out[s] = log1 - log0
        return
    x, m, r = f.x_early[i], f.prior_mgmt[i, only], f.prior_reirradiation[i, only]
    P, u = T.prior_terms, T.prior_offsets[f.center[i]]
    for s in range(out.shape[0]):
        out[s] = P[0, s] + u[s] + (P[1, s] + P[3, s] * m) * x + P[2, s] * m + P[4, s] * r


@njit(cache=True)
def _trajectory(f, i, G, s, single, need_density):
    """log p(growth | necrosis) and the core log likelihood ratio of lesion i at draw s.

    ``single`` is :func:`~model.likelihood.growth.only_pattern` of the lesion.
    """
    return trajectory_terms(
        f.growth_sums[i],
        f.steroid_sums[i],
        f.steroid_log_weight[i],
        G[2, s],
        G[0, s],
        G[1, s],
        G[3, s],
        G[4, s],
        G[5, s],
        single,
        need_density,
    )


@njit(cache=True)
def _trend_class_logs(sums, R, eps, s):
    """A marker's follow-up changes at draw s: log p(changes | necrosis) and the misread shifts.

    The shifts are those of the two classes (:mod:`model.likelihood.trends`).
    """
    P, W, Q, m = sums[0], sums[1], sums[2], sums[3]
    base = trajectory_log_density_scalar(P, W, Q, m, R[2, s], R[3, s], R[4, s])
    core = trajectory_core_llr(P, W, R[0, s], R[1, s], R[3, s], R[4, s])
    shift0, shift1 = misread_shifts(core, math.log1p(-eps), math.log(eps))
    return base, shift0, shift1


@njit(cache=True)
def _symptom_answers(f, T, i, with_decline, without):
    """Per draw, the log-probability of lesion i's recorded items with decline and without it.

    Written into the two arrays; returns False when no item is recorded.
    """
    with_decline[:] = 0.0
    without[:] = 0.0
    recorded = False
    Y = T.symptom_log
    for j in range(f.symptom_yes.shape[1]):
        if f.symptom_yes[i, j] > 0:
            answer = 0
        elif f.symptom_no[i, j] > 0:
            answer = 1
        else:
            continue
        recorded = True
        for s in range(with_decline.shape[0]):
            with_decline[s] += Y[answer, j, s]
            without[s] += Y[2 + answer, j, s]
    return recorded


@njit(cache=True, parallel=True)
def _class_log_joint_kernel(f, T, rows, priors, out):
    """log P(class) + log p(evidence | class), both classes, from the same tables."""
    S = out.shape[1]
    width = T.core_intercept.shape[2] // 2
    for i in prange(len(f.center)):
        c, w = f.center[i], f.early[i]
        bend = w * w - w
        l1, l0 = np.empty(S), np.empty(S)
        recorded = _symptom_answers(f, T, i, l1, l0)
        D = T.decline
        eta = decline_logit_numba(D, f.x_edema[i], f.x_eloquent[i], f.x_steroid[i])
        rescanned = f.growth_sums[i, 3] > 0
        single = only_pattern(f.steroid_log_weight[i])
        for s in range(S):
            v0, v1 = _prior_log_probabilities(f, T, priors, i, s)
            for e in range(f.state.shape[1]):
                if f.state[i, e] == VALUE:
                    j, u = f.kind[i, e], f.value[i, e]
                    q, q1 = T.base_quad[e, j, c], T.base_quad[e, j, c + width]
                    lin = q[1, s] + w * (q1[1, s] - q[1, s])
                    const = q[2, s] + w * (q1[2, s] - q[2, s]) + bend * T.base_curvature[e, j, c, s]
                    base = (q[0, s] * u + lin) * u + const
                    a0, a1 = T.core_intercept[e, j, c, s], T.core_intercept[e, j, c + width, s]
                    b0, b1 = T.core_slope[e, j, c, s], T.core_slope[e, j, c + width, s]
                    a = a0 + w * (a1 - a0) + bend * T.core_curvature[e, j, c, s]
                    core = a + (b0 + w * (b1 - b0)) * u
                    keep, slip = math.log1p(-T.misread[e]), math.log(T.misread[e])
                    shift0, shift1 = misread_shifts(core, keep, slip)
                    v0 += base + shift0
                    v1 += base + shift1
                elif f.state[i, e] == READ:
                    v0 += rows[f.row[i, e], 0, s]
                    v1 += rows[f.row[i, e], 1, s]
                if f.trend_sums[i, e, 3] > 0:
                    base, shift0, shift1 = _trend_class_logs(
                        f.trend_sums[i, e], T.trend[e], T.misread[e], s
                    )
                    v0 += base + shift0
                    v1 += base + shift1
            if recorded:
                v0 += symptom_log_lik(l1[s], l0[s], eta[s])
                v1 += symptom_log_lik(l1[s], l0[s], eta[s] + D[1, s])
            if rescanned:
                keep, slip = math.log1p(-T.growth_misread), math.log(T.growth_misread)
                base, core = _trajectory(f, i, T.growth, s, single, True)
                shift0, shift1 = misread_shifts(core, keep, slip)
                v0 += base + shift0
                v1 += base + shift1
            out[i, s, 0] = v0
            out[i, s, 1] = v1


@njit(cache=True, parallel=True)
def _prior_kernel(f, T, priors, out):
    """log P(necrosis), log P(recurrence) of every lesion and draw."""
    for i in prange(len(f.center)):
        for s in range(out.shape[1]):
            out[i, s, 0], out[i, s, 1] = _prior_log_probabilities(f, T, priors, i, s)


# ---------------------------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ScoreArrays:
    """Per-lesion results of :func:`score` (arrays of length n)."""

    p_mean: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    terms: np.ndarray  # (n, terms): mean over draws of each term of the log-odds (contributions)
    p_draws: np.ndarray | None  # (n, S) when asked for
    patient_p_mean: np.ndarray  # P(any of the lesion's patient's lesions is recurrence)
    patient_p_low: np.ndarray
    patient_p_high: np.ndarray


def score(
    lesions: Lesions,
    tables: ScoreTables,
    n_centers: int,
    registry: Registry,
    ci_prob: float = 0.90,
    keep_draws: bool = False,
) -> ScoreArrays:
    """Posterior P(recurrence) of each lesion, over all draws.

    A patient's only lesion is scored by the kernel alone. The lesions of a patient with several
    are scored together (:mod:`model.likelihood.patients`): each one's posterior sums over the
    class configurations of all of them, so the patient's symptoms count once and the other
    lesions' evidence speaks through the concordance; the log-odds this adds to the lesion's own
    terms is the ``other_lesions`` term.

    Parameters
    ----------
    lesions : Lesions
        Encoded lesions (centers indexed like the fit; unseen centers allowed).
    tables : ScoreTables
        From :func:`model.likelihood.tables.build_tables`.
    n_centers : int
        Number of training centers C.
    registry : Registry
        The fit's modalities.
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
    n, S = len(lesions), tables.n_draws
    out_p, out_low, out_high = np.empty(n), np.empty(n), np.empty(n)
    out_terms = np.zeros((n, len(registry) + 4))
    own_terms = np.empty((n, len(registry) + 3))
    groups = PatientGroups.of(lesions.patient)
    out_draws = np.empty((n, S) if keep_draws else (0, 0))
    tail = (1.0 - ci_prob) / 2.0
    step = max(1, SCORE_BLOCK_VALUES // S)
    for start in range(0, n, step):
        part = slice(start, start + step)
        f, rows, priors = lesion_features(lesions.subset(part), n_centers, tables, registry)
        _score_kernel(
            f,
            tables.tables,
            rows,
            priors,
            tail,
            1.0 - tail,
            keep_draws,
            out_p[part],
            out_low[part],
            out_high[part],
            own_terms[part],
            out_draws[part] if keep_draws else out_draws,
        )
    out_terms[:, :-1] = own_terms
    patient = [out_p.copy(), out_low.copy(), out_high.copy()]
    quantiles = (tail, 1.0 - tail)
    for members, log_odds, p_any, offset in _joint_patients(
        lesions, groups, tables, n_centers, registry
    ):
        p = expit(log_odds)
        if keep_draws:
            out_draws[members] = p
        out_p[members] = p.mean(axis=1)
        out_low[members], out_high[members] = np.quantile(p, quantiles, axis=1)
        out_terms[members, -1] = offset.mean(axis=1)
        patient[0][members] = p_any.mean()
        patient[1][members], patient[2][members] = np.quantile(p_any, quantiles)
    return ScoreArrays(
        out_p,
        out_low,
        out_high,
        out_terms,
        out_draws if keep_draws else None,
        *patient,
    )


def patient_offsets(
    lesions: Lesions, tables: ScoreTables, n_centers: int, registry: Registry
) -> np.ndarray:
    """Per lesion and draw, what its patient's other lesions add to its log-odds: (n, S).

    0 for a patient's only lesion. The offset does not depend on the lesion's own evidence (the
    other lesions, the shared symptoms and the concordance act on it as a prior would), so a new
    result of the lesion adds its likelihood ratio to it: what the pre-posterior analyses of
    :mod:`model.decision.value` rely on.
    """
    out = np.zeros((len(lesions), tables.n_draws))
    groups = PatientGroups.of(lesions.patient)
    for members, _, _, offset in _joint_patients(lesions, groups, tables, n_centers, registry):
        out[members] = offset
    return out


def _joint_patients(
    lesions: Lesions, groups: PatientGroups, tables: ScoreTables, n_centers: int, registry
):
    """Score each patient with several lesions, its lesions together.

    Yields, per such patient: its lesions' indices, their posterior log-odds (m, S),
    P(any of them is recurrence) (S,) and what the other lesions add to each one's log-odds
    (m, S). The per-lesion terms of all of them are computed in one pass.
    """
    several = [slots[slots >= 0] for slots in groups.slots[groups.counts > 1]]
    if not several:
        return
    too_many = max(len(members) for members in several)
    if too_many > MAX_LESIONS_PER_PATIENT:
        raise ValueError(
            f"a patient has {too_many} lesions; at most {MAX_LESIONS_PER_PATIENT} are scored "
            "together (each lesion needs its own patient number otherwise)"
        )
    prior, symptoms, evidence = class_log_terms(
        lesions.subset(np.concatenate(several)), tables, n_centers, registry
    )
    alone = prior + symptoms + evidence
    start = 0
    for members in several:
        rows = slice(start, start + len(members))
        start += len(members)
        weights = configuration_log_weights(
            prior[rows][0], symptoms[rows][0], evidence[rows], tables.concordance
        )
        configs = configurations(len(members))
        log_odds = np.stack(
            [
                logsumexp(weights[configs[:, j] == 1], axis=0)
                - logsumexp(weights[configs[:, j] == 0], axis=0)
                for j in range(len(members))
            ]
        )
        p_any = -np.expm1(weights[0] - logsumexp(weights, axis=0))
        offset = log_odds - (alone[rows, :, 1] - alone[rows, :, 0])
        yield members, log_odds, p_any, offset


def class_log_terms(
    lesions: Lesions, tables: ScoreTables, n_centers: int, registry: Registry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split :func:`class_log_joint` in three parts, each (n, S, 2).

    log P(class), the symptoms' log-likelihood, and that of the lesion's own imaging and growth.
    """
    full = class_log_joint(lesions, tables, n_centers, registry)
    silent = replace(
        lesions,
        symptom_yes=np.zeros_like(lesions.symptom_yes),
        symptom_no=np.zeros_like(lesions.symptom_no),
    )
    without_symptoms = class_log_joint(silent, tables, n_centers, registry)
    prior = class_log_priors(lesions, tables, n_centers)
    return prior, full - without_symptoms, without_symptoms - prior


def class_log_priors(lesions: Lesions, tables: ScoreTables, n_centers: int) -> np.ndarray:
    """log P(class k) before any evidence, per lesion, draw and class: (n, S, 2).

    The class prior the kernels use: at the lesion's center, in its covariates' context, mixed
    over the statuses an unknown one may hide.
    """
    f, _, priors = lesion_features(lesions, n_centers, tables, Registry(()))
    out = np.empty((len(lesions), tables.n_draws, 2))
    _prior_kernel(f, tables.tables, priors, out)
    return out


def class_log_joint(
    lesions: Lesions, tables: ScoreTables, n_centers: int, registry: Registry
) -> np.ndarray:
    """log P(class k) + log p(evidence | class k) per lesion, draw and class: (n, S, 2).

    The same quantity as the PyMC model's class log-joint (labels excluded).
    """
    f, rows, priors = lesion_features(lesions, n_centers, tables, registry)
    out = np.empty((len(lesions), tables.n_draws, 2))
    _class_log_joint_kernel(f, tables.tables, rows, priors, out)
    return out
