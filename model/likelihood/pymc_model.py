"""The hierarchical latent-class model in PyMC.

For lesion i at center c, with class k (0 necrosis, 1 recurrence) marginalised:

- class prior: logit P(k = 1) = intercept + u_c + early * x_early + mgmt * x_mgmt
  + mgmt_early * x_mgmt * x_early + reirradiation * x_reirradiation
  (:mod:`model.likelihood.class_prior`; MGMT matters most in the pseudoprogression window), mixed
  over the statuses an unknown MGMT or re-irradiation status may hide;
- each registered continuous marker (:mod:`model.modalities`): its log value is the misread
  mixture of normals (:mod:`model.modalities.forms`) with its kind's class locations, one spread
  for both classes, and the center's calibration shift a_c shared by both classes; a read is the
  probability of the value lying on its side of the cutoff, under the same mixture; in the
  pseudoprogression window a marker that declares an early shift moves its treatment-effect
  location that share of the separation, times the window weight
  (:mod:`model.inputs.early_window`), towards recurrence;
- a marker measured again at follow-up: its changes between scans are a trajectory like growth,
  the lesion's own rate Normal(rho_k, tau) per 6 weeks with rho_1 = rho_0 + direction x
  separation, through the marker's misread mixture (:mod:`model.likelihood.trends`);
- each binary test: positive with probability sensitivity (recurrence) or 1 - specificity;
- symptoms: the items share one latent clinical decline, whose probability depends on the class
  and on the context (edema, eloquent location, steroid increase), :mod:`model.likelihood.symptoms`;
- growth: the rescans of a lesion share its own rate, Normal(g_k, tau) per 6 weeks, each scan
  adding measurement noise sd and, after a steroid increase, the shift beta (mixed over what an
  unrecorded change may hide); the series as a whole may be misread
  (:mod:`model.likelihood.growth`);
- reference label: histopathology is the class; a follow-up label has sensitivity and
  specificity with Beta priors; unlabelled lesions are a two-class mixture (log-sum-exp);
- patients: the prior and the symptoms are the patient's and count once; a patient's lesions
  share one class with probability rho, the concordance, and the classes are marginalised over the
  patient's lesions together (:mod:`model.likelihood.patients`).

Modalities are conditionally independent given the class and the center. Label switching is
prevented by ordering: recurrence = necrosis + direction x a positive separation, for every marker
kind and for growth. Group effects are centred or non-centred per family, as the data favour
(:func:`choose_centered`). Every prior comes from the parameter file
(:mod:`model.inputs.parameters`), every modality from its declaration.

The same likelihood is implemented for scoring in :mod:`model.likelihood.kernel` (NumPy/numba, no
PyMC); ``tests/likelihood/test_model_agreement.py`` proves the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY, NONE, READ, VALUE, Lesions
from model.inputs.parameters import STEROID_SHARE_ENTRY, Parameters
from model.inputs.vocabulary import CLASSES, SYMPTOMS
from model.likelihood.class_prior import class_prior_logit, prior_components
from model.likelihood.draws import DECLINE_TERMS, kind_dim
from model.likelihood.growth import (
    growth_features,
    shifted_sums,
    split_by_patterns,
    trajectory_log_density,
)
from model.likelihood.patients import PatientGroups, patient_log_likelihood
from model.likelihood.symptoms import decline_logit, symptom_log_likelihood
from model.likelihood.trends import trend_sums
from model.modalities.forms import (
    binary_log_prob,
    misread_log_density,
    misread_read_log_prob,
    pytensor_backend,
)
from model.modalities.spec import EARLY_SHIFT, FOLLOW_UP_PARAMETERS, BinaryTest, Marker

DATA_PREFIX = "lesions_"

# Rough standard deviation of one lesion's information about a group effect on the logit scale
# for binary evidence: 1 / sqrt(p (1 - p) * share informative), p ~ 0.6, ~70% class information.
_PREVALENCE_SD = 2.5


def families(parameters: Parameters) -> tuple[str, ...]:
    """Hierarchical families whose group effects can be centred or non-centred."""
    return ("prevalence", *(m.name for m in parameters.registry.markers))


def choose_centered(lesions: Lesions, parameters: Parameters) -> tuple[str, ...]:
    """Choose, per family, the parameterisation the data favour.

    A group effect is data-dominated when its standard error, about
    ``observation_sd / sqrt(n_group)``, is below the prior spread tau; then the centred form
    samples better, otherwise the non-centred one (the funnel of few lesions per group). For a
    marker the observation SD is its kinds' mean within-class spread.

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

    def per_center(mask):
        return np.bincount(lesions.center[mask], minlength=n_centers)

    counts = {
        "prevalence": (
            per_center(np.ones(len(lesions), bool)),
            _PREVALENCE_SD,
            parameters.value("prevalence.tau_center"),
        ),
    }
    for m in parameters.registry.markers:
        sd = np.mean([parameters.value(f"modality.{m.name}.{k}.sigma") for k in m.kind_names])
        counts[m.name] = (
            per_center(lesions.evidence[m.name].state != NONE),
            sd,
            parameters.value(f"modality.{m.name}.tau_center"),
        )
    chosen = []
    for family in families(parameters):
        n, sd, tau = counts[family]
        typical = float(np.median(n)) if len(n) else 0.0
        if typical >= (sd / tau) ** 2:
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
    patient_log_likelihood : TensorVariable
        (P,): each patient's log-likelihood with the classes marginalised (a patient with one
        lesion: that lesion's).
    data : dict of str to ndarray
        The lesion arrays, by the names of the shared variables that hold them: a model compiled
        once takes another cohort's ``model_data`` (same centers and modalities) without
        recompiling.
    """

    model: pm.Model
    class_log_joint: pt.TensorVariable
    patient_log_likelihood: pt.TensorVariable
    data: dict


def build_model(
    lesions: Lesions,
    centers: Sequence[str],
    parameters: Parameters,
    *,
    centered: Sequence[str] = (),
) -> ModelGraph:
    """Build the PyMC model for encoded lesions.

    Parameters
    ----------
    lesions : Lesions
        Encoded training lesions (:func:`model.inputs.encode.encode`); every center index must be
        >= 0.
    centers : sequence of str
        Center names, in the index order used by ``lesions``.
    parameters : Parameters
        Priors and modalities (:func:`model.inputs.parameters.load_parameters`).
    centered : sequence of str, default ()
        Families whose group effects are centred (better when each group has many lesions); the
        others are non-centred. See :func:`choose_centered`.

    Returns
    -------
    ModelGraph
    """
    if np.any(lesions.center < 0):
        raise ValueError("training lesions must all come from known centers")
    registry = parameters.registry
    coords = {
        "center": list(centers),
        "class": list(CLASSES),
        "symptom": list(SYMPTOMS),
        **{kind_dim(m): list(m.kind_names) for m in registry.markers},
    }
    data = model_data(lesions, parameters)
    shared = {k[len(DATA_PREFIX) :]: pytensor.shared(v, name=k) for k, v in data.items()}
    with pm.Model(coords=coords) as model:
        prior = _PriorFactory(parameters)
        theta = _parameters(prior, parameters, tuple(centered))
        prior, symptoms, evidence = _class_terms(theta, shared, parameters)
        alone, joint = _patient_log_likelihood(
            theta, prior, symptoms, evidence + _label_log_lik(theta, shared), shared
        )
        per_patient = pt.concatenate([alone[shared["alone_index"]], joint])[shared["patient_order"]]
        pm.Potential("patients", per_patient)
    return ModelGraph(model, prior + symptoms + evidence, per_patient, data)


@dataclass(frozen=True)
class MarkerLayout:
    """How the markers' kinds, calibration shifts and binary tests are numbered in the graph.

    Every marker's numbers form one block of data and its parameters one stacked vector, so the
    graph's size does not grow with the number of modalities (a compile of the model, the slow
    step of a first fit, stays short).

    Attributes
    ----------
    markers, binary : tuple of str
        Marker and binary-test names, in registry order.
    first_kind : tuple of int
        Where each marker's kinds start in the stacked kind vector.
    direction, misread : ndarray (kinds,)
        Per stacked kind: +1 or -1, and the marker's misread probability.
    """

    markers: tuple[str, ...]
    binary: tuple[str, ...]
    first_kind: tuple[int, ...]
    direction: np.ndarray
    misread: np.ndarray

    @classmethod
    def of(cls, parameters: Parameters) -> MarkerLayout:
        """The layout of a parameter file's registry."""
        markers = parameters.registry.markers
        first, direction, misread, start = [], [], [], 0
        for m in markers:
            first.append(start)
            start += len(m.kinds)
            direction += [m.direction] * len(m.kinds)
            misread += [float(parameters.value(f"modality.{m.name}.misread"))] * len(m.kinds)
        return cls(
            tuple(m.name for m in markers),
            tuple(t.name for t in parameters.registry.binary_tests),
            tuple(first),
            np.array(direction, dtype=float),
            np.array(misread, dtype=float),
        )


