"""Posterior draws as plain NumPy arrays: what scoring, decisions and cutoff analyses read.

A :class:`PosteriorDraws` is built from a fit's posterior (an xarray ``DataTree`` or ``Dataset``,
chains and draws stacked) or, for tests and what-if analyses, from one set of parameter values
(:func:`draws_from_values`). Nothing here imports PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from model.inputs.vocabulary import SYMPTOMS, TECHNIQUES, TRACERS

HYPERPARAMETERS: tuple[str, ...] = (
    "prevalence_intercept",
    "prevalence_early",
    "prevalence_mgmt",
    "prevalence_tau_center",
    "perfusion_mu_necrosis",
    "perfusion_separation",
    "perfusion_sigma",
    "perfusion_tau_center",
    "pet_mu_necrosis",
    "pet_separation",
    "pet_sigma",
    "pet_tau_center",
    "correlation",
    "symptom_class_mean",
    "symptom_tau_item",
    "growth_rate_necrosis",
    "growth_separation",
    "growth_sd",
    "reference_sensitivity",
    "reference_specificity",
)
"""Population-level parameters (not center- or item-specific), for ESS reporting."""


@dataclass(frozen=True, eq=False)
class PosteriorDraws:
    """S posterior draws of every model parameter (leading axis = draw).

    Class axes are ordered (necrosis, recurrence); technique and tracer axes follow
    :data:`~model.inputs.vocabulary.TECHNIQUES` and :data:`~model.inputs.vocabulary.TRACERS`.
    """

    intercept: np.ndarray  # (S,)
    early: np.ndarray  # (S,)
    mgmt: np.ndarray  # (S,)
    tau_u: np.ndarray  # (S,)
    u: np.ndarray  # (S, C)
    perf_mu: np.ndarray  # (S, technique, class)
    perf_sigma: np.ndarray  # (S, technique, class)
    tau_a: np.ndarray  # (S,)
    a: np.ndarray  # (S, C)
    pet_mu: np.ndarray  # (S, tracer, class)
    pet_sigma: np.ndarray  # (S, tracer, class)
    tau_b: np.ndarray  # (S,)
    b: np.ndarray  # (S, C)
    rho: np.ndarray  # (S, class)
    symptom_rate: np.ndarray  # (S, class, symptom)
    growth_rate: np.ndarray  # (S, class)
    growth_sd: np.ndarray  # (S, class)
    sensitivity: np.ndarray  # (S,)
    specificity: np.ndarray  # (S,)

    @property
    def n_draws(self) -> int:
        """Number of draws S."""
        return len(self.intercept)

    @property
    def n_centers(self) -> int:
        """Number of training centers C."""
        return self.u.shape[1]

    def thin(self, n: int) -> PosteriorDraws:
        """At most ``n`` draws, evenly spaced (for quick previews and tests)."""
        step = max(1, self.n_draws // n)
        index = np.arange(0, self.n_draws, step)[:n]
        return PosteriorDraws(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def draws_from_posterior(posterior: Any) -> PosteriorDraws:
    """Flatten a posterior (DataTree, its ``posterior`` node, or a Dataset) into draws.

    Parameters
    ----------
    posterior : xarray.DataTree or xarray.Dataset
        With dims ``chain`` and ``draw`` and the variable names of
        :mod:`model.likelihood.pymc_model`.

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

    mu0 = get("perfusion_mu_necrosis", "technique")
    sep = get("perfusion_separation", "technique")
    pet_mu0 = get("pet_mu_necrosis", "tracer")
    pet_sep = get("pet_separation", "tracer")
    g0 = get("growth_rate_necrosis")
    return PosteriorDraws(
        intercept=get("prevalence_intercept"),
        early=get("prevalence_early"),
        mgmt=get("prevalence_mgmt"),
        tau_u=get("prevalence_tau_center"),
        u=get("prevalence_center", "center"),
        perf_mu=np.stack([mu0, mu0 + sep], axis=-1),
        perf_sigma=get("perfusion_sigma", "technique", "class"),
        tau_a=get("perfusion_tau_center"),
        a=get("perfusion_center", "center"),
        pet_mu=np.stack([pet_mu0, pet_mu0 + pet_sep], axis=-1),
        pet_sigma=get("pet_sigma", "tracer", "class"),
        tau_b=get("pet_tau_center"),
        b=get("pet_center", "center"),
        rho=get("correlation", "class"),
        symptom_rate=get("symptom_rate", "class", "symptom"),
        growth_rate=np.stack([g0, g0 + get("growth_separation")], axis=-1),
        growth_sd=get("growth_sd", "class"),
        sensitivity=get("reference_sensitivity"),
        specificity=get("reference_specificity"),
    )


