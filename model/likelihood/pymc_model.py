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
(:func:`choose_centered`). Every prior comes from the parameter file
(:mod:`model.inputs.parameters`).

The same likelihood is implemented for scoring in :mod:`model.likelihood.kernel` (NumPy/numba, no
PyMC);
``tests/likelihood/test_model_agreement.py`` proves the two agree on every training lesion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lcdf

from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY, NONE, READ, VALUE, Lesions
from model.inputs.parameters import Parameters
from model.inputs.vocabulary import CLASSES, GROWTH_WEEKS, SYMPTOMS, TECHNIQUES, TRACERS
from model.likelihood.quadrature import GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS, ORTHANT_SPAN

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
    data : dict of str to ndarray
        The lesion arrays, by the names of the shared variables that hold them: a model compiled
        once takes another cohort's ``model_data`` (same number of centers) without recompiling.
    """

    model: pm.Model
    class_log_joint: pt.TensorVariable
    lesion_log_likelihood: pt.TensorVariable
    data: dict


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
        Encoded training lesions (:func:`model.inputs.encode.encode`); every center index must be
        >= 0.
    centers : sequence of str
        Center names, in the index order used by ``lesions``.
    parameters : Parameters
        Priors (:func:`model.inputs.parameters.load_parameters`).
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
    data = model_data(lesions)
    order = data.pop(f"{DATA_PREFIX}original")  # cohort row order, for the exported tensors only
    shared = SimpleNamespace(
        **{k[len(DATA_PREFIX) :]: pytensor.shared(v, name=k) for k, v in data.items()}
    )
    with pm.Model(coords=coords) as model:
        prior = _PriorFactory(parameters)
        theta = _parameters(prior, parameters, centered)
        ell = _class_log_joint(theta, shared)
        per_lesion = _lesion_log_likelihood(theta, ell, shared)
        pm.Potential("lesions", per_lesion)
    return ModelGraph(model, ell[order], per_lesion[order], data)


IMAGING_CASES: tuple[tuple[int, int], ...] = tuple(
    (a, b) for a in (NONE, VALUE, READ) for b in (NONE, VALUE, READ)
)
"""(perfusion state, PET state) pairs; lesions are sorted by them, each case a contiguous block."""
DATA_PREFIX = "lesions_"
_PER_LESION = (
    "center",
    "perf_kind",
    "pet_kind",
    "perf_value",
    "perf_sign",
    "pet_value",
    "pet_sign",
    "x_early",
    "x_mgmt",
    "symptom_yes",
    "symptom_no",
    "growth",
    "growth_weeks",
    "growth_mask",
)


def model_data(lesions: Lesions) -> dict[str, np.ndarray]:
    """The arrays the model's shared variables hold, for these lesions.

    Lesions are sorted by imaging case (``bounds`` marks where each case starts), so every case is
    one contiguous block and the graph has no data-dependent structure. Labels enter as dense
    per-lesion arrays.

    Parameters
    ----------
    lesions : Lesions

    Returns
    -------
    dict of str to ndarray
        Keyed by the shared variables' names (prefix :data:`DATA_PREFIX`).
    """
    case = np.array(
        [
            IMAGING_CASES.index(pair)
            for pair in zip(lesions.perf_state, lesions.pet_state, strict=True)
        ]
    )
    order = np.argsort(case, kind="stable")
    s = lesions.subset(order)
    arrays = {name: getattr(s, name) for name in _PER_LESION}
    arrays["growth_weeks"] = s.growth_weeks / GROWTH_WEEKS
    is_histo = s.label_source == HISTOPATHOLOGY
    onehot = np.zeros((len(s), 2))
    onehot[np.flatnonzero(is_histo), s.label[is_histo]] = 1.0
    arrays.update(
        bounds=np.searchsorted(case[order], np.arange(len(IMAGING_CASES) + 1)),
        is_histo=is_histo.astype(float),
        histo_onehot=onehot,
        is_follow=(s.label_source == FOLLOW_UP).astype(float),
        says_recurrence=(s.label == 1).astype(float),
        original=np.argsort(order),  # sorted position of each cohort row
    )
    integer = {"center", "perf_kind", "pet_kind", "bounds", "original"}
    return {
        f"{DATA_PREFIX}{k}": np.ascontiguousarray(v, dtype=np.int64 if k in integer else np.float64)
        for k, v in arrays.items()
    }


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


def _class_log_joint(theta: dict, d: SimpleNamespace):
    """log P(class k) + log p(evidence | k) for every (sorted) lesion: an (n, 2) tensor."""
    eta = (
        theta["intercept"]
        + theta["u"][d.center]
        + theta["early"] * d.x_early
        + theta["mgmt"] * d.x_mgmt
    )
    prior = pt.stack([-pt.softplus(eta), -pt.softplus(-eta)], axis=1)
    return (
        prior + _imaging_log_lik(theta, d) + _symptom_log_lik(theta, d) + _growth_log_lik(theta, d)
    )


def _imaging_log_lik(theta: dict, d: SimpleNamespace):
    """Each imaging case (none / value / read for perfusion and PET) on its own block of lesions."""
    blocks = []
    for i, (perf_state, pet_state) in enumerate(IMAGING_CASES):
        start, stop = d.bounds[i], d.bounds[i + 1]
        if perf_state == NONE and pet_state == NONE:
            blocks.append(pt.zeros((stop - start, 2)))
            continue
        case = SimpleNamespace(**{name: getattr(d, name)[start:stop] for name in _PER_LESION})
        blocks.append(_imaging_case(theta, case, perf_state, pet_state))
    return pt.concatenate(blocks, axis=0)


def _imaging_case(theta, case, perf_state: int, pet_state: int):
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
    span = max(h, 0) + ORTHANT_SPAN - h (see :mod:`model.likelihood.quadrature`).
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


def _symptom_log_lik(theta: dict, d: SimpleNamespace):
    rate = theta["symptom_rate"]  # (class, symptom)
    return pt.dot(d.symptom_yes, pt.log(rate).T) + pt.dot(d.symptom_no, pt.log1p(-rate).T)


def _growth_log_lik(theta: dict, d: SimpleNamespace):
    columns = []
    for k in (0, 1):
        log_density = _normal_logpdf(
            d.growth, theta["growth_rate"][k] * d.growth_weeks, theta["growth_sd"][k]
        )
        columns.append(pt.sum(log_density * d.growth_mask, axis=1))
    return pt.stack(columns, axis=1)


def _lesion_log_likelihood(theta: dict, ell, d: SimpleNamespace):
    """Per-lesion log-likelihood with the class marginalised (histopathology fixes the class).

    The label enters as a per-lesion term added to each class before the log-sum-exp: the
    follow-up label's log-likelihood under each class, or, for histopathology, 0 for the labelled
    class and -1e6 for the other (exp(-1e6) is 0: the class is fixed, without infinities).
    """
    se, sp = theta["sensitivity"], theta["specificity"]
    says = d.says_recurrence[:, None]
    follow = says * pt.stack([pt.log1p(-sp), pt.log(se)]) + (1 - says) * pt.stack(
        [pt.log(sp), pt.log1p(-se)]
    )
    label = d.is_follow[:, None] * follow + d.is_histo[:, None] * (d.histo_onehot - 1.0) * 1e6
    return pm.math.logsumexp(ell + label, axis=1)