def model_data(lesions: Lesions, parameters: Parameters) -> dict[str, np.ndarray]:
    """The arrays the model's shared variables hold, for these lesions.

    Every marker's numbers enter as one set of aligned arrays (its reads as another): the lesion
    index, the kind (numbered across all markers, :class:`MarkerLayout`), the calibration shift
    (numbered across markers and centers) and the log value; binary results likewise. The graph
    gathers the parameters for them and adds each lesion's terms back by index, so a result costs
    only its own lesion.

    Parameters
    ----------
    lesions : Lesions
    parameters : Parameters

    Returns
    -------
    dict of str to ndarray
        Keyed by the shared variables' names (prefix :data:`DATA_PREFIX`).
    """
    is_histo = lesions.label_source == HISTOPATHOLOGY
    onehot = np.zeros((len(lesions), 2))
    onehot[np.flatnonzero(is_histo), lesions.label[is_histo]] = 1.0
    groups = PatientGroups.of(lesions.patient)
    arrays: dict[str, np.ndarray] = {
        **_patient_arrays(groups),
        "center": lesions.center,
        "x_early": lesions.x_early,
        **dict(
            zip(
                ("prior_mgmt", "prior_reirradiation", "prior_log_weight"),
                prior_components(
                    lesions.x_mgmt, lesions.x_reirradiation, parameters.hidden_shares()
                ),
                strict=True,
            )
        ),
        "x_edema": lesions.x_edema,
        "x_eloquent": lesions.x_eloquent,
        "x_steroid": lesions.x_steroid,
        "symptom_yes": lesions.symptom_yes,
        "symptom_no": lesions.symptom_no,
        **split_by_patterns(growth_features(lesions, float(parameters.value(STEROID_SHARE_ENTRY)))),
        "is_histo": is_histo.astype(float),
        "histo_onehot": onehot,
        "is_follow": (lesions.label_source == FOLLOW_UP).astype(float),
        "says_recurrence": (lesions.label == 1).astype(float),
    }
    layout = MarkerLayout.of(parameters)
    n_centers = int(lesions.center.max()) + 1 if len(lesions) else 0
    parts: dict[str, list[dict]] = {part: [] for part in _PARTS}
    for modality in parameters.registry:
        e = lesions.evidence[modality.name]
        if isinstance(modality, BinaryTest):
            index = np.flatnonzero(e.state == READ)
            test = np.full(len(index), layout.binary.index(modality.name))
            parts["binary"].append({"index": index, "test": test, "positive": e.sign[index] > 0})
            continue
        m = layout.markers.index(modality.name)
        for state, part in ((VALUE, "marker_value"), (READ, "marker_read")):
            index = np.flatnonzero(e.state == state)
            parts[part].append(
                {
                    "index": index,
                    "kind": layout.first_kind[m] + e.kind[index],
                    "shift": m * n_centers + lesions.center[index],
                    "x": e.value[index],
                    "sign": e.sign[index],
                    "early": lesions.early_weight[index],
                }
            )
    sums = trend_sums(lesions, parameters.registry)
    for e, modality in enumerate(parameters.registry):
        if getattr(modality, "follow_up", False):
            index = np.flatnonzero(sums[:, e, 3] > 0)
            arrays[f"trend_{modality.name}_index"] = index
            arrays[f"trend_{modality.name}_sums"] = sums[index, e]
    integer = {
        *(f"trend_{m.name}_index" for m in parameters.registry.markers if m.follow_up),
        "center",
        "alone_index",
        "joint_first",
        "joint_index",
        "patient_order",
        "growth_order",
    }
    for part, names in _PARTS.items():
        for name in names:
            pieces = [piece[name] for piece in parts[part]]
            arrays[f"{part}_{name}"] = np.concatenate(pieces) if pieces else np.zeros(0)
            if name in ("index", "kind", "shift", "test"):
                integer.add(f"{part}_{name}")
    return {
        f"{DATA_PREFIX}{k}": np.ascontiguousarray(v, dtype=np.int64 if k in integer else np.float64)
        for k, v in arrays.items()
    }


