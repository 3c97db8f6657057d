"""What the scoring kernels read: per-draw coefficient tables and per-lesion features (NumPy).

Every Gaussian piece of a lesion's class log-likelihood is quadratic or linear in the lesion's data,
and every read's normal-CDF argument is affine in it. So the posterior draws are turned once into
coefficient tables, per class, group (technique, tracer, center) and draw, and the kernels in
:mod:`model.likelihood.kernel` only multiply and add. A center the fit has not seen has its offsets
integrated out analytically: zero offsets, spreads inflated by the between-center SD (with the
correlation adjusted), and the class prior averaged over the center distribution by Gauss-Hermite
quadrature.

Layout: class first (0 necrosis, 1 recurrence), draws last and contiguous; the center axis has the
C training centers plus one for an unseen center.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from model.inputs.encode import UNSEEN_CENTER, Lesions
from model.inputs.vocabulary import GROWTH_WEEKS
from model.likelihood.draws import PosteriorDraws

LOG_2PI = math.log(2.0 * math.pi)
HERMITE_NODES, HERMITE_WEIGHTS = np.polynomial.hermite.hermgauss(40)
COVARIATE_LEVELS = np.array([-0.5, 0.0, 0.5])
"""Effect-coded covariate values; tables index them 0, 1, 2."""


class Tables(NamedTuple):
    """Coefficients of the Gaussian and Bernoulli pieces, a leading class axis, draws last.

    The same fields hold per-class values (``ScoreTables.by_class``) or their difference, class 1
    minus class 0 (``ScoreTables.ratio``, log likelihood ratios: the class axis dropped).
    """

    log_prior: np.ndarray  # (2, C+1, 3, 3, S): by center, x_early level, x_mgmt level
    perf_quad: np.ndarray  # (2, technique, C+1, 3, S): log N(x) = c0 x^2 + c1 x + c2
    pet_quad: np.ndarray  # (2, tracer, C+1, 3, S)
    joint_quad: np.ndarray  # (2, technique, tracer, C+1, 6, S): x^2, y^2, xy, x, y, 1
    log_yes: np.ndarray  # (2, symptom, S)
    log_no: np.ndarray  # (2, symptom, S)
    growth_quad: np.ndarray  # (2, 4, S): on sum g^2, sum g w, sum w^2, count (w = weeks / 6)


class ReadTables(NamedTuple):
    """Per class (A, B, C) of a read's normal-CDF argument z = sign * (A + B other - C cutoff)."""

    read_perf: np.ndarray  # (2, technique, C+1, 3, S): a perfusion read alone (B = 0)
    read_pet: np.ndarray  # (2, tracer, C+1, 3, S): a PET read alone (B = 0)
    read_pet_given_perf: np.ndarray  # (2, technique, tracer, C+1, 3, S): other = log perfusion
    read_perf_given_pet: np.ndarray  # (2, technique, tracer, C+1, 3, S): other = log TBR


class Moments(NamedTuple):
    """Class means, spreads and correlations per group and draw, for the exact read formulas."""

    perf_mean: np.ndarray  # (2, technique, C+1, S)
    perf_sd: np.ndarray
    pet_mean: np.ndarray  # (2, tracer, C+1, S)
    pet_sd: np.ndarray
    rho: np.ndarray  # (2, technique, tracer, C+1, S)


@dataclass(frozen=True, eq=False)
class ScoreTables:
    """Everything the kernels need from the posterior draws."""

    by_class: Tables
    ratio: Tables
    reads: ReadTables
    moments: Moments

    @property
    def n_draws(self) -> int:
        """Number of draws S."""
        return self.moments.perf_mean.shape[-1]

    def select(self, draws: slice | np.ndarray) -> ScoreTables:
        """The tables of some draws only."""

        def pick(group):
            return type(group)(*(np.ascontiguousarray(t[..., draws]) for t in group))

        return ScoreTables(
            *(pick(group) for group in (self.by_class, self.ratio, self.reads, self.moments))
        )


def build_tables(draws: PosteriorDraws) -> ScoreTables:
    """Tabulate the per-draw coefficients the kernels read.

    Parameters
    ----------
    draws : PosteriorDraws

    Returns
    -------
    ScoreTables
    """
    moments = _moments(draws)
    rate = draws.symptom_rate.transpose(1, 2, 0)  # (class, symptom, S)
    g_rate, g_sd = draws.growth_rate.T, draws.growth_sd.T  # (class, S)
    growth_quad = np.stack(
        [
            -0.5 / g_sd**2,
            g_rate / g_sd**2,
            -0.5 * g_rate**2 / g_sd**2,
            -np.log(g_sd) - 0.5 * LOG_2PI,
        ],
        axis=1,
    )
    by_class = Tables(
        log_prior=_log_prior_table(draws),
        perf_quad=_normal_quad(moments.perf_mean, moments.perf_sd),
        pet_quad=_normal_quad(moments.pet_mean, moments.pet_sd),
        joint_quad=_bivariate_quad(moments),
        log_yes=np.log(rate),
        log_no=np.log1p(-rate),
        growth_quad=growth_quad,
    )
    by_class = Tables(*(np.ascontiguousarray(t) for t in by_class))
    ratio = Tables(*(np.ascontiguousarray(t[1] - t[0]) for t in by_class))
    reads = ReadTables(*(np.ascontiguousarray(t) for t in _read_tables(moments)))
    return ScoreTables(by_class, ratio, reads, moments)