def draws_from_values(
    values: dict[str, float],
    symptom_rates: dict[str, tuple[float, float]],
    center_effects: dict[str, np.ndarray] | None = None,
) -> PosteriorDraws:
    """One 'draw' from fixed parameter values (dotted names of the parameter file).

    Parameters
    ----------
    values : dict of str to float
        Model parameter values, e.g. :meth:`Parameters.model_values` or a simulation truth.
    symptom_rates : dict of str to (float, float)
        P(yes | necrosis), P(yes | recurrence) per symptom item.
    center_effects : dict of str to ndarray, optional
        ``"prevalence"``, ``"perfusion"``, ``"pet"`` offsets per center (C,). Default: one
        center with zero offsets.

    Returns
    -------
    PosteriorDraws
        With S = 1.
    """
    effects = center_effects or {k: np.zeros(1) for k in ("prevalence", "perfusion", "pet")}

    def family(prefix: str, names) -> tuple[np.ndarray, np.ndarray]:
        mu = [
            [
                values[f"{prefix}.{n}.mu_necrosis"],
                values[f"{prefix}.{n}.mu_necrosis"] + values[f"{prefix}.{n}.separation"],
            ]
            for n in names
        ]
        sd = [
            [values[f"{prefix}.{n}.sigma_necrosis"], values[f"{prefix}.{n}.sigma_recurrence"]]
            for n in names
        ]
        return np.array([mu]), np.array([sd])

    perf_mu, perf_sigma = family("perfusion", TECHNIQUES)
    pet_mu, pet_sigma = family("pet", TRACERS)
    g0 = values["growth.rate_necrosis"]
    one = lambda name: np.array([values[name]])  # noqa: E731
    return PosteriorDraws(
        intercept=one("prevalence.intercept"),
        early=one("prevalence.early"),
        mgmt=one("prevalence.mgmt"),
        tau_u=one("prevalence.tau_center"),
        u=np.asarray(effects["prevalence"], float)[None, :],
        perf_mu=perf_mu,
        perf_sigma=perf_sigma,
        tau_a=one("perfusion.tau_center"),
        a=np.asarray(effects["perfusion"], float)[None, :],
        pet_mu=pet_mu,
        pet_sigma=pet_sigma,
        tau_b=one("pet.tau_center"),
        b=np.asarray(effects["pet"], float)[None, :],
        rho=np.array([[values["correlation.necrosis"], values["correlation.recurrence"]]]),
        symptom_rate=np.array([[[symptom_rates[s][k] for s in SYMPTOMS] for k in (0, 1)]]),
        growth_rate=np.array([[g0, g0 + values["growth.separation"]]]),
        growth_sd=np.array([[values["growth.sd_necrosis"], values["growth.sd_recurrence"]]]),
        sensitivity=one("reference.follow_up_sensitivity"),
        specificity=one("reference.follow_up_specificity"),
    )


def parameter_variables() -> list[tuple[str, str, dict[str, str]]]:
    """Each model entry of the parameter file and where it lives in the posterior.

    Returns
    -------
    list of (entry, variable, selection)
        The dotted entry name (``"perfusion.DSC.separation"``), the posterior variable
        (``"perfusion_separation"``) and the coordinates that select it (``{"technique": "DSC"}``).
    """
    out = [
        (f"prevalence.{k}", f"prevalence_{k}", {})
        for k in ("intercept", "early", "mgmt", "tau_center")
    ]
    for family, names, dim in (("perfusion", TECHNIQUES, "technique"), ("pet", TRACERS, "tracer")):
        for name in names:
            for p in ("mu_necrosis", "separation"):
                out.append((f"{family}.{name}.{p}", f"{family}_{p}", {dim: name}))
            for p, cls in (("sigma_necrosis", "necrosis"), ("sigma_recurrence", "recurrence")):
                out.append((f"{family}.{name}.{p}", f"{family}_sigma", {dim: name, "class": cls}))
        out.append((f"{family}.tau_center", f"{family}_tau_center", {}))
    out += [
        (f"correlation.{cls}", "correlation", {"class": cls}) for cls in ("necrosis", "recurrence")
    ]
    out += [
        ("symptoms.tau_item", "symptom_tau_item", {}),
        ("growth.rate_necrosis", "growth_rate_necrosis", {}),
        ("growth.separation", "growth_separation", {}),
        ("growth.sd_necrosis", "growth_sd", {"class": "necrosis"}),
        ("growth.sd_recurrence", "growth_sd", {"class": "recurrence"}),
        ("reference.follow_up_sensitivity", "reference_sensitivity", {}),
        ("reference.follow_up_specificity", "reference_specificity", {}),
    ]
    return out