_PARTS = {
    "marker_value": ("index", "kind", "shift", "x", "early"),
    "marker_read": ("index", "kind", "shift", "x", "sign", "early"),
    "binary": ("index", "test", "positive"),
}
"""The data arrays of each part of the results: exactly those the graph reads (a compiled model
takes only the data its graph uses)."""


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
        raise ValueError(f"{name}: prior kind {kind!r} is not a random variable")


def _center_offsets(prior: _PriorFactory, name: str, tau_entry: str, centered: Sequence[str]):
    tau = prior(f"{name}_tau_center", tau_entry)
    if name in centered:
        return pm.Normal(f"{name}_center", 0.0, tau, dims="center")
    z = pm.Normal(f"{name}_center_z", 0.0, 1.0, dims="center")
    return pm.Deterministic(f"{name}_center", tau * z, dims="center")


def _marker(prior: _PriorFactory, marker: Marker, parameters: Parameters, centered):
    dim = kind_dim(marker)

    def per_kind(p: str):
        return prior(
            f"{marker.name}_{p}",
            [f"modality.{marker.name}.{k}.{p}" for k in marker.kind_names],
            dims=dim,
        )

    mu0, separation, sigma = per_kind("mu_necrosis"), per_kind("separation"), per_kind("sigma")
    offset = _center_offsets(prior, marker.name, f"modality.{marker.name}.tau_center", centered)
    step = marker.direction * separation
    early = (
        prior(f"{marker.name}_{EARLY_SHIFT}", f"modality.{marker.name}.{EARLY_SHIFT}")
        if marker.early_shift
        else 0.0
    )
    out = {
        "mu0": mu0,
        "mu1": mu0 + step,
        "sigma": sigma,
        "offset": offset,
        "early": early * step,
    }
    if marker.follow_up:
        rate, separation, sd, tau = (
            prior(f"{marker.name}_{p}", f"modality.{marker.name}.{p}") for p in FOLLOW_UP_PARAMETERS
        )
        out["trend"] = (rate, rate + marker.direction * separation, sd, tau)
    return out


