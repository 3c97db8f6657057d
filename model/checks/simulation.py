"""Synthetic multi-center cohorts drawn from the model's own generative process.

The generative model is the one the fit uses (:mod:`model.likelihood.pymc_model`): a center-level
class prior with covariates; log perfusion ratio and log TBR bivariate normal within each class with
center offsets; reads as the value compared with a cutoff; symptom items as Bernoulli draws; and
follow-up growth proportional to the interval. Every number comes from the parameter file
(``data/parameters.toml``); the cohort's design (who has PET, who is labelled, how many follow-ups)
comes from its ``cohort_design`` section.

The bundled ``data/cohort.csv`` is ``simulate(600, 8, seed=1)``; the CLI reproduces it with
``rnbayes simulate --n 600 --centers 8 --seed 1 --out cohort.csv``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.files import atomic_write_text
from model.inputs.parameters import MODEL_ENTRIES, Parameters, Prior, load_parameters
from model.inputs.schema import COLUMNS, Cohort, cohort_from_records, trusted_cohort
from model.inputs.vocabulary import GROWTH_WEEKS, MAX_FOLLOW_UPS, SYMPTOMS

_ROUND = {"ratio": 2, "volume": 2, "months": 1}


@dataclass(frozen=True)
class CenterDesign:
    """What a synthetic center does: its perfusion technique, PET tracer and read cutoffs."""

    name: str
    technique: str
    tracer: str
    perfusion_cutoff: float
    pet_cutoff: float


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """Everything that generated a synthetic cohort, for recovery checks.

    Parameters
    ----------
    parameters : dict of str to float
        Model parameter values (dotted names, as in the parameter file).
    symptom_rates : dict of str to (float, float)
        P(yes | necrosis), P(yes | recurrence) per symptom item.
    centers : tuple of CenterDesign
    center_effects : dict of str to ndarray
        ``"prevalence"``, ``"perfusion"`` and ``"pet"``, each (C,): the drawn center offsets
        (logit prevalence; log-scale calibration shifts shared by both classes).
    latent_class : ndarray of int
        The true class of each lesion, in cohort row order (1 = recurrence).
    seed : int
    """

    parameters: dict[str, float]
    symptom_rates: dict[str, tuple[float, float]]
    centers: tuple[CenterDesign, ...]
    center_effects: dict[str, np.ndarray]
    latent_class: np.ndarray
    patient_ids: tuple[str, ...]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "description": "True parameters and latent classes of a synthetic cohort (rnbayes).",
            "seed": self.seed,
            "parameters": self.parameters,
            "symptom_rates": {k: list(v) for k, v in self.symptom_rates.items()},
            "centers": [c.__dict__ for c in self.centers],
            "center_effects": {k: np.round(v, 6).tolist() for k, v in self.center_effects.items()},
            "latent_class": dict(zip(self.patient_ids, self.latent_class.tolist(), strict=True)),
        }

    def write_json(self, path: str | os.PathLike) -> Path:
        """Write the truth as JSON, atomically."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def center_designs(n_centers: int, parameters: Parameters) -> tuple[CenterDesign, ...]:
    """Assign techniques, tracers and read cutoffs to centers in turn, as the design says."""
    techniques = parameters.value("cohort_design.perfusion_technique_cycle")
    tracers = parameters.value("cohort_design.pet_tracer_cycle")
    width = max(2, len(str(n_centers)))
    designs = []
    for c in range(n_centers):
        technique = techniques[c % len(techniques)]
        tracer = tracers[c % len(tracers)]
        perfusion_cutoffs = parameters.value(f"cohort_design.read_cutoffs.{technique}")
        pet_cutoffs = parameters.value(f"cohort_design.read_cutoffs.{tracer}")
        designs.append(
            CenterDesign(
                name=f"C{c + 1:0{width}d}",
                technique=technique,
                tracer=tracer,
                perfusion_cutoff=float(perfusion_cutoffs[c % len(perfusion_cutoffs)]),
                pet_cutoff=float(pet_cutoffs[c % len(pet_cutoffs)]),
            )
        )
    return tuple(designs)


