"""What the scoring kernels read: per-draw coefficient tables and per-lesion features (NumPy).

With a spread shared by both classes, a continuous marker's core log likelihood ratio is linear in
the log value, L(u) = intercept + slope u, and its necrosis log-density quadratic; the misread
mixture (:mod:`model.modalities.forms`) turns L into the bounded ratio. So the posterior draws are
turned once into coefficient tables, per modality slot, kind, center and draw, and the kernels in
:mod:`model.likelihood.kernel` only multiply, add and apply the mixture. A read or a binary test
result is a discrete configuration (slot, kind, center, cutoff, sign): each distinct one is computed
once, exactly, and shared by every lesion that has it.

A center the fit has not seen has its calibration shift integrated out analytically: the shift is
shared by both classes and by both misread components, so its normal integrates into the spread
(sd^2 + tau^2), and the class prior is averaged over the center distribution by Gauss-Hermite
quadrature.

The class prior depends on the lesion's continuous pseudoprogression-window weight, so it is not
tabulated: at a training center the kernels compute it per draw from the prior's coefficients
(:class:`Tables`) and the lesion's mixture components (:class:`LesionFeatures`); at an unseen
center, where the center's offset is integrated out, :func:`unseen_center_log_priors` computes
it once for each distinct context among the lesions scored.

Layout: draws last and contiguous; the center axis has the C training centers plus one for an
unseen center; modality slots follow the registry (padded for binary tests). The imaging tables'
column axis holds that center axis twice: long after radiotherapy (window weight 0), then at its
end (weight 1), where a marker with an early shift has its treatment-effect location moved
towards recurrence. The location is linear in the weight w, so a coefficient at weight w is
``(1 - w) late + w early + (w^2 - w) curvature`` (:class:`Tables`), exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from model.inputs.encode import READ, UNSEEN_CENTER, Lesions
from model.likelihood.class_prior import (
    PRIOR_TERMS,
    PriorComponents,
    class_prior_log_probabilities,
    prior_components,
)
from model.likelihood.draws import PosteriorDraws
from model.likelihood.growth import growth_features
from model.likelihood.trends import trend_sums
from model.modalities.forms import binary_log_prob, misread_read_log_prob, numpy_backend
from model.modalities.registry import Registry
from model.modalities.spec import Marker

LOG_2PI = math.log(2.0 * math.pi)
HERMITE_NODES, HERMITE_WEIGHTS = np.polynomial.hermite.hermgauss(40)
_UNSEEN_BLOCK_VALUES = 4_000_000
"""Bound on the values one block of the unseen center's quadrature holds."""


def center_columns(lesions: Lesions, n_centers: int) -> np.ndarray:
    """Each lesion's index on the tables' center axis: (n,), an unseen center at ``n_centers``.

    It is also the lesion's column on the imaging tables' late half; its early column is
    ``n_centers + 1`` further on.
    """
    return np.where(lesions.center == UNSEEN_CENTER, n_centers, lesions.center)


class Moments(NamedTuple):
    """Class locations and the shared spread of every marker kind, per imaging column and draw.

    ``location`` is (slot, kind, 2(C+1), 2, S) on the log scale (the center's shift included; zero
    for an unseen center), ``spread`` (slot, kind, 2(C+1), S) (widened by tau for an unseen
    center), ``misread`` (slot,). Binary slots hold zeros.
    """

    location: np.ndarray
    spread: np.ndarray
    misread: np.ndarray

    def at(self, slot, kind, center, weight) -> tuple[np.ndarray, np.ndarray]:
        """Class locations (..., 2, S) and spread (..., S) at centers and window weights.

        ``center`` indexes the center axis (:func:`center_columns`), ``weight`` is the
        pseudoprogression-window weight (:mod:`model.inputs.early_window`); all broadcast.
        """
        width = self.location.shape[2] // 2
        late = self.location[slot, kind, center]
        early = self.location[slot, kind, np.asarray(center) + width]
        w = np.asarray(weight, dtype=float)[..., None, None]
        return late + w * (early - late), self.spread[slot, kind, center]


class PriorTerms(NamedTuple):
    """The class prior's per-draw coefficients (:mod:`model.likelihood.class_prior`)."""

    coefficients: np.ndarray  # (terms, S), in PRIOR_TERMS order
    tau_u: np.ndarray  # (S,): the spread of the centers' offsets, for an unseen center
    shares: tuple[float, float]  # P(methylated), P(re-irradiated) behind an unknown status