def _parameters(prior: _PriorFactory, parameters: Parameters, centered: Sequence[str]) -> dict:
    theta: dict = {}
    theta["intercept"] = prior("prevalence_intercept", "prevalence.intercept")
    theta["early"] = prior("prevalence_early", "prevalence.early")
    theta["mgmt"] = prior("prevalence_mgmt", "prevalence.mgmt")
    theta["mgmt_early"] = prior("prevalence_mgmt_early", "prevalence.mgmt_early")
    theta["reirradiation"] = prior("prevalence_reirradiation", "prevalence.reirradiation")
    theta["u"] = _center_offsets(prior, "prevalence", "prevalence.tau_center", centered)
    theta["concordance"] = prior("prevalence_patient_concordance", "prevalence.patient_concordance")
    theta["modalities"] = {}
    for m in parameters.registry:
        if isinstance(m, Marker):
            theta["modalities"][m.name] = _marker(prior, m, parameters, centered)
        else:
            theta["modalities"][m.name] = {
                "sensitivity": prior(f"{m.name}_sensitivity", f"modality.{m.name}.sensitivity"),
                "specificity": prior(f"{m.name}_specificity", f"modality.{m.name}.specificity"),
            }

    theta["decline"] = [
        prior(f"symptom_decline_{k}", f"symptoms.decline_{k}") for k in DECLINE_TERMS
    ]
    for given in ("if_decline", "if_stable"):
        theta[given] = prior(
            f"symptom_{given}", [f"symptoms.{s}.{given}" for s in SYMPTOMS], dims="symptom"
        )

    g0 = prior("growth_rate_necrosis", "growth.rate_necrosis")
    g_sep = prior("growth_separation", "growth.separation")
    theta["growth_rate"] = (g0, g0 + g_sep)
    theta["growth_sd"] = prior("growth_sd", "growth.sd")
    theta["growth_tau"] = prior("growth_tau_lesion", "growth.tau_lesion")
    theta["growth_steroid_shift"] = prior("growth_steroid_shift", "growth.steroid_shift")
    theta["growth_misread"] = float(parameters.value("growth.misread"))
    theta["sensitivity"] = prior("reference_sensitivity", "reference.follow_up_sensitivity")
    theta["specificity"] = prior("reference_specificity", "reference.follow_up_specificity")
    return theta