def simulate(
    n: int,
    n_centers: int,
    seed: int,
    parameters: Parameters | None = None,
    *,
    validate: bool = True,
) -> tuple[Cohort, SimulationTruth]:
    """Draw a synthetic cohort.

    Parameters
    ----------
    n : int
        Number of lesions.
    n_centers : int
        Number of centers.
    seed : int
        Seed of the random generator; the same arguments give the same cohort on any machine.
    parameters : Parameters, optional
        Defaults to the bundled parameter file. Use :meth:`Parameters.with_values` to simulate
        from other model values (parameter recovery, simulation-based calibration).

    Returns
    -------
    cohort : Cohort
        The lesions, validated like any user file.
    truth : SimulationTruth
        The parameter values, center offsets and latent classes that generated them.
    """
    if n < 1 or n_centers < 1:
        raise ValueError("n and n_centers must be positive")
    p = parameters if parameters is not None else load_parameters()
    rng = np.random.default_rng(seed)
    design = p.value
    centers = center_designs(n_centers, p)
    values = p.model_values()

    # Centers: sizes and offsets.
    shares = rng.dirichlet(np.full(n_centers, design("cohort_design.center_size_concentration")))
    center = rng.choice(n_centers, size=n, p=shares)
    effects = {
        "prevalence": rng.normal(0.0, values["prevalence.tau_center"], n_centers),
        "perfusion": rng.normal(0.0, values["perfusion.tau_center"], n_centers),
        "pet": rng.normal(0.0, values["pet.tau_center"], n_centers),
    }

    # Covariates and the latent class.
    months = _months_since_rt(rng, n, p)
    x_early = np.where(months <= design("cohort_design.early_window_months"), 0.5, -0.5)
    mgmt = _yes_no_unknown(
        rng, n, design("cohort_design.mgmt_known"), design("cohort_design.mgmt_methylated")
    )
    idh = _yes_no_unknown(
        rng, n, design("cohort_design.idh_known"), design("cohort_design.idh_mutant")
    )
    x_mgmt = np.select([mgmt == 1, mgmt == 0], [0.5, -0.5], 0.0)
    logit = (
        values["prevalence.intercept"]
        + effects["prevalence"][center]
        + values["prevalence.early"] * x_early
        + values["prevalence.mgmt"] * x_mgmt
    )
    z = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)

    table: dict[str, Any] = {
        "patient_id": [f"S{i + 1:0{max(4, len(str(n)))}d}" for i in range(n)],
        "center": [centers[c].name for c in center],
        "months_since_rt": months,
        "mgmt_methylated": _as_boolean(mgmt),
        "idh_mutant": _as_boolean(idh),
    }
    table.update(_imaging(rng, p, values, centers, center, effects, z))
    table.update(_symptoms(rng, p, z))
    table.update(_follow_up(rng, p, values, z))
    table.update(_reference(rng, p, values, z))
    frame = pd.DataFrame(table)[list(COLUMNS)]
    source = f"simulate(n={n}, centers={n_centers}, seed={seed})"
    cohort = (
        cohort_from_records(frame, source=source) if validate else trusted_cohort(frame, source)
    )
    truth = SimulationTruth(
        parameters=values,
        symptom_rates={s: p.symptom_rates(s) for s in SYMPTOMS},
        centers=centers,
        center_effects=effects,
        latent_class=z,
        patient_ids=tuple(table["patient_id"]),
        seed=seed,
    )
    return cohort, truth


def _months_since_rt(rng: np.random.Generator, n: int, p: Parameters) -> np.ndarray:
    window = p.value("cohort_design.early_window_months")
    early = rng.random(n) < p.value("cohort_design.early_fraction")
    early_months = rng.uniform(0.3, window - 0.05, n)
    late_median = p.value("cohort_design.late_months_median") - window
    late_months = (
        window
        + 0.1
        + rng.lognormal(np.log(late_median), p.value("cohort_design.late_months_log_sd"), n)
    )
    return np.round(np.where(early, early_months, late_months), _ROUND["months"])


