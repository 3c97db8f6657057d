"""Posterior draws as plain NumPy arrays: what scoring, decisions and cutoff analyses read.

A :class:`PosteriorDraws` is built from a fit's posterior (an xarray ``DataTree`` or ``Dataset``,
chains and draws stacked) or, for tests and what-if analyses, from one set of parameter values
(:func:`draws_from_values`). The PyMC variable of every parameter-file entry is named once, in
:func:`parameter_variables`, from the registry. Nothing here imports PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from model.inputs.parameters import STEROID_SHARE_ENTRY, Parameters
from model.inputs.vocabulary import GROWTH_WEEKS, SYMPTOMS
from model.modalities.registry import Registry
from model.modalities.spec import EARLY_SHIFT, FOLLOW_UP_PARAMETERS, BinaryTest, Marker

DECLINE_TERMS: tuple[str, ...] = ("intercept", "recurrence", "edema", "eloquent", "steroid")
"""The clinical-decline logit's coefficients, in the order of :attr:`PosteriorDraws.decline`."""

FIXED_HYPERPARAMETERS: tuple[str, ...] = (
    "prevalence_intercept",
    "prevalence_early",
    "prevalence_mgmt",
    "prevalence_mgmt_early",
    "prevalence_reirradiation",
    "prevalence_tau_center",
    "prevalence_patient_concordance",
    *(f"symptom_decline_{k}" for k in DECLINE_TERMS),
    "symptom_if_decline",
    "symptom_if_stable",
    "growth_rate_necrosis",
    "growth_separation",
    "growth_sd",
    "growth_tau_lesion",
    "growth_steroid_shift",
    "reference_sensitivity",
    "reference_specificity",
)
"""Population-level PyMC variables every model has (each modality adds its own)."""


def hyperparameters(registry: Registry) -> tuple[str, ...]:
    """Population-level PyMC variables (not center- or item-specific), for ESS reporting."""
    out = list(FIXED_HYPERPARAMETERS)
    for modality in registry:
        if isinstance(modality, Marker):
            out += [f"{modality.name}_{p}" for p in ("mu_necrosis", "separation", "sigma")]
            out.append(f"{modality.name}_tau_center")
            if modality.early_shift:
                out.append(f"{modality.name}_{EARLY_SHIFT}")
            if modality.follow_up:
                out += [f"{modality.name}_{p}" for p in FOLLOW_UP_PARAMETERS]
        else:
            out += [f"{modality.name}_sensitivity", f"{modality.name}_specificity"]
    return tuple(out)


def kind_dim(marker: Marker) -> str:
    """The PyMC dimension of a marker's kinds."""
    return f"{marker.name}_kind"


@dataclass(frozen=True, eq=False)
class MarkerDraws:
    """S draws of a continuous marker's parameters (kinds K, centers C).

    Attributes
    ----------
    mu_necrosis, separation, sigma : arrays (S, K)
    tau : array (S,)
        Between-center spread of the calibration shift.
    offset : array (S, C)
        Each training center's calibration shift (log scale, both classes).
    misread : float
    direction : {1, -1}
    early_shift : array (S,)
        In the pseudoprogression window, the share of the separation by which the necrosis
        location moves towards recurrence (0 for a marker without an early effect).
    trend_rate : array (S, 2)
        Mean log change per six weeks between scans, necrosis and recurrence
        (:mod:`model.likelihood.trends`); 0 for a marker without follow-up values.
    trend_sd, trend_tau : arrays (S,)
        Scan-to-scan noise of that change and the spread of the lesions' own rates (1 and 0 for a
        marker without follow-up values).
    """

    mu_necrosis: np.ndarray
    separation: np.ndarray
    sigma: np.ndarray
    tau: np.ndarray
    offset: np.ndarray
    misread: float
    direction: int
    early_shift: np.ndarray
    trend_rate: np.ndarray
    trend_sd: np.ndarray
    trend_tau: np.ndarray

    def class_locations(self, early: bool = False) -> np.ndarray:
        """(S, K, 2): the log-scale location of each class (necrosis, recurrence), no offset.

        With ``early``, the locations in the pseudoprogression window.
        """
        step = self.direction * self.separation
        necrosis = self.mu_necrosis + (self.early_shift[:, None] * step if early else 0.0)
        return np.stack([necrosis, self.mu_necrosis + step], axis=-1)

    def select(self, index) -> MarkerDraws:
        """Some draws only."""
        return MarkerDraws(
            self.mu_necrosis[index],
            self.separation[index],
            self.sigma[index],
            self.tau[index],
            self.offset[index],
            self.misread,
            self.direction,
            self.early_shift[index],
            self.trend_rate[index],
            self.trend_sd[index],
            self.trend_tau[index],
        )