class Tables(NamedTuple):
    """Everything the kernels read, draws last.

    The imaging coefficients are the late half and early half of the column axis
    (:class:`Moments`), plus the curvature in the window weight w of the two that are quadratic
    in it: the core intercept and the necrosis log-density's constant term.
    """

    core_intercept: np.ndarray  # (slot, kind, 2(C+1), S): L(u) = intercept + slope u
    core_slope: np.ndarray  # (slot, kind, 2(C+1), S)
    core_curvature: np.ndarray  # (slot, kind, C+1, S): the intercept's w^2 coefficient
    base_quad: np.ndarray  # (slot, kind, 2(C+1), 3, S): log N(u; mu_0, sd) = q0 u^2 + q1 u + q2
    base_curvature: np.ndarray  # (slot, kind, C+1, S): q2's w^2 coefficient
    misread: np.ndarray  # (slot,)
    symptom_log: np.ndarray  # (4, symptom, S): log P(yes | D), log P(no | D), then without D
    decline: np.ndarray  # (5, S): the decline logit's coefficients (draws.DECLINE_TERMS)
    growth: np.ndarray  # (6, S): rho_1 - rho_0, (rho_1^2 - rho_0^2) / 2, rho_0, sd^2, tau^2, beta
    growth_misread: float
    trend: np.ndarray  # (slot, 5, S): a marker's change between scans, in growth's first 5 rows
    prior_terms: np.ndarray  # (5, S): the class prior's coefficients, in PRIOR_TERMS order
    prior_offsets: np.ndarray  # (C+1, S): the centers' offsets u (0 for an unseen center)


@dataclass(frozen=True, eq=False)
class ScoreTables:
    """The kernels' tables and the moments they came from."""

    tables: Tables
    moments: Moments
    prior: PriorTerms
    binary: np.ndarray  # (slot, 2 result, 2 class, S): log P(result | class) of binary tests
    concordance: np.ndarray  # (S,): P(a patient's lesions share one class), beyond chance
    steroid_share: float  # P(steroid dose raised) behind a rescan without a record

    @property
    def n_draws(self) -> int:
        """Number of draws S."""
        return self.concordance.shape[-1]

    def select(self, draws: slice | np.ndarray) -> ScoreTables:
        """The tables of some draws only."""

        def pick(group):
            return type(group)(
                *(
                    np.ascontiguousarray(t[..., draws])
                    if np.ndim(t) and name not in _NO_DRAWS
                    else t
                    for name, t in zip(group._fields, group, strict=True)
                )
            )

        return ScoreTables(
            pick(self.tables),
            pick(self.moments),
            pick(self.prior),
            np.ascontiguousarray(self.binary[..., draws]),
            np.ascontiguousarray(self.concordance[draws]),
            self.steroid_share,
        )


_NO_DRAWS = {"misread", "growth_misread", "shares"}


def build_tables(draws: PosteriorDraws, registry: Registry) -> ScoreTables:
    """Tabulate the per-draw coefficients the kernels read.

    Parameters
    ----------
    draws : PosteriorDraws
    registry : Registry
        The fit's modalities (the slots, in order).

    Returns
    -------
    ScoreTables
    """
    moments = class_moments(draws, registry)
    loc, sd = moments.location, moments.spread
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_var = np.where(sd > 0, 1.0 / sd**2, 0.0)
        log_sd = np.where(sd > 0, np.log(np.where(sd > 0, sd, 1.0)), 0.0)
    mu0, mu1 = loc[..., 0, :], loc[..., 1, :]
    slope = (mu1 - mu0) * inv_var
    intercept = -0.5 * (mu1**2 - mu0**2) * inv_var
    base_quad = np.stack(
        [-0.5 * inv_var, mu0 * inv_var, -0.5 * mu0**2 * inv_var - log_sd - 0.5 * LOG_2PI], axis=-2
    )
    width = draws.n_centers + 1
    shift = loc[:, :, width:] - loc[:, :, :width]  # (slot, kind, C+1, 2, S): late to early
    late_inv_var = inv_var[:, :, :width]
    if_decline, if_stable = draws.symptom_if_decline.T, draws.symptom_if_stable.T  # (symptom, S)
    symptom_log = np.stack(
        [np.log(if_decline), np.log1p(-if_decline), np.log(if_stable), np.log1p(-if_stable)]
    )
    growth = np.stack(
        [
            *_trajectory_rows(draws.growth_rate, draws.growth_sd, draws.growth_tau),
            draws.growth_steroid_shift,
        ]
    )
    tables = Tables(
        core_intercept=intercept,
        core_slope=slope,
        core_curvature=-0.5 * (shift[..., 1, :] ** 2 - shift[..., 0, :] ** 2) * late_inv_var,
        base_quad=base_quad,
        base_curvature=-0.5 * shift[..., 0, :] ** 2 * late_inv_var,
        misread=moments.misread,
        symptom_log=symptom_log,
        decline=draws.decline.T,
        growth=growth,
        growth_misread=float(draws.growth_misread),
        trend=_trend_table(draws, registry),
        prior_terms=np.stack([getattr(draws, name) for name in PRIOR_TERMS]),
        prior_offsets=np.concatenate([draws.u.T, np.zeros((1, draws.n_draws))]),
    )
    contiguous = Tables(*(np.ascontiguousarray(t) if np.ndim(t) else t for t in tables))
    prior = PriorTerms(
        contiguous.prior_terms,
        draws.tau_u,
        draws.hidden_shares,
    )
    return ScoreTables(
        contiguous,
        moments,
        prior,
        _binary_table(draws, registry),
        np.ascontiguousarray(draws.concordance, dtype=float),
        draws.steroid_share,
    )