def _moments(draws: PosteriorDraws) -> Moments:
    perf_mean, perf_sd = _family(draws.perf_mu, draws.perf_sigma, draws.a, draws.tau_a)
    pet_mean, pet_sd = _family(draws.pet_mu, draws.pet_sigma, draws.b, draws.tau_b)
    rho = np.broadcast_to(
        draws.rho.T[:, None, None, None, :],
        (2, perf_mean.shape[1], pet_mean.shape[1], perf_mean.shape[2], draws.n_draws),
    ).copy()
    # Unseen center: the covariance stays rho * sx * sy, the spreads are inflated.
    sx = draws.perf_sigma.transpose(2, 1, 0)[:, :, None, :]  # (2, T, 1, S)
    sy = draws.pet_sigma.transpose(2, 1, 0)[:, None, :, :]  # (2, 1, R, S)
    covariance = draws.rho.T[:, None, None, :] * sx * sy
    rho[:, :, :, -1] = covariance / (perf_sd[:, :, None, -1] * pet_sd[:, None, :, -1])
    return Moments(perf_mean, perf_sd, pet_mean, pet_sd, np.ascontiguousarray(rho))


def _family(mu, sigma, offset, tau):
    """Class means and spreads per (class, kind, center incl. unseen, draw)."""
    mu = mu.transpose(2, 1, 0)[:, :, None, :]  # (2, K, 1, S)
    sd = sigma.transpose(2, 1, 0)[:, :, None, :]
    known_mean = mu + offset.T[None, None, :, :]  # (2, K, C, S)
    known_sd = np.broadcast_to(sd, known_mean.shape)
    unseen_sd = np.sqrt(sd**2 + tau[None, None, None, :] ** 2)
    mean = np.concatenate([known_mean, mu], axis=2)
    spread = np.concatenate([known_sd, unseen_sd], axis=2)
    return np.ascontiguousarray(mean), np.ascontiguousarray(spread)


def _stack(arrays, axis: int) -> np.ndarray:
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    return np.stack([np.broadcast_to(a, shape) for a in arrays], axis=axis)


def _normal_quad(mean, sd):
    """Coefficients of log N(x; mean, sd) in (x^2, x, 1), as an axis before the draws."""
    inv_var = 1.0 / sd**2
    constant = -0.5 * mean**2 * inv_var - np.log(sd) - 0.5 * LOG_2PI
    return _stack([-0.5 * inv_var, mean * inv_var, constant], axis=-2)


def _bivariate_quad(m: Moments):
    """Coefficients of the bivariate normal log-density in (x^2, y^2, xy, x, y, 1)."""
    mx, sx = m.perf_mean[:, :, None], m.perf_sd[:, :, None]  # (2, T, 1, C+1, S)
    my, sy = m.pet_mean[:, None], m.pet_sd[:, None]  # (2, 1, R, C+1, S)
    one_minus = 1.0 - m.rho**2
    a = 1.0 / (one_minus * sx**2)
    b = 1.0 / (one_minus * sy**2)
    c = -m.rho / (one_minus * sx * sy)
    constant = (
        -0.5 * (a * mx**2 + b * my**2 + 2 * c * mx * my)
        - np.log(sx * sy)
        - 0.5 * np.log(one_minus)
        - LOG_2PI
    )
    return _stack([-0.5 * a, -0.5 * b, -c, a * mx + c * my, b * my + c * mx, constant], axis=-2)