def _class_terms(theta: dict, d: dict, parameters: Parameters):
    """Per lesion and class, (n, 2) each: prior, symptoms and the lesion's own evidence.

    log P(class), the symptoms' log-likelihood as if the lesion were its patient's only one, and
    the log-likelihood of its own imaging and growth.
    """
    eta = theta["u"][d["center"]][None, :] + class_prior_logit(
        theta, d["x_early"][None, :], d["prior_mgmt"], d["prior_reirradiation"]
    )  # (hidden statuses, n)
    w = d["prior_log_weight"]
    prior = pt.stack(
        [pt.logsumexp(w - pt.softplus(eta), axis=0), pt.logsumexp(w - pt.softplus(-eta), axis=0)],
        axis=1,
    )
    evidence = _growth_log_lik(theta, d)
    indices, terms = [], []
    for index, term in _result_terms(theta, d, MarkerLayout.of(parameters)):
        indices.append(index)
        terms.append(term)
    if terms:
        evidence = pt.inc_subtensor(
            evidence[pt.concatenate(indices)], pt.concatenate(terms, axis=0)
        )
    return prior, _symptom_log_lik(theta, d), evidence


def _result_terms(theta: dict, d: dict, layout: MarkerLayout):
    """(lesion indices, (n, 2) log-likelihood) of the markers' numbers, reads and binary results."""
    xp = pytensor_backend()
    if layout.markers:
        markers = [theta["modalities"][name] for name in layout.markers]
        mu0 = pt.concatenate([m["mu0"] for m in markers])
        mu1 = pt.concatenate([m["mu1"] for m in markers])
        sigma = pt.concatenate([m["sigma"] for m in markers])
        shift = pt.concatenate([m["offset"] for m in markers])
        early = pt.concatenate([m["early"] for m in markers])
        for part in ("marker_value", "marker_read"):
            kind, where = d[f"{part}_kind"], d[f"{part}_shift"]
            own1, sd = mu1[kind] + shift[where], sigma[kind]
            own0 = mu0[kind] + shift[where] + d[f"{part}_early"] * early[kind]
            eps = pt.as_tensor(layout.misread)[kind]
            if part == "marker_value":
                u = d[f"{part}_x"]
                necrosis = misread_log_density(u, own0, own1, sd, eps, xp)
                recurrence = misread_log_density(u, own1, own0, sd, eps, xp)
            else:
                towards = d[f"{part}_sign"] * pt.as_tensor(layout.direction)[kind]
                cut = d[f"{part}_x"]
                z0, z1 = towards * (own0 - cut) / sd, towards * (own1 - cut) / sd
                necrosis = misread_read_log_prob(z0, z1, eps, xp)
                recurrence = misread_read_log_prob(z1, z0, eps, xp)
            yield d[f"{part}_index"], pt.stack([necrosis, recurrence], axis=1)
    for m, name in enumerate(layout.markers):
        if "trend" in theta["modalities"][name]:
            misread = float(layout.misread[layout.first_kind[m]])  # the marker's, on every kind
            trend = _trend_log_lik(
                theta["modalities"][name]["trend"], d[f"trend_{name}_sums"], misread
            )
            yield d[f"trend_{name}_index"], trend
    if layout.binary:
        tests = [theta["modalities"][name] for name in layout.binary]
        test = d["binary_test"]
        se = pt.stack([t["sensitivity"] for t in tests])[test]
        sp = pt.stack([t["specificity"] for t in tests])[test]
        necrosis, recurrence = binary_log_prob(d["binary_positive"], se, sp, xp)
        yield d["binary_index"], pt.stack([necrosis, recurrence], axis=1)


def _symptom_log_lik(theta: dict, d: dict):
    yes, no = d["symptom_yes"], d["symptom_no"]

    def answers(rate):
        return pt.dot(yes, pt.log(rate)) + pt.dot(no, pt.log1p(-rate))

    coefficients = theta["decline"]
    eta = decline_logit(coefficients, d["x_edema"], d["x_eloquent"], d["x_steroid"])
    necrosis, recurrence = symptom_log_likelihood(
        answers(theta["if_decline"]),
        answers(theta["if_stable"]),
        eta,
        coefficients[1],
        pytensor_backend(),
    )
    return pt.stack([necrosis, recurrence], axis=1)