@dataclass(frozen=True, eq=False)
class BinaryDraws:
    """S draws of a binary test's sensitivity and specificity."""

    sensitivity: np.ndarray
    specificity: np.ndarray

    def select(self, index) -> BinaryDraws:
        """Some draws only."""
        return BinaryDraws(self.sensitivity[index], self.specificity[index])


@dataclass(frozen=True, eq=False)
class PosteriorDraws:
    """S posterior draws of every model parameter (leading axis = draw).

    Class axes are ordered (necrosis, recurrence). ``markers`` and ``binary`` follow the
    registry's order.
    """

    intercept: np.ndarray  # (S,)
    early: np.ndarray  # (S,)
    mgmt: np.ndarray  # (S,)
    mgmt_early: np.ndarray  # (S,) the MGMT x early-window interaction
    reirradiation: np.ndarray  # (S,) a second course of radiotherapy
    tau_u: np.ndarray  # (S,)
    u: np.ndarray  # (S, C)
    concordance: np.ndarray  # (S,) P(a patient's lesions share one class), beyond chance
    markers: dict[str, MarkerDraws]
    binary: dict[str, BinaryDraws]
    decline: np.ndarray  # (S, 5): the decline logit's coefficients, as DECLINE_TERMS
    symptom_if_decline: np.ndarray  # (S, symptom): P(item yes | decline)
    symptom_if_stable: np.ndarray  # (S, symptom): P(item yes | no decline)
    growth_rate: np.ndarray  # (S, class)
    growth_sd: np.ndarray  # (S,) measurement noise of one rescan
    growth_tau: np.ndarray  # (S,) between-lesion spread of the growth rate within a class
    growth_steroid_shift: np.ndarray  # (S,) log growth a steroid increase before a rescan adds
    growth_misread: float
    steroid_share: float  # P(steroid dose raised) behind a rescan without a record
    sensitivity: np.ndarray  # (S,) of the follow-up reference label
    specificity: np.ndarray  # (S,)
    hidden_shares: tuple[float, float]  # P(methylated), P(re-irradiated) behind an unknown status

    @property
    def n_draws(self) -> int:
        """Number of draws S."""
        return len(self.intercept)

    def scan_sd(self, weeks: float) -> np.ndarray:
        """(S,): the spread of one rescan's log growth after ``weeks``, its lesion's rate unknown.

        sqrt(sd^2 + tau^2 w^2), w in six-week units: the marginal of a single rescan.
        """
        w = weeks / GROWTH_WEEKS
        return np.sqrt(self.growth_sd**2 + (self.growth_tau * w) ** 2)

    @property
    def n_centers(self) -> int:
        """Number of training centers C."""
        return self.u.shape[1]

    def thin(self, n: int) -> PosteriorDraws:
        """At most ``n`` draws, evenly spaced (for quick previews and tests)."""
        step = max(1, self.n_draws // n)
        return self.select(np.arange(0, self.n_draws, step)[:n])

    def select(self, index) -> PosteriorDraws:
        """The draws at ``index``."""
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                values[f.name] = {k: v.select(index) for k, v in value.items()}
            elif isinstance(value, np.ndarray):
                values[f.name] = value[index]
            else:
                values[f.name] = value
        return PosteriorDraws(**values)


def draws_from_posterior(posterior: Any, parameters: Parameters) -> PosteriorDraws:
    """Flatten a posterior (DataTree, its ``posterior`` node, or a Dataset) into draws.

    Parameters
    ----------
    posterior : xarray.DataTree or xarray.Dataset
        With dims ``chain`` and ``draw`` and the variable names of
        :mod:`model.likelihood.pymc_model`.
    parameters : Parameters
        The fit's modalities and fixed values (misread probabilities).

    Returns
    -------
    PosteriorDraws
    """
    if hasattr(posterior, "children") and "posterior" in posterior.children:
        posterior = posterior["posterior"]
    ds = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior

    def get(name: str, *dims: str) -> np.ndarray:
        var = ds[name].stack(sample=("chain", "draw")).transpose("sample", *dims)
        return np.ascontiguousarray(var.to_numpy(), dtype=float)

    markers, binary = {}, {}
    for m in parameters.registry:
        if isinstance(m, Marker):
            dim = kind_dim(m)
            tau = get(f"{m.name}_tau_center")
            markers[m.name] = MarkerDraws(
                get(f"{m.name}_mu_necrosis", dim),
                get(f"{m.name}_separation", dim),
                get(f"{m.name}_sigma", dim),
                tau,
                get(f"{m.name}_center", "center"),
                float(parameters.value(f"modality.{m.name}.misread")),
                m.direction,
                get(f"{m.name}_{EARLY_SHIFT}") if m.early_shift else np.zeros_like(tau),
                *_trend_draws(m, lambda p, m=m: get(f"{m.name}_{p}"), len(tau)),
            )
        else:
            binary[m.name] = BinaryDraws(get(f"{m.name}_sensitivity"), get(f"{m.name}_specificity"))
    g0 = get("growth_rate_necrosis")
    return PosteriorDraws(
        intercept=get("prevalence_intercept"),
        early=get("prevalence_early"),
        mgmt=get("prevalence_mgmt"),
        mgmt_early=get("prevalence_mgmt_early"),
        reirradiation=get("prevalence_reirradiation"),
        tau_u=get("prevalence_tau_center"),
        u=get("prevalence_center", "center"),
        concordance=get("prevalence_patient_concordance"),
        markers=markers,
        binary=binary,
        decline=np.stack([get(f"symptom_decline_{k}") for k in DECLINE_TERMS], axis=-1),
        symptom_if_decline=get("symptom_if_decline", "symptom"),
        symptom_if_stable=get("symptom_if_stable", "symptom"),
        growth_rate=np.stack([g0, g0 + get("growth_separation")], axis=-1),
        growth_sd=get("growth_sd"),
        growth_tau=get("growth_tau_lesion"),
        growth_steroid_shift=get("growth_steroid_shift"),
        growth_misread=float(parameters.value("growth.misread")),
        steroid_share=float(parameters.value(STEROID_SHARE_ENTRY)),
        sensitivity=get("reference_sensitivity"),
        specificity=get("reference_specificity"),
        hidden_shares=parameters.hidden_shares(),
    )


def _trend_draws(marker: Marker, get, n_draws: int) -> tuple[np.ndarray, ...]:
    """A marker's (trend_rate, trend_sd, trend_tau).

    From ``get(parameter)`` of each of the :data:`~model.modalities.spec.FOLLOW_UP_PARAMETERS`;
    neutral values when it declares none.
    """
    if not marker.follow_up:
        return np.zeros((n_draws, 2)), np.ones(n_draws), np.zeros(n_draws)
    rate, separation, sd, tau = (get(p) for p in FOLLOW_UP_PARAMETERS)
    return np.stack([rate, rate + marker.direction * separation], axis=-1), sd, tau


def draws_from_values(
    parameters: Parameters,
    values: dict[str, float] | None = None,
    center_effects: dict[str, np.ndarray] | None = None,
) -> PosteriorDraws:
    """One 'draw' from fixed parameter values (dotted names of the parameter file).

    Parameters
    ----------
    parameters : Parameters
        The modalities, and the values used where none are given.
    values : dict of str to float, optional
        Model parameter values, e.g. a simulation truth; default the parameter file's values.
    center_effects : dict of str to ndarray, optional
        ``"prevalence"`` and each marker's name: offsets per center (C,). Default: one center
        with zero offsets.

    Returns
    -------
    PosteriorDraws
        With S = 1.
    """
    values = values if values is not None else parameters.model_values()
    effects = center_effects or {}
    n_centers = len(next(iter(effects.values()))) if effects else 1

    def one(name: str) -> np.ndarray:
        return np.array([values[name]])

    def offsets(key: str) -> np.ndarray:
        return np.asarray(effects.get(key, np.zeros(n_centers)), float)[None, :]

    markers, binary = {}, {}
    for m in parameters.registry:
        prefix = f"modality.{m.name}"
        if isinstance(m, BinaryTest):
            binary[m.name] = BinaryDraws(one(f"{prefix}.sensitivity"), one(f"{prefix}.specificity"))
            continue
        per_kind = {
            p: np.array([[values[f"{prefix}.{k}.{p}"] for k in m.kind_names]])
            for p in ("mu_necrosis", "separation", "sigma")
        }
        markers[m.name] = MarkerDraws(
            per_kind["mu_necrosis"],
            per_kind["separation"],
            per_kind["sigma"],
            one(f"{prefix}.tau_center"),
            offsets(m.name),
            float(values[f"{prefix}.misread"]),
            m.direction,
            one(f"{prefix}.{EARLY_SHIFT}") if m.early_shift else np.zeros(1),
            *_trend_draws(m, lambda p, prefix=prefix: one(f"{prefix}.{p}"), 1),
        )
    g0 = values["growth.rate_necrosis"]
    return PosteriorDraws(
        intercept=one("prevalence.intercept"),
        early=one("prevalence.early"),
        mgmt=one("prevalence.mgmt"),
        mgmt_early=one("prevalence.mgmt_early"),
        reirradiation=one("prevalence.reirradiation"),
        tau_u=one("prevalence.tau_center"),
        u=offsets("prevalence"),
        concordance=one("prevalence.patient_concordance"),
        markers=markers,
        binary=binary,
        decline=np.array([[values[f"symptoms.decline_{k}"] for k in DECLINE_TERMS]]),
        symptom_if_decline=np.array([[values[f"symptoms.{s}.if_decline"] for s in SYMPTOMS]]),
        symptom_if_stable=np.array([[values[f"symptoms.{s}.if_stable"] for s in SYMPTOMS]]),
        growth_rate=np.array([[g0, g0 + values["growth.separation"]]]),
        growth_sd=one("growth.sd"),
        growth_tau=one("growth.tau_lesion"),
        growth_steroid_shift=one("growth.steroid_shift"),
        growth_misread=float(values["growth.misread"]),
        steroid_share=float(parameters.value(STEROID_SHARE_ENTRY)),
        sensitivity=one("reference.follow_up_sensitivity"),
        specificity=one("reference.follow_up_specificity"),
        hidden_shares=parameters.hidden_shares(),
    )


def parameter_variables(registry: Registry) -> list[tuple[str, str, dict[str, str]]]:
    """Each estimated model entry of the parameter file and where it lives in the posterior.

    Returns
    -------
    list of (entry, variable, selection)
        The dotted entry name (``"modality.perfusion.DSC.separation"``), the posterior variable
        (``"perfusion_separation"``) and the coordinates that select it
        (``{"perfusion_kind": "DSC"}``). Fixed entries (misreads) are not variables.
    """
    out = [
        (f"prevalence.{k}", f"prevalence_{k}", {})
        for k in (
            "intercept",
            "early",
            "mgmt",
            "mgmt_early",
            "reirradiation",
            "tau_center",
            "patient_concordance",
        )
    ]
    for m in registry:
        prefix = f"modality.{m.name}"
        if isinstance(m, BinaryTest):
            out += [(f"{prefix}.{p}", f"{m.name}_{p}", {}) for p in ("sensitivity", "specificity")]
            continue
        out.append((f"{prefix}.tau_center", f"{m.name}_tau_center", {}))
        if m.early_shift:
            out.append((f"{prefix}.{EARLY_SHIFT}", f"{m.name}_{EARLY_SHIFT}", {}))
        if m.follow_up:
            out += [(f"{prefix}.{p}", f"{m.name}_{p}", {}) for p in FOLLOW_UP_PARAMETERS]
        for kind in m.kind_names:
            for p in ("mu_necrosis", "separation", "sigma"):
                out.append((f"{prefix}.{kind}.{p}", f"{m.name}_{p}", {kind_dim(m): kind}))
    out += [(f"symptoms.decline_{k}", f"symptom_decline_{k}", {}) for k in DECLINE_TERMS]
    for item in SYMPTOMS:
        for given in ("if_decline", "if_stable"):
            out.append((f"symptoms.{item}.{given}", f"symptom_{given}", {"symptom": item}))
    out += [
        ("growth.rate_necrosis", "growth_rate_necrosis", {}),
        ("growth.separation", "growth_separation", {}),
        ("growth.sd", "growth_sd", {}),
        ("growth.tau_lesion", "growth_tau_lesion", {}),
        ("growth.steroid_shift", "growth_steroid_shift", {}),
        ("reference.follow_up_sensitivity", "reference_sensitivity", {}),
        ("reference.follow_up_specificity", "reference_specificity", {}),
    ]
    return out