def _read_tables(m: Moments) -> ReadTables:
    """Coefficients (A, B, C) of the normal CDF argument for every kind of read.

    One read alone: z = sign * (mean - cutoff) / sd, so A = mean / sd, B = 0, C = 1 / sd. A read
    given the other modality's value v: the conditional mean is mean + beta (v - other mean) with
    beta = rho sd / other sd, and the conditional sd d = sd sqrt(1 - rho^2), so
    A = (mean - beta other mean) / d, B = beta / d, C = 1 / d.
    """
    mx, sx = m.perf_mean[:, :, None], m.perf_sd[:, :, None]
    my, sy = m.pet_mean[:, None], m.pet_sd[:, None]
    root = np.sqrt(1.0 - m.rho**2)
    beta_y, d_y = m.rho * sy / sx, sy * root  # PET given perfusion
    beta_x, d_x = m.rho * sx / sy, sx * root  # perfusion given PET
    return ReadTables(
        read_perf=_stack([m.perf_mean / m.perf_sd, 0.0, 1.0 / m.perf_sd], axis=-2),
        read_pet=_stack([m.pet_mean / m.pet_sd, 0.0, 1.0 / m.pet_sd], axis=-2),
        read_pet_given_perf=_stack([(my - beta_y * mx) / d_y, beta_y / d_y, 1.0 / d_y], axis=-2),
        read_perf_given_pet=_stack([(mx - beta_x * my) / d_x, beta_x / d_x, 1.0 / d_x], axis=-2),
    )


def _log_prior_table(draws: PosteriorDraws) -> np.ndarray:
    """log P(class) for every center (and unseen), x_early level and x_mgmt level, per draw."""
    x = COVARIATE_LEVELS
    linear = (
        draws.intercept[None, None, :]
        + draws.early[None, None, :] * x[:, None, None]
        + draws.mgmt[None, None, :] * x[None, :, None]
    )  # (3, 3, S)
    eta = linear[None] + draws.u.T[:, None, None, :]  # (C, 3, 3, S)
    known = np.stack([-np.logaddexp(0.0, eta), -np.logaddexp(0.0, -eta)])  # (2, C, 3, 3, S)
    # Unseen center: E_u[sigmoid(eta + u)], u ~ N(0, tau_u), by Gauss-Hermite quadrature.
    u = np.sqrt(2.0) * draws.tau_u[None, :] * HERMITE_NODES[:, None]  # (nodes, S)
    sigmoid = 0.5 * (1.0 + np.tanh(0.5 * (linear[None] + u[:, None, None, :])))
    p = np.einsum("q,qijs->ijs", HERMITE_WEIGHTS / np.sqrt(np.pi), sigmoid)
    p = np.clip(p, 1e-300, 1 - 1e-16)
    unseen = np.stack([np.log1p(-p), np.log(p)])[:, None]  # (2, 1, 3, 3, S)
    return np.concatenate([known, unseen], axis=1)


class LesionFeatures(NamedTuple):
    """Lesion arrays as the kernels read them (contiguous, integer-coded)."""

    center: np.ndarray  # (n,) index on the tables' center axis (unseen = C)
    early_level: np.ndarray  # (n,) 0, 1, 2
    mgmt_level: np.ndarray
    perf_state: np.ndarray
    perf_kind: np.ndarray
    perf_value: np.ndarray
    perf_sign: np.ndarray
    pet_state: np.ndarray
    pet_kind: np.ndarray
    pet_value: np.ndarray
    pet_sign: np.ndarray
    symptom_yes: np.ndarray  # (n, symptom)
    symptom_no: np.ndarray
    growth_stats: np.ndarray  # (n, 4): sum g^2, sum g w, sum w^2, count (w = weeks / 6)


def lesion_features(lesions: Lesions, n_centers: int) -> LesionFeatures:
    """Convert encoded lesions for the kernels (unseen centers map to index ``n_centers``)."""
    if np.any(lesions.center >= n_centers):
        raise ValueError("lesion center index beyond the fit's centers")
    w = lesions.growth_weeks / GROWTH_WEEKS
    g, m = lesions.growth, lesions.growth_mask
    stats = np.stack([(m * g**2).sum(1), (m * g * w).sum(1), (m * w**2).sum(1), m.sum(1)], axis=1)

    def level(x):  # -0.5, 0, 0.5 -> 0, 1, 2
        return np.rint(x * 2 + 1)

    values = {
        "center": np.where(lesions.center == UNSEEN_CENTER, n_centers, lesions.center),
        "early_level": level(lesions.x_early),
        "mgmt_level": level(lesions.x_mgmt),
        "perf_state": lesions.perf_state,
        "perf_kind": lesions.perf_kind,
        "perf_value": lesions.perf_value,
        "perf_sign": lesions.perf_sign,
        "pet_state": lesions.pet_state,
        "pet_kind": lesions.pet_kind,
        "pet_value": lesions.pet_value,
        "pet_sign": lesions.pet_sign,
        "symptom_yes": lesions.symptom_yes,
        "symptom_no": lesions.symptom_no,
        "growth_stats": stats,
    }
    integer = {
        "center",
        "early_level",
        "mgmt_level",
        "perf_state",
        "perf_kind",
        "pet_state",
        "pet_kind",
    }
    return LesionFeatures(
        **{
            name: np.ascontiguousarray(v, dtype=np.int64 if name in integer else np.float64)
            for name, v in values.items()
        }
    )