def _trajectory_rows(rate: np.ndarray, sd: np.ndarray, tau: np.ndarray) -> list[np.ndarray]:
    """rho_1 - rho_0, (rho_1^2 - rho_0^2) / 2, rho_0, sd^2, tau^2 of a trajectory, per draw."""
    r0, r1 = rate[:, 0], rate[:, 1]
    return [r1 - r0, 0.5 * (r1**2 - r0**2), r0, sd**2, tau**2]


def _trend_table(draws: PosteriorDraws, registry: Registry) -> np.ndarray:
    """(slot, 5, S): each marker's change between scans (:mod:`model.likelihood.trends`)."""
    out = np.zeros((len(registry), 5, draws.n_draws))
    out[:, 3] = 1.0  # a slot without follow-up values: unit noise, never read
    for e, modality in enumerate(registry):
        m = draws.markers.get(modality.name)
        if m is not None:
            out[e] = _trajectory_rows(m.trend_rate, m.trend_sd, m.trend_tau)
    return out


def class_moments(draws: PosteriorDraws, registry: Registry) -> Moments:
    """Each marker kind's class locations and spread per imaging column and draw."""
    slots = len(registry)
    kinds = max((len(m.kinds) for m in registry.markers), default=1)
    n_centers, S = draws.n_centers, draws.n_draws
    width = n_centers + 1
    location = np.zeros((slots, kinds, 2 * width, 2, S))
    spread = np.zeros((slots, kinds, 2 * width, S))
    misread = np.zeros(slots)
    for e, modality in enumerate(registry):
        if not isinstance(modality, Marker):
            continue
        m = draws.markers[modality.name]
        k = len(modality.kinds)
        sigma = m.sigma.T  # (K, S)
        for early in (False, True):
            known = slice(width * early, width * early + n_centers)
            unseen = width * early + n_centers
            classes = m.class_locations(early).transpose(1, 2, 0)  # (K, 2, S)
            location[e, :k, known] = classes[:, None] + m.offset.T[None, :, None, :]
            location[e, :k, unseen] = classes
            spread[e, :k, known] = sigma[:, None, :]
            spread[e, :k, unseen] = np.sqrt(sigma**2 + m.tau[None, :] ** 2)
        misread[e] = m.misread
    return Moments(location, spread, misread)


def _binary_table(draws: PosteriorDraws, registry: Registry) -> np.ndarray:
    """log P(result | class) of each binary test: (slot, result, class, S)."""
    out = np.zeros((len(registry), 2, 2, draws.n_draws))
    xp = numpy_backend()
    for e, modality in enumerate(registry):
        if modality.name not in draws.binary:
            continue
        b = draws.binary[modality.name]
        for result in (0, 1):
            out[e, result] = binary_log_prob(float(result), b.sensitivity, b.specificity, xp)
    return out