def _misread_pair(necrosis, recurrence, misread: float):
    """(n, 2): a whole series' class log-densities through the misread mixture."""
    keep, slip = np.log1p(-misread), np.log(misread)
    return pt.stack(
        [
            pt.logaddexp(keep + necrosis, slip + recurrence),
            pt.logaddexp(keep + recurrence, slip + necrosis),
        ],
        axis=1,
    )


def _trend_log_lik(trend, sums, misread: float):
    """(n, 2): a marker's follow-up changes under each class (:mod:`model.likelihood.trends`)."""
    r0, r1, sd, tau = trend
    columns = tuple(sums[:, k] for k in range(4))
    return _misread_pair(
        trajectory_log_density(columns, r0, sd**2, tau**2, pt.log),
        trajectory_log_density(columns, r1, sd**2, tau**2, pt.log),
        misread,
    )


def _growth_log_lik(theta: dict, d: dict):
    r0, r1 = theta["growth_rate"]
    sd2, tau2 = theta["growth_sd"] ** 2, theta["growth_tau"] ** 2
    shift = theta["growth_steroid_shift"]
    single = shifted_sums(d["growth_single_sums"], d["growth_single_steroid"], shift)
    mixed = shifted_sums(d["growth_mixed_sums"], d["growth_mixed_steroid"], shift)

    def density(rate):
        # a lesion whose record hides a steroid change: the mixture over what it may hide
        hidden = d["growth_mixed_weight"] + trajectory_log_density(mixed, rate, sd2, tau2, pt.log)
        return pt.concatenate(
            [
                trajectory_log_density(single, rate, sd2, tau2, pt.log)[:, 0],
                pt.logsumexp(hidden, axis=1),
            ]
        )[d["growth_order"]]

    return _misread_pair(density(r0), density(r1), theta["growth_misread"])


def _label_log_lik(theta: dict, d: dict):
    """Per lesion and class, the reference label's log-likelihood: (n, 2).

    The follow-up label's log-likelihood under each class, or, for histopathology, 0 for the
    labelled class and -1e6 for the other (exp(-1e6) is 0: the class is fixed, without
    infinities); 0 without a label.
    """
    se, sp = theta["sensitivity"], theta["specificity"]
    says = d["says_recurrence"][:, None]
    follow = says * pt.stack([pt.log1p(-sp), pt.log(se)]) + (1 - says) * pt.stack(
        [pt.log(sp), pt.log1p(-se)]
    )
    return (
        d["is_follow"][:, None] * follow + d["is_histo"][:, None] * (d["histo_onehot"] - 1.0) * 1e6
    )


def _patient_arrays(groups: PatientGroups) -> dict[str, np.ndarray]:
    """How the patients are laid out for the graph.

    A patient's only lesion is its own likelihood (``alone_index``: those lesions, in order);
    patients with several (``joint_first``, ``joint_index``, ``joint_present``) are marginalised
    together. ``patient_order`` puts each patient's term, from the only-lesion terms followed by
    the joint ones, back in patient order.
    """
    several = groups.counts > 1
    joint = PatientGroups(groups.first[several], groups.slots[several])
    alone_index = np.sort(groups.first[~several])
    order = np.empty(len(groups.first), dtype=np.int64)
    order[~several] = np.searchsorted(alone_index, groups.first[~several])
    order[several] = len(alone_index) + np.arange(several.sum())
    return {
        "alone_index": alone_index,
        "joint_first": joint.first,
        "joint_index": joint.index,
        "joint_present": joint.present,
        "patient_order": order,
    }


def _patient_log_likelihood(theta: dict, prior, symptoms, evidence, d: dict):
    """Per-lesion and joint log-likelihoods.

    Each lesion's log-likelihood as its patient's only lesion (n,), and the log-likelihood of
    each patient with several, its lesions marginalised together (:mod:`.patients`).
    """
    alone = pt.logsumexp(prior + symptoms + evidence, axis=1)
    first = d["joint_first"]
    joint = patient_log_likelihood(
        prior[first],
        symptoms[first],
        evidence,
        d["joint_index"],
        d["joint_present"],
        theta["concordance"],
        pt,
        lambda x, axis: pt.logsumexp(x, axis=axis),
    )
    return alone, joint
