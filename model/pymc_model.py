"""The hierarchical latent-class model in PyMC.

For lesion i at center c, with class k (0 necrosis, 1 recurrence) marginalised:

- class prior: logit P(k = 1) = intercept + u_c + early * x_early + mgmt * x_mgmt;
- imaging: (log perfusion ratio, log TBR) | k bivariate normal with means
  mu[technique, k] + a_c and nu[tracer, k] + b_c, spreads sigma[., k], correlation rho_k; a missing
  modality drops out (its marginal), a read is the probability of the value lying on its side of
  the cutoff (interval censoring on the same latent scale);
- symptoms: item j yes with probability p[k, j], logit p[k, j] = m_k + tau * z[k, j];
- growth: log(V_j / V_(j-1)) ~ Normal(g_k * weeks / 6, s_k) for every follow-up scan;
- reference label: histopathology is the class; a follow-up label has sensitivity and
  specificity with Beta priors; unlabelled lesions are a two-class mixture (log-sum-exp).

Label switching is prevented by ordering: recurrence = necrosis + a positive separation, for
perfusion, PET and growth. Group effects are centred or non-centred per family, as the data favour
(:func:`choose_centered`). Every prior comes from the parameter file (:mod:`model.parameters`).

The same likelihood is implemented for scoring in :mod:`model.score_kernel` (NumPy/numba, no PyMC);
``tests/test_model_agreement.py`` proves the two agree on every training lesion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lcdf

from model.encode import FOLLOW_UP, HISTOPATHOLOGY, NONE, READ, VALUE, Lesions
from model.parameters import Parameters
from model.quadrature import GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS, ORTHANT_SPAN
from model.vocabulary import CLASSES, GROWTH_WEEKS, SYMPTOMS, TECHNIQUES, TRACERS

_LOG_2PI = float(np.log(2.0 * np.pi))

CENTERABLE: tuple[str, ...] = ("prevalence", "perfusion", "pet", "symptoms")
"""Hierarchical families whose group effects can be centred or non-centred."""

# Rough standard deviation of one lesion's information about a group effect, on the effect's scale:
# log-ratio spread for imaging, logit scale for binary evidence (1 / sqrt(p (1 - p) * share
# informative) with p ~ 0.6 and ~70% class information).
_OBSERVATION_SD = {"prevalence": 2.5, "perfusion": 0.4, "pet": 0.3, "symptoms": 2.6}
_TAU_ENTRY = {
    "prevalence": "prevalence.tau_center",
    "perfusion": "perfusion.tau_center",
    "pet": "pet.tau_center",
    "symptoms": "symptoms.tau_item",
}


def choose_centered(lesions: Lesions, parameters: Parameters) -> tuple[str, ...]:
    """Choose, per family, the parameterisation the data favour.

    A group effect is data-dominated when its standard error, about
    ``observation_sd / sqrt(n_group)``, is below the prior spread tau; then the centred form
    samples better, otherwise the non-centred one (the funnel of few lesions per group).

    Parameters
    ----------
    lesions : Lesions
    parameters : Parameters

    Returns
    -------
    tuple of str
        The families to centre.
    """
    n_centers = int(lesions.center.max()) + 1 if len(lesions) else 0
    per_center = lambda mask: np.bincount(lesions.center[mask], minlength=n_centers)  # noqa: E731
    counts = {
        "prevalence": per_center(np.ones(len(lesions), bool)),
        "perfusion": per_center(lesions.perf_state != NONE),
        "pet": per_center(lesions.pet_state != NONE),
        "symptoms": (lesions.symptom_yes + lesions.symptom_no).sum(axis=0) / 2.0,
    }
    chosen = []
    for family in CENTERABLE:
        tau = parameters.value(_TAU_ENTRY[family])
        typical = float(np.median(counts[family])) if len(counts[family]) else 0.0
        if typical >= (_OBSERVATION_SD[family] / tau) ** 2:
            chosen.append(family)
    return tuple(chosen)


@dataclass(frozen=True, eq=False)
class ModelGraph:
    """The PyMC model and the tensors that tests and diagnostics read from it.

    Attributes
    ----------
    model : pymc.Model
    class_log_joint : TensorVariable
        (n, 2): log P(class) + log p(evidence | class) per lesion, labels excluded.
    lesion_log_likelihood : TensorVariable
        (n,): each lesion's log-likelihood with the class marginalised, in cohort row order.
    """

    model: pm.Model
    class_log_joint: pt.TensorVariable
    lesion_log_likelihood: pt.TensorVariable


def build_model(
    lesions: Lesions,
    centers: Sequence[str],
    parameters: Parameters,
    *,
    centered: bool = False,
) -> pm.Model:
    """Build the PyMC model for encoded lesions.

    Parameters
    ----------
    lesions : Lesions
        Encoded training lesions (:func:`model.encode.encode`); every center index must be >= 0.
    centers : sequence of str
        Center names, in the index order used by ``lesions``.
    parameters : Parameters
        Priors (:func:`model.parameters.load_parameters`).
    centered : sequence of {"prevalence", "perfusion", "pet", "symptoms"}, default ()
        Families whose group effects are centred (better when each group has many lesions); the
        others are non-centred. See :func:`choose_centered`.

    Returns
    -------
    ModelGraph
    """
    if np.any(lesions.center < 0):
        raise ValueError("training lesions must all come from known centers")
    coords = {
        "center": list(centers),
        "technique": list(TECHNIQUES),
        "tracer": list(TRACERS),
        "class": list(CLASSES),
        "symptom": list(SYMPTOMS),
    }
    with pm.Model(coords=coords) as model:
        prior = _PriorFactory(parameters)
        theta = _parameters(prior, parameters, centered)
        ell = _class_log_joint(theta, lesions)
        per_lesion = _lesion_log_likelihood(theta, ell, lesions)
        pm.Potential("lesions", per_lesion)
    return ModelGraph(model, ell, per_lesion)


class _PriorFactory:
    """Builds PyMC variables from parameter-file entries."""

    def __init__(self, parameters: Parameters):
        self.p = parameters

    def __call__(self, name: str, entries, dims=None):
        entries = np.asarray(entries, dtype=object)
        priors = [self.p.prior(e) for e in entries.ravel()]
        kinds = {q.kind for q in priors}
        if len(kinds) != 1:
            raise ValueError(f"{name}: entries {list(entries.ravel())} mix prior kinds {kinds}")
        kind = kinds.pop()
        shape = entries.shape
        center = np.array([q.center if q.center is not None else 0.0 for q in priors]).reshape(
            shape
        )
        scale = np.array([q.scale for q in priors]).reshape(shape)
        if shape == ():
            center, scale = float(center), float(scale)
        if kind == "normal":
            return pm.Normal(name, mu=center, sigma=scale, dims=dims)
        if kind == "lognormal":
            return pm.LogNormal(name, mu=np.log(center), sigma=scale, dims=dims)
        if kind == "halfnormal":
            return pm.HalfNormal(name, sigma=scale, dims=dims)
        if kind == "beta":
            return pm.Beta(name, alpha=center * scale, beta=(1 - center) * scale, dims=dims)
        if kind == "beta_pm1":
            m = (center + 1) / 2
            raw = pm.Beta(f"{name}_raw", alpha=m * scale, beta=(1 - m) * scale, dims=dims)
            return pm.Deterministic(name, 2 * raw - 1, dims=dims)
        raise ValueError(f"unknown prior kind {kind!r}")


def _center_offsets(prior: _PriorFactory, name: str, tau_entry: str, centered: Sequence[str]):
    tau = prior(f"{name}_tau_center", tau_entry)
    if name in centered:
        return pm.Normal(f"{name}_center", 0.0, tau, dims="center")
    z = pm.Normal(f"{name}_center_z", 0.0, 1.0, dims="center")
    return pm.Deterministic(f"{name}_center", tau * z, dims="center")


def _imaging_family(prior: _PriorFactory, family: str, names, dim: str, centered: Sequence[str]):
    mu0 = prior(f"{family}_mu_necrosis", [f"{family}.{n}.mu_necrosis" for n in names], dims=dim)
    separation = prior(
        f"{family}_separation", [f"{family}.{n}.separation" for n in names], dims=dim
    )
    sigma = prior(
        f"{family}_sigma",
        [[f"{family}.{n}.sigma_necrosis", f"{family}.{n}.sigma_recurrence"] for n in names],
        dims=(dim, "class"),
    )
    mu = pt.stack([mu0, mu0 + separation], axis=1)  # (kind, class)
    offset = _center_offsets(prior, family, f"{family}.tau_center", centered)
    return mu, sigma, offset


def _parameters(prior: _PriorFactory, parameters: Parameters, centered: Sequence[str]) -> dict:
    theta: dict = {}
    theta["intercept"] = prior("prevalence_intercept", "prevalence.intercept")
    theta["early"] = prior("prevalence_early", "prevalence.early")
    theta["mgmt"] = prior("prevalence_mgmt", "prevalence.mgmt")
    theta["u"] = _center_offsets(prior, "prevalence", "prevalence.tau_center", centered)
    theta["perf_mu"], theta["perf_sigma"], theta["a"] = _imaging_family(
        prior, "perfusion", TECHNIQUES, "technique", centered
    )
    theta["pet_mu"], theta["pet_sigma"], theta["b"] = _imaging_family(
        prior, "pet", TRACERS, "tracer", centered
    )
    theta["rho"] = prior("correlation", ["correlation.necrosis", "correlation.recurrence"], "class")

    rates = np.array([parameters.symptom_rates(s) for s in SYMPTOMS]).T  # (class, symptom)
    class_mean_centre = np.log(rates / (1 - rates)).mean(axis=1)
    mean_scale = parameters.prior("symptoms.class_mean").scale
    class_mean = pm.Normal("symptom_class_mean", class_mean_centre, mean_scale, dims="class")
    tau_item = prior("symptom_tau_item", "symptoms.tau_item")
    if "symptoms" in centered:
        item_logit = pm.Normal(
            "symptom_item_logit", class_mean[:, None], tau_item, dims=("class", "symptom")
        )
    else:
        item_z = pm.Normal("symptom_item_z", 0.0, 1.0, dims=("class", "symptom"))
        item_logit = class_mean[:, None] + tau_item * item_z
    theta["symptom_rate"] = pm.Deterministic(
        "symptom_rate", pm.math.sigmoid(item_logit), dims=("class", "symptom")
    )

    g0 = prior("growth_rate_necrosis", "growth.rate_necrosis")
    g_sep = prior("growth_separation", "growth.separation")
    theta["growth_rate"] = pt.stack([g0, g0 + g_sep])
    theta["growth_sd"] = prior("growth_sd", ["growth.sd_necrosis", "growth.sd_recurrence"], "class")
    theta["sensitivity"] = prior("reference_sensitivity", "reference.follow_up_sensitivity")
    theta["specificity"] = prior("reference_specificity", "reference.follow_up_specificity")
    return theta


def _normal_logpdf(x, mu, sigma):
    return -0.5 * pt.sqr((x - mu) / sigma) - pt.log(sigma) - 0.5 * _LOG_2PI


def _log_ndtr(z):
    return normal_lcdf(0.0, 1.0, z)


def _class_log_joint(theta: dict, lesions: Lesions):
    """log P(class k) + log p(evidence | k) for every lesion: an (n, 2) tensor."""
    eta = (
        theta["intercept"]
        + theta["u"][lesions.center]
        + theta["early"] * lesions.x_early
        + theta["mgmt"] * lesions.x_mgmt
    )
    prior = pt.stack([-pt.softplus(eta), -pt.softplus(-eta)], axis=1)
    return (
        prior
        + _imaging_log_lik(theta, lesions)
        + _symptom_log_lik(theta, lesions)
        + _growth_log_lik(theta, lesions)
    )


def _imaging_log_lik(theta: dict, lesions: Lesions):
    """Each imaging case (none / value / read for perfusion and PET) on its own lesions."""
    total = pt.zeros((len(lesions), 2))
    for perf_state in (NONE, VALUE, READ):
        for pet_state in (NONE, VALUE, READ):
            idx = np.flatnonzero(
                (lesions.perf_state == perf_state) & (lesions.pet_state == pet_state)
            )
            if idx.size == 0 or (perf_state == NONE and pet_state == NONE):
                continue
            block = _imaging_case(theta, lesions.subset(idx), perf_state, pet_state)
            total = pt.set_subtensor(total[idx], block)
    return total


def _imaging_case(theta, case: Lesions, perf_state: int, pet_state: int):
    """(n_case, 2) log-likelihood of the imaging evidence for the lesions of one case."""
    c = case.center
    mx = theta["perf_mu"][case.perf_kind] + theta["a"][c][:, None]
    sx = theta["perf_sigma"][case.perf_kind]
    my = theta["pet_mu"][case.pet_kind] + theta["b"][c][:, None]
    sy = theta["pet_sigma"][case.pet_kind]
    rho = theta["rho"][None, :]
    x, xs = case.perf_value[:, None], case.perf_sign[:, None]
    y, ys = case.pet_value[:, None], case.pet_sign[:, None]
    if pet_state == NONE:
        return _single(x, xs, mx, sx, perf_state)
    if perf_state == NONE:
        return _single(y, ys, my, sy, pet_state)
    if perf_state == VALUE:  # x known: y | x is normal
        conditional_mean = my + rho * sy * (x - mx) / sx
        conditional_sd = sy * pt.sqrt(1 - rho**2)
        return _normal_logpdf(x, mx, sx) + _single(
            y, ys, conditional_mean, conditional_sd, pet_state
        )
    if pet_state == VALUE:  # x a read, y known: x | y is normal
        conditional_mean = mx + rho * sx * (y - my) / sy
        conditional_sd = sx * pt.sqrt(1 - rho**2)
        return _normal_logpdf(y, my, sy) + _single(x, xs, conditional_mean, conditional_sd, READ)
    return _log_orthant(xs * (x - mx) / sx, ys * (y - my) / sy, xs * ys * rho)


def _single(value, sign, mean, sd, state: int):
    if state == VALUE:
        return _normal_logpdf(value, mean, sd)
    return _log_ndtr(sign * (mean - value) / sd)


def _log_orthant(h, k, r):
    """log P(X > h, Y > k) for standard bivariate normal X, Y with correlation r.

    Gauss-Legendre quadrature of phi(x) * Phi((r x - k) / sqrt(1 - r^2)) over x in [h, h + span],
    span = max(h, 0) + ORTHANT_SPAN - h (see :mod:`model.quadrature`).
    """
    span = pt.maximum(h, 0.0) + ORTHANT_SPAN - h
    nodes = h[..., None] + 0.5 * span[..., None] * (GAUSS_LEGENDRE_NODES + 1.0)
    r_ = r[..., None]
    integrand = (
        -0.5 * pt.sqr(nodes)
        - 0.5 * _LOG_2PI
        + _log_ndtr((r_ * nodes - k[..., None]) / pt.sqrt(1 - pt.sqr(r_)))
        + np.log(GAUSS_LEGENDRE_WEIGHTS)
    )
    return pm.math.logsumexp(integrand, axis=-1) + pt.log(0.5 * span)


def _symptom_log_lik(theta: dict, lesions: Lesions):
    rate = theta["symptom_rate"]  # (class, symptom)
    return pt.dot(lesions.symptom_yes, pt.log(rate).T) + pt.dot(
        lesions.symptom_no, pt.log1p(-rate).T
    )


def _growth_log_lik(theta: dict, lesions: Lesions):
    columns = []
    weeks = lesions.growth_weeks / GROWTH_WEEKS
    for k in (0, 1):
        log_density = _normal_logpdf(
            lesions.growth, theta["growth_rate"][k] * weeks, theta["growth_sd"][k]
        )
        columns.append(pt.sum(log_density * lesions.growth_mask, axis=1))
    return pt.stack(columns, axis=1)


def _lesion_log_likelihood(theta: dict, ell, lesions: Lesions):
    """Per-lesion log-likelihood with the class marginalised (histopathology fixes the class)."""
    histo = np.flatnonzero(lesions.label_source == HISTOPATHOLOGY)
    follow = np.flatnonzero(lesions.label_source == FOLLOW_UP)
    unlabelled = np.flatnonzero(lesions.label_source < 0)
    se, sp = theta["sensitivity"], theta["specificity"]
    says = (lesions.label[follow] == 1).astype(float)
    label_term = pt.stack(
        [
            says * pt.log1p(-sp) + (1 - says) * pt.log(sp),
            says * pt.log(se) + (1 - says) * pt.log1p(-se),
        ],
        axis=1,
    )
    parts = [
        ell[histo, lesions.label[histo]],
        pm.math.logsumexp(ell[follow] + label_term, axis=1),
        pm.math.logsumexp(ell[unlabelled], axis=1),
    ]
    row_order = np.argsort(np.concatenate([histo, follow, unlabelled]))
    return pt.concatenate(parts)[row_order]