def _yes_no_unknown(rng: np.random.Generator, n: int, known: float, yes: float) -> np.ndarray:
    """1 yes, 0 no, -1 unknown."""
    is_known = rng.random(n) < known
    is_yes = rng.random(n) < yes
    return np.where(is_known, is_yes.astype(int), -1)


def _as_boolean(codes: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.array([None if c < 0 else bool(c) for c in codes], dtype="boolean")


def _imaging(rng, p, values, centers, center, effects, z) -> dict[str, Any]:
    """Perfusion and PET: latent log values drawn jointly, then shown as numbers or reads."""
    n = len(z)
    technique = np.array([centers[c].technique for c in center])
    tracer = np.array([centers[c].tracer for c in center])
    mean = np.zeros((n, 2))
    sd = np.zeros((n, 2))
    for i in range(n):
        k, t, r = z[i], technique[i], tracer[i]
        mean[i, 0] = _class_mean(values, f"perfusion.{t}", k) + effects["perfusion"][center[i]]
        mean[i, 1] = _class_mean(values, f"pet.{r}", k) + effects["pet"][center[i]]
        sd[i, 0] = values[f"perfusion.{t}.{_sigma_name(k)}"]
        sd[i, 1] = values[f"pet.{r}.{_sigma_name(k)}"]
    rho = np.where(z == 1, values["correlation.recurrence"], values["correlation.necrosis"])
    e1 = rng.standard_normal(n)
    e2 = rho * e1 + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
    latent = mean + sd * np.column_stack([e1, e2])

    out: dict[str, Any] = {}
    for j, (prefix, value_col, kind, kind_col, cutoff_attr) in enumerate(
        (
            ("perfusion", "perfusion_ratio", technique, "perfusion_technique", "perfusion_cutoff"),
            ("pet", "pet_tbr", tracer, "pet_tracer", "pet_cutoff"),
        )
    ):
        available = rng.random(n) < p.value(f"cohort_design.{prefix}_available")
        read_only = available & (rng.random(n) < p.value(f"cohort_design.{prefix}_read_only"))
        numeric = available & ~read_only
        cutoff = np.array([getattr(centers[c], cutoff_attr) for c in center])
        positive = latent[:, j] > np.log(cutoff)
        out[kind_col] = np.where(available, kind, None)
        out[value_col] = np.where(numeric, np.round(np.exp(latent[:, j]), _ROUND["ratio"]), np.nan)
        out[f"{prefix}_read"] = np.where(
            read_only, np.where(positive, "positive", "negative"), None
        )
        out[f"{prefix}_read_cutoff"] = np.where(read_only, cutoff, np.nan)
    return out


def _class_mean(values: dict[str, float], prefix: str, k: int) -> float:
    return values[f"{prefix}.mu_necrosis"] + k * values[f"{prefix}.separation"]


def _sigma_name(k: int) -> str:
    return "sigma_recurrence" if k == 1 else "sigma_necrosis"


def _symptoms(rng: np.random.Generator, p: Parameters, z: np.ndarray) -> dict[str, Any]:
    n = len(z)
    out = {}
    for item in SYMPTOMS:
        rates = np.array(p.symptom_rates(item))
        yes = rng.random(n) < rates[z]
        unknown = rng.random(n) < p.value("cohort_design.symptom_unknown")
        out[item] = _as_boolean(np.where(unknown, -1, yes.astype(int)))
    return out


def _follow_up(rng, p: Parameters, values: dict[str, float], z: np.ndarray) -> dict[str, Any]:
    n = len(z)
    baseline = np.exp(
        rng.normal(
            np.log(p.value("cohort_design.baseline_volume_median_ml")),
            p.value("cohort_design.baseline_volume_log_sd"),
            n,
        )
    )
    scans = rng.choice(
        MAX_FOLLOW_UPS + 1, size=n, p=p.value("cohort_design.follow_up_scan_probabilities")
    )
    low, high = p.value("cohort_design.follow_up_interval_weeks")
    rate = values["growth.rate_necrosis"] + z * values["growth.separation"]
    noise_sd = np.where(z == 1, values["growth.sd_recurrence"], values["growth.sd_necrosis"])
    out: dict[str, Any] = {"volume_baseline_ml": np.round(baseline, _ROUND["volume"])}
    volume = baseline
    for j in range(1, MAX_FOLLOW_UPS + 1):
        weeks = rng.integers(low, high + 1, n).astype(float)
        volume = volume * np.exp(rng.normal(rate * weeks / GROWTH_WEEKS, noise_sd))
        present = scans >= j
        out[f"volume_fu{j}_ml"] = np.where(present, np.round(volume, _ROUND["volume"]), np.nan)
        out[f"interval_fu{j}_weeks"] = np.where(present, weeks, np.nan)
    return out


def _reference(rng, p: Parameters, values: dict[str, float], z: np.ndarray) -> dict[str, Any]:
    n = len(z)
    labelled = rng.random(n) < p.value("cohort_design.labelled")
    histology = rng.random(n) < p.value("cohort_design.histopathology_share")
    says_recurrence = np.where(
        z == 1,
        rng.random(n) < values["reference.follow_up_sensitivity"],
        rng.random(n) >= values["reference.follow_up_specificity"],
    )
    label = np.where(histology, z == 1, says_recurrence)
    diagnosis = np.where(label, "recurrence", "necrosis")
    return {
        "reference_diagnosis": np.where(labelled, diagnosis, None),
        "reference_source": np.where(
            labelled, np.where(histology, "histopathology", "follow_up"), None
        ),
    }


def simulation_seed(study_seed: int, index: int) -> int:
    """Seed of simulation ``index`` of a study (SBC, prior predictive checks).

    Distinct per simulation and study, and reproducible one simulation at a time, so a resumed
    study redraws exactly what it lost.
    """
    return study_seed * 100_000 + index


def draw_parameters(parameters: Parameters, seed: int) -> Parameters:
    """Model parameter values drawn from their priors (for recovery and calibration studies).

    Parameters
    ----------
    parameters : model.inputs.parameters.Parameters
        The priors.
    seed : int

    Returns
    -------
    model.inputs.parameters.Parameters
        A copy whose model values and symptom rates are one prior draw; pass it to
        :func:`simulate` as the truth, and the original ``parameters`` to the fit as priors.
    """
    rng = np.random.default_rng(seed)
    values = {name: _draw(parameters.prior(name), rng) for name in MODEL_ENTRIES}
    rates = np.array([parameters.symptom_rates(s) for s in SYMPTOMS]).T  # (class, item)
    class_mean = np.log(rates / (1 - rates)).mean(axis=1) + rng.normal(
        0.0, parameters.prior("symptoms.class_mean").scale, 2
    )
    logits = class_mean[:, None] + values["symptoms.tau_item"] * rng.standard_normal(rates.shape)
    drawn = 1.0 / (1.0 + np.exp(-logits))
    return parameters.with_values(values).with_symptom_rates(
        {item: (drawn[0, j], drawn[1, j]) for j, item in enumerate(SYMPTOMS)}
    )


def _draw(prior: Prior, rng: np.random.Generator) -> float:
    if prior.kind == "normal":
        return float(rng.normal(prior.center, prior.scale))
    if prior.kind == "lognormal":
        return float(np.exp(rng.normal(np.log(prior.center), prior.scale)))
    if prior.kind == "halfnormal":
        return float(abs(rng.normal(0.0, prior.scale)))
    m = prior.center if prior.kind == "beta" else (prior.center + 1) / 2
    value = float(rng.beta(m * prior.scale, (1 - m) * prior.scale))
    return value if prior.kind == "beta" else 2 * value - 1