def unseen_center_log_priors(lesions: Lesions, prior: PriorTerms) -> tuple[np.ndarray, np.ndarray]:
    """log P(class) at a center the fit has not seen, per draw, once per distinct context.

    The center's offset is averaged over the center distribution, u ~ N(0, tau_u), by
    Gauss-Hermite quadrature; an unknown MGMT or re-irradiation status is the mixture over what
    it hides. (At a training center the kernels compute the prior themselves.)

    Parameters
    ----------
    lesions : Lesions
        Their centers are not read: every lesion is taken to be at an unseen center.
    prior : PriorTerms

    Returns
    -------
    index : int array (n,)
        Each lesion's row in ``log_prior``.
    log_prior : array (R, 2, S)
        log P(necrosis), log P(recurrence) of each distinct (x_early, MGMT, re-irradiation).
    """
    keys = np.column_stack([lesions.x_early, lesions.x_mgmt, lesions.x_reirradiation])
    unique, index = np.unique(keys, axis=0, return_inverse=True)
    x_early = unique[:, 0]
    components = prior_components(unique[:, 1], unique[:, 2], prior.shares)  # (4, R)
    coefficients = dict(zip(PRIOR_TERMS, prior.coefficients[:, None, :], strict=True))  # (1, S)
    out = np.empty((len(unique), 2, prior.tau_u.shape[-1]))
    unseen = np.arange(len(unique))
    nodes = np.sqrt(2.0) * prior.tau_u[None, None, :] * HERMITE_NODES[:, None, None]  # (Q, 1, S)
    log_weights = np.log(HERMITE_WEIGHTS / np.sqrt(np.pi))[:, None, None]
    step = max(1, _UNSEEN_BLOCK_VALUES // (4 * nodes.size))
    for start in range(0, len(unseen), step):
        block = unseen[start : start + step]
        parts = PriorComponents(*(c[:, None, block, None] for c in components))  # (4, 1, B, 1)
        at_nodes = class_prior_log_probabilities(
            coefficients, nodes, x_early[None, block, None], parts
        )  # each (Q, B, S)
        out[block] = np.stack(
            [np.logaddexp.reduce(v + log_weights, axis=0) for v in at_nodes], axis=1
        )
    return index.ravel(), out


class LesionFeatures(NamedTuple):
    """Lesion arrays as the kernels read them (contiguous, integer-coded)."""

    center: np.ndarray  # (n,) index on the tables' center axis (unseen = C)
    early: np.ndarray  # (n,) the pseudoprogression-window weight (imaging)
    x_early: np.ndarray  # (n,) the class prior's early-window code
    prior_mgmt: np.ndarray  # (n, 4) the prior's mixture components (class_prior.PriorComponents)
    prior_reirradiation: np.ndarray  # (n, 4)
    prior_log_weight: np.ndarray  # (n, 4), -inf for a component a known status rules out
    prior_row: (
        np.ndarray
    )  # (n,) row in the unseen center's priors (unseen_center_log_priors), else -1
    x_edema: np.ndarray  # (n,) the decline covariates
    x_eloquent: np.ndarray
    x_steroid: np.ndarray
    state: np.ndarray  # (n, slot) NONE, VALUE, READ
    kind: np.ndarray  # (n, slot)
    value: np.ndarray  # (n, slot) log value (VALUE)
    row: np.ndarray  # (n, slot) index into the discrete rows (READ), else -1
    symptom_yes: np.ndarray  # (n, symptom)
    symptom_no: np.ndarray
    growth_sums: np.ndarray  # (n, 4) P, W, Q, m of the rescans (growth.growth_features)
    steroid_sums: np.ndarray  # (n, K, 3) A, B, C of each pattern of steroid increases
    steroid_log_weight: np.ndarray  # (n, K), -inf for a pattern the record rules out
    trend_sums: np.ndarray  # (n, slot, 4) P, W, Q, m of each marker's follow-up changes


def lesion_features(
    lesions: Lesions, n_centers: int, tables: ScoreTables, registry: Registry
) -> tuple[LesionFeatures, np.ndarray, np.ndarray]:
    """Convert encoded lesions for the kernels.

    Returns the features, the discrete rows and the unseen center's priors. Unseen centers map to
    index ``n_centers``. The discrete rows, (R, 2, S), hold log P(result | class) of every distinct
    read or binary result among these lesions; the priors, (R', 2, S), log P(class) of every
    distinct prior context among the lesions at an unseen center (:func:`unseen_center_log_priors`).
    """
    if np.any(lesions.center >= n_centers):
        raise ValueError("lesion center index beyond the fit's centers")
    center = center_columns(lesions, n_centers)
    evidence = [lesions.evidence[m.name] for m in registry]
    state = (
        np.stack([e.state for e in evidence], axis=1) if evidence else np.zeros((len(lesions), 0))
    )
    kind = np.stack([e.kind for e in evidence], axis=1) if evidence else state
    value = np.stack([e.value for e in evidence], axis=1) if evidence else state
    sign = np.stack([e.sign for e in evidence], axis=1) if evidence else state
    direction = np.array([getattr(m, "direction", 0) for m in registry], dtype=float)
    early = lesions.early_weight
    # a slot whose locations do not move in the window reads the same at every weight: its
    # reads share rows across weights
    moves = np.array([bool(getattr(m, "early_shift", False)) for m in registry], dtype=bool)
    read_weight = np.where(moves[None, :], early[:, None], 0.0) if len(registry) else state
    row, rows = _discrete_rows(state, kind, value, sign, (center, read_weight), tables, direction)
    unseen = np.flatnonzero(center == n_centers)
    prior_row = np.full(len(lesions), -1, dtype=np.int64)
    prior_row[unseen], priors = unseen_center_log_priors(lesions.subset(unseen), tables.prior)
    components = prior_components(lesions.x_mgmt, lesions.x_reirradiation, tables.prior.shares)

    values = {
        "center": center,
        "early": early,
        "x_early": lesions.x_early,
        "prior_mgmt": components.mgmt.T,
        "prior_reirradiation": components.reirradiation.T,
        "prior_log_weight": components.log_weight.T,
        "prior_row": prior_row,
        "x_edema": lesions.x_edema,
        "x_eloquent": lesions.x_eloquent,
        "x_steroid": lesions.x_steroid,
        "state": state,
        "kind": kind,
        "value": value,
        "row": row,
        "symptom_yes": lesions.symptom_yes,
        "symptom_no": lesions.symptom_no,
        **growth_features(lesions, tables.steroid_share),
        "trend_sums": trend_sums(lesions, registry),
    }
    integer = {"center", "prior_row", "state", "kind", "row"}
    features = LesionFeatures(
        **{
            name: np.ascontiguousarray(v, dtype=np.int64 if name in integer else np.float64)
            for name, v in values.items()
        }
    )
    return features, rows, priors


def _discrete_rows(state, kind, value, sign, place, tables: ScoreTables, direction):
    """Index of each lesion's read or binary result per slot (-1 if none) and their rows.

    ``place`` is each lesion's center column (n,) and window weight per slot (n, slot),
    ``direction`` each slot's marker direction (+1, -1), 0 for a binary test.
    """
    n, slots = state.shape
    row = np.full((n, slots), -1, dtype=np.int64)
    reads = state == READ
    S = tables.n_draws
    if not reads.any():
        return row, np.zeros((0, 2, S))
    lesion, slot = np.nonzero(reads)
    center, early = place
    keys = np.column_stack(
        [
            slot,
            kind[lesion, slot],
            center[lesion],
            early[lesion, slot],
            value[lesion, slot],
            sign[lesion, slot],
        ]
    )
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    row[lesion, slot] = inverse.ravel()
    e, j, c = (unique[:, i].astype(np.int64) for i in range(3))
    w, cut, s = unique[:, 3], unique[:, 4], unique[:, 5]
    out = np.empty((len(unique), 2, S))
    binary = direction[e] == 0
    if np.any(binary):
        result = (s[binary] > 0).astype(np.int64)
        out[binary] = tables.binary[e[binary], result]
    marker = ~binary
    if np.any(marker):
        loc, sd = tables.moments.at(e[marker], j[marker], c[marker], w[marker])  # (R, 2, S)
        towards = (s[marker] * direction[e[marker]])[:, None, None]  # the read's side
        z = towards * (loc - cut[marker, None, None]) / sd[:, None]
        xp = numpy_backend()
        for e_slot in np.unique(e[marker]):
            pick = e[marker] == e_slot
            eps = float(tables.moments.misread[e_slot])
            zz = z[pick]
            necrosis = misread_read_log_prob(zz[:, 0], zz[:, 1], eps, xp)
            recurrence = misread_read_log_prob(zz[:, 1], zz[:, 0], eps, xp)
            out[np.flatnonzero(marker)[pick]] = np.stack([necrosis, recurrence], axis=1)
    return row, np.ascontiguousarray(out)
