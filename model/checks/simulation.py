"""Synthetic multi-center cohorts drawn from the model's own generative process.

The generative model is the one the fit uses (:mod:`model.likelihood.pymc_model`): a center-level
class prior with covariates; each registered marker's log value from its kind's class location,
shared spread and center shift, with the misread mixture (a misread measurement is drawn from the
other class); reads as the value compared with the center's cutoff; binary tests from their
sensitivity and specificity; the clinical context (edema, location, steroid increase) drawn
independently of the class, a latent clinical decline from the class and the context, and symptom
items from the decline; a growth rate per lesion shared by its rescans, each rescan's growth
proportional to the interval and shifted by a steroid increase before it (recorded at the
steroid-record share), with misread series. Every number comes from the parameter file
(``data/parameters.toml``): the shared design (who is labelled, how many follow-ups) from its
``cohort_design`` section, each modality's design (who has it, which centers use which kind) from
its declaration.

Each part of the cohort draws from its own random stream, named after it (a modality's stream after
the modality): declaring a new modality adds its columns and leaves every other column as it was.
MGMT and re-irradiation statuses are drawn for every patient, with the shares the class prior
assumes behind an unknown status, and the class follows them; a share of them is then left
unrecorded, as in clinics.

The bundled ``data/cohort.csv`` is ``simulate(600, 8, seed=1)``; the CLI reproduces it with
``rnbayes simulate --n 600 --centers 8 --seed 1 --out cohort.csv``.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.files import atomic_write_text
from model.inputs.early_window import early_weight, window_of
from model.inputs.parameters import STEROID_SHARE_ENTRY, Parameters, Prior, load_parameters
from model.inputs.reading import cohort_from_records
from model.inputs.schema import Cohort, follow_up_columns, schema_for, trusted_cohort
from model.inputs.vocabulary import GROWTH_WEEKS, MAX_FOLLOW_UPS, SYMPTOMS
from model.likelihood.class_prior import PRIOR_TERMS, class_prior_logit
from model.likelihood.draws import DECLINE_TERMS
from model.likelihood.symptoms import decline_logit
from model.modalities.spec import EARLY_SHIFT, BinaryTest, Marker

_ROUND = {"value": 3, "volume": 2, "months": 1}


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one named part of a simulation (stable across versions)."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


@dataclass(frozen=True)
class CenterDesign:
    """What a synthetic center does: the kind of each marker it uses, and its read cutoffs."""

    name: str
    kinds: dict[str, str]
    read_cutoffs: dict[str, float]


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """Everything that generated a synthetic cohort, for recovery checks.

    Parameters
    ----------
    parameters : dict of str to float
        Model parameter values (dotted names, as in the parameter file).
    centers : tuple of CenterDesign
    center_effects : dict of str to ndarray
        ``"prevalence"`` (logit) and each marker's name (log-scale calibration shift shared by both
        classes), each (C,): the drawn center offsets.
    latent_class : ndarray of int
        The true class of each lesion, in cohort row order (1 = recurrence).
    lesion_keys : tuple of str
        Each lesion's :func:`lesion_key`, in cohort row order.
    seed : int
    """

    parameters: dict[str, float]
    centers: tuple[CenterDesign, ...]
    center_effects: dict[str, np.ndarray]
    latent_class: np.ndarray
    lesion_keys: tuple[str, ...]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "description": "True parameters and latent classes of a synthetic cohort (rnbayes).",
            "seed": self.seed,
            "parameters": self.parameters,
            "centers": [c.__dict__ for c in self.centers],
            "center_effects": {k: np.round(v, 6).tolist() for k, v in self.center_effects.items()},
            "latent_class": dict(zip(self.lesion_keys, self.latent_class.tolist(), strict=True)),
        }

    def write_json(self, path: str | os.PathLike) -> Path:
        """Write the truth as JSON, atomically."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")


def lesion_key(patient_id: str, lesion_id: str | None) -> str:
    """A lesion's key in a truth file: its patient id, then ``/`` and its lesion id if any."""
    if lesion_id is None or lesion_id != lesion_id:  # None or NaN: the patient's only lesion
        return patient_id
    return f"{patient_id}/{lesion_id}"


def split_at_patient(cohort: Cohort, n: int) -> tuple[Cohort, Cohort]:
    """The first ``n`` lesions and the rest, the cut moved forward to keep each patient whole."""
    patient = cohort.patient_index
    cut = min(n, len(cohort))
    while 0 < cut < len(cohort) and patient[cut] == patient[cut - 1]:
        cut += 1
    table = cohort.table
    return cohort.with_table(table.iloc[:cut]), cohort.with_table(table.iloc[cut:])


def center_designs(n_centers: int, parameters: Parameters) -> tuple[CenterDesign, ...]:
    """Assign each marker's kind and read cutoff to centers in turn, as the declarations say."""
    width = max(2, len(str(n_centers)))
    designs = []
    for c in range(n_centers):
        kinds, cutoffs = {}, {}
        for marker in parameters.registry.markers:
            kind = marker.kind(marker.kind_cycle[c % len(marker.kind_cycle)])
            kinds[marker.name] = kind.name
            if kind.read_cutoffs:
                cutoffs[marker.name] = kind.read_cutoffs[c % len(kind.read_cutoffs)]
        designs.append(CenterDesign(f"C{c + 1:0{width}d}", kinds, cutoffs))
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
        Seed of the random streams; the same arguments give the same cohort on any machine.
    parameters : Parameters, optional
        Defaults to the bundled parameter file. Use :meth:`Parameters.with_values` to simulate
        from other model values (parameter recovery, simulation-based calibration).
    validate : bool, default True
        Validate the cohort like a user file (simulation studies skip it: a prior draw may
        produce values outside the plausibility ranges).

    Returns
    -------
    cohort : Cohort
        The lesions.
    truth : SimulationTruth
        The parameter values, center offsets and latent classes that generated them.
    """
    if n < 1 or n_centers < 1:
        raise ValueError("n and n_centers must be positive")
    p = parameters if parameters is not None else load_parameters()
    design = p.value
    centers = center_designs(n_centers, p)
    values = p.model_values()

    first, lesion_ids = _patients(stream(seed, "patients"), n, p)
    rng = stream(seed, "centers")
    shares = rng.dirichlet(np.full(n_centers, design("cohort_design.center_size_concentration")))
    center = rng.choice(n_centers, size=n, p=shares)[first]
    effects = {"prevalence": rng.normal(0.0, values["prevalence.tau_center"], n_centers)}
    for marker in p.registry.markers:
        tau = values[f"modality.{marker.name}.tau_center"]
        effects[marker.name] = stream(seed, f"center shift {marker.name}").normal(0, tau, n_centers)

    rng = stream(seed, "class")
    months = _months_since_rt(rng, n, p)[first]
    weight = early_weight(months, *window_of(p))
    x_early = weight - 0.5
    mgmt, mgmt_recorded = _status(
        rng, n, design("cohort_design.mgmt_known"), p.value("context.mgmt_methylated_share")
    )
    _, idh = _status(rng, n, design("cohort_design.idh_known"), design("cohort_design.idh_mutant"))
    reirradiated, reirradiated_recorded = _status(
        stream(seed, "re-irradiation"),
        n,
        design("cohort_design.reirradiation_known"),
        p.value("context.reirradiated_share"),
    )
    mgmt, mgmt_recorded, idh = mgmt[first], mgmt_recorded[first], idh[first]
    reirradiated, reirradiated_recorded = reirradiated[first], reirradiated_recorded[first]
    coefficients = {name: values[f"prevalence.{name}"] for name in PRIOR_TERMS}
    # the class follows the true statuses; an unrecorded one is hidden from the cohort
    logit = effects["prevalence"][center] + class_prior_logit(
        coefficients, x_early, _effect_codes(mgmt), _effect_codes(reirradiated)
    )
    # with probability rho a patient's lesions all take its first lesion's class; otherwise each
    # lesion draws its own (the patient effect of model.likelihood.patients)
    own = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    shared = (rng.random(n) < values["prevalence.patient_concordance"])[first]
    z = np.where(shared, own[first], own)

    width = max(4, len(str(n)))
    number = np.cumsum(first == np.arange(n))  # patients numbered from 1 in row order
    table: dict[str, Any] = {
        "patient_id": [f"S{k:0{width}d}" for k in number],
        "lesion_id": lesion_ids,
        "center": [centers[c].name for c in center],
        "months_since_rt": months,
        "mgmt_methylated": _as_boolean(mgmt_recorded),
        "idh_mutant": _as_boolean(idh),
        "reirradiated": _as_boolean(reirradiated_recorded),
        "bevacizumab_last_dose_weeks": np.full(n, np.nan),  # simulated lesions are scorable
    }
    for modality in p.registry:
        rng = stream(seed, f"modality {modality.name}")
        if isinstance(modality, Marker):
            table.update(_marker(rng, modality, values, centers, center, effects, z, weight))
        else:
            table.update(_binary(rng, modality, values, z))
    table.update(_symptoms(stream(seed, "symptoms"), p, values, z, first))
    table.update(_follow_up(stream(seed, "follow-up"), p, values, z))
    for marker in p.registry.markers:
        if marker.follow_up:
            rng = stream(seed, f"follow-up {marker.name}")
            table.update(_marker_trend(rng, marker, values, z, table, keep_in_range=validate))
    table.update(_reference(stream(seed, "reference"), p, values, z, table))
    read = [f.name for f in schema_for(p.registry).fields if f.model_input]
    frame = pd.DataFrame(table)[read]  # the columns only the radiology categories read stay blank
    source = f"simulate(n={n}, centers={n_centers}, seed={seed})"
    cohort = (
        cohort_from_records(frame, source=source, registry=p.registry)
        if validate
        else trusted_cohort(frame, source, p.registry)
    )
    truth = SimulationTruth(
        parameters=values,
        centers=centers,
        center_effects=effects,
        latent_class=z,
        lesion_keys=tuple(map(lesion_key, table["patient_id"], table["lesion_id"])),
        seed=seed,
    )
    return cohort, truth


def _patients(rng: np.random.Generator, n: int, p: Parameters) -> tuple[np.ndarray, list]:
    """Group n lesions into patients, a share of whom have two (consecutive rows).

    Returns each lesion's patient's first row, and the lesion ids (``None`` for a patient's only
    lesion, ``L1``, ``L2`` otherwise).
    """
    two = rng.random(n) < p.value("cohort_design.second_lesion_share")
    first = np.empty(n, dtype=np.int64)
    lesion_ids: list = [None] * n
    i = 0
    while i < n:
        size = 2 if two[i] and i + 1 < n else 1
        first[i : i + size] = i
        if size == 2:
            lesion_ids[i : i + 2] = ["L1", "L2"]
        i += size
    return first, lesion_ids


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


def _status(rng: np.random.Generator, n: int, known: float, yes: float) -> tuple[np.ndarray, ...]:
    """The true status (1 yes, 0 no) and the recorded one (-1: unknown, probability 1 - known)."""
    is_known = rng.random(n) < known
    truth = (rng.random(n) < yes).astype(int)
    return truth, np.where(is_known, truth, -1)


def _as_boolean(codes: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.array([None if c < 0 else bool(c) for c in codes], dtype="boolean")


def misread_classes(rng: np.random.Generator, z: np.ndarray, misread: float) -> np.ndarray:
    """The class each measurement looks like: the lesion's own, or with probability e the other."""
    return np.where(rng.random(len(z)) < misread, 1 - z, z)


def _marker(rng, marker: Marker, values, centers, center, effects, z, early) -> dict[str, Any]:
    """A marker's numbers and reads at each lesion's center, for its class (or a misread one).

    Within the pseudoprogression window a treatment effect sits the marker's early shift, times
    the window weight ``early`` (:mod:`model.inputs.early_window`), closer to recurrence.
    """
    n = len(z)
    prefix = f"modality.{marker.name}"
    kind = np.array([centers[c].kinds[marker.name] for c in center])
    looks = misread_classes(rng, z, values[f"{prefix}.misread"])
    shift = values[f"{prefix}.{EARLY_SHIFT}"] * early if marker.early_shift else np.zeros(n)
    position = np.where(looks == 1, 1.0, shift)  # in units of the separation
    mean = np.empty(n)
    sd = np.empty(n)
    for name in marker.kind_names:
        pick = kind == name
        mu0 = values[f"{prefix}.{name}.mu_necrosis"]
        sep = values[f"{prefix}.{name}.separation"]
        mean[pick] = mu0 + marker.direction * sep * position[pick]
        sd[pick] = values[f"{prefix}.{name}.sigma"]
    latent = mean + effects[marker.name][center] + sd * rng.standard_normal(n)
    available = rng.random(n) < marker.available
    read_only = available & (rng.random(n) < marker.read_only)
    numeric = available & ~read_only
    out: dict[str, Any] = {
        marker.value_column: np.where(numeric, _round(np.exp(latent)), np.nan),
    }
    if marker.kind_column is not None:
        out[marker.kind_column] = np.where(available, kind, None)
    if marker.has_reads:
        cutoff = np.array([centers[c].read_cutoffs[marker.name] for c in center])
        positive = marker.direction * (latent - np.log(cutoff)) > 0
        out[marker.read_column] = np.where(
            read_only, np.where(positive, "positive", "negative"), None
        )
        out[marker.read_cutoff_column] = np.where(read_only, cutoff, np.nan)
    return out


def _round(values: np.ndarray) -> np.ndarray:
    """Values as a report would give them: three significant digits."""
    magnitude = np.floor(np.log10(np.abs(values)))
    factor = 10.0 ** (_ROUND["value"] - 1 - magnitude)
    return np.round(values * factor) / factor


def _binary(rng, test: BinaryTest, values, z) -> dict[str, Any]:
    n = len(z)
    se = values[f"modality.{test.name}.sensitivity"]
    sp = values[f"modality.{test.name}.specificity"]
    positive = rng.random(n) < np.where(z == 1, se, 1.0 - sp)
    available = rng.random(n) < test.available
    return {test.column: np.where(available, np.where(positive, "positive", "negative"), None)}


def _symptoms(
    rng, p: Parameters, values: dict[str, float], z: np.ndarray, first: np.ndarray
) -> dict[str, Any]:
    """The context of decline, the latent decline itself and the symptom items it causes.

    Edema and location are the lesion's; the steroid increase, the decline and the items are the
    patient's (``first``: each lesion's patient's first row). Decline depends on whether any of
    the patient's lesions is recurrence, in the context of its largest edema and of any eloquent
    lesion, as the model reads them.
    """
    n = len(z)
    ratio = p.value("context.edema_reference_ratio") * np.exp(
        p.value("cohort_design.edema_ratio_log_sd") * rng.standard_normal(n)
    )
    edema_known = rng.random(n) < p.value("cohort_design.edema_known")
    edema = np.where(edema_known, np.clip(np.round(ratio, 1), 0.1, 100.0), np.nan)
    _, eloquent = _status(
        rng, n, p.value("cohort_design.eloquent_known"), p.value("cohort_design.eloquent_share")
    )
    _, steroid = _status(
        rng,
        n,
        p.value("cohort_design.steroid_known"),
        p.value("cohort_design.steroid_increase_share"),
    )
    steroid = steroid[first]

    def patient_max(values: np.ndarray) -> np.ndarray:
        return pd.Series(values).groupby(first).transform("max").to_numpy(float)

    coefficients = [values[f"symptoms.decline_{k}"] for k in DECLINE_TERMS]
    eta = decline_logit(
        coefficients,
        np.nan_to_num(np.log(patient_max(edema) / p.value("context.edema_reference_ratio"))),
        patient_max(_effect_codes(eloquent)),
        _effect_codes(steroid),
    )
    any_recurrence = patient_max(z)
    decline = (rng.random(n) < 1.0 / (1.0 + np.exp(-(eta + coefficients[1] * any_recurrence))))[
        first
    ]
    out: dict[str, Any] = {
        "steroid_increase": _as_boolean(steroid),
        "edema_ratio": edema,
        "eloquent_location": _as_boolean(eloquent),
    }
    for item in SYMPTOMS:
        rate = np.where(
            decline, values[f"symptoms.{item}.if_decline"], values[f"symptoms.{item}.if_stable"]
        )
        yes = rng.random(n) < rate
        unknown = rng.random(n) < p.value("cohort_design.symptom_unknown")
        out[item] = _as_boolean(np.where(unknown, -1, yes.astype(int))[first])
    return out


def _effect_codes(codes: np.ndarray) -> np.ndarray:
    """1 / 0 / -1 (yes / no / unknown) as the model's +0.5 / -0.5 / 0."""
    return np.select([codes == 1, codes == 0], [0.5, -0.5], 0.0)


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
    out: dict[str, Any] = {"volume_baseline_ml": np.round(baseline, _ROUND["volume"])}
    volume = baseline
    # each lesion's own rate, shared by its rescans; a misread series looks like the other class
    looks = misread_classes(rng, z, values["growth.misread"])
    rate = (
        values["growth.rate_necrosis"]
        + looks * values["growth.separation"]
        + values["growth.tau_lesion"] * rng.standard_normal(n)
    )
    for j in range(1, MAX_FOLLOW_UPS + 1):
        weeks = rng.integers(low, high + 1, n).astype(float)
        # a steroid increase before the rescan shrinks it, recorded or not
        raised = rng.random(n) < p.value(STEROID_SHARE_ENTRY)
        recorded = rng.random(n) < p.value("cohort_design.steroid_known")
        volume = volume * np.exp(
            rng.normal(rate * weeks / GROWTH_WEEKS, values["growth.sd"])
            + values["growth.steroid_shift"] * raised
        )
        present = scans >= j
        out[f"volume_fu{j}_ml"] = np.where(present, np.round(volume, _ROUND["volume"]), np.nan)
        out[f"interval_fu{j}_weeks"] = np.where(present, weeks, np.nan)
        out[f"steroid_increase_fu{j}"] = _as_boolean(np.where(present & recorded, raised, -1))
    return out


def _marker_trend(
    rng, marker: Marker, values, z: np.ndarray, table: dict, keep_in_range: bool
) -> dict[str, Any]:
    """A marker's values at the follow-up scans, each scan measuring it as often as the first.

    The lesion's own rate of change (Normal(rho_k, tau) per six weeks, rho_1 = rho_0 + direction x
    separation; a misread series looks like the other class) carries the value from its last
    measurement, with scan-to-scan noise (:mod:`model.likelihood.trends`). A lesion known only
    by a read at the first scan has no number to follow.

    ``keep_in_range``: a value beyond the marker's physiological range is read as the range's
    edge, so that a cohort for users validates. Simulation studies keep the values as drawn: a
    prior draw of a fast rate carries them far beyond it, and the edge would bend every such
    trajectory away from the model being checked (it made SBC reject perfusion's rates).
    """
    n = len(z)
    prefix = f"modality.{marker.name}"
    looks = misread_classes(rng, z, values[f"{prefix}.misread"])
    rate = (
        values[f"{prefix}.follow_up_rate_necrosis"]
        + looks * marker.direction * values[f"{prefix}.follow_up_separation"]
        + values[f"{prefix}.follow_up_tau_lesion"] * rng.standard_normal(n)
    )
    last = np.log(np.asarray(table[marker.value_column], dtype=float))
    since = np.zeros(n)
    out: dict[str, Any] = {}
    for j, column in enumerate(follow_up_columns(marker), start=1):
        weeks = np.nan_to_num(np.asarray(table[f"interval_fu{j}_weeks"], dtype=float))
        since = since + weeks
        measured = (
            ~np.isnan(np.asarray(table[f"volume_fu{j}_ml"], dtype=float))
            & ~np.isnan(last)
            & (rng.random(n) < marker.available)
        )
        step = rng.normal(rate * since / GROWTH_WEEKS, values[f"{prefix}.follow_up_sd"])
        moved = (
            np.clip(last + step, *np.log(marker.physiological_range))
            if keep_in_range
            else (last + step)
        )
        last = np.where(measured, moved, last)
        since = np.where(measured, 0.0, since)
        out[column] = np.where(measured, _round(np.exp(last)), np.nan)
    return out


def _reference(
    rng, p: Parameters, values: dict[str, float], z: np.ndarray, table: dict[str, Any]
) -> dict[str, Any]:
    """Reference labels made the way real cohorts make them.

    Who is biopsied depends on what the team saw (verification bias): the odds of histopathology
    rise with the lesion's value of the first declared marker (perfusion in the bundled file),
    standardised over the cohort, by ``cohort_design.histopathology_suspicion_slope``. This
    depends only on recorded evidence, so labels are missing at random and the likelihood stays
    valid without modelling who was biopsied. A lesion not biopsied is labelled by follow-up: from
    its recorded rescans when it has any (recurrence when its volume grew by more than
    ``cohort_design.follow_up_label_growth`` over them, RANO's progression), which the model must
    not count again; otherwise from the later course, an imperfect reference.
    """
    n = len(z)
    labelled = rng.random(n) < p.value("cohort_design.labelled")
    suspicion = np.zeros(n)
    if p.registry.markers:
        marker = p.registry.markers[0]
        log_value = np.log(np.asarray(table[marker.value_column], float))
        seen = ~np.isnan(log_value)
        if seen.sum() > 1:
            standard = (log_value[seen] - log_value[seen].mean()) / log_value[seen].std()
            suspicion[seen] = marker.direction * standard
    share = p.value("cohort_design.histopathology_share")
    logit = np.log(share / (1 - share)) + p.value(
        "cohort_design.histopathology_suspicion_slope"
    ) * np.clip(suspicion, -3, 3)
    histology = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    later_course = np.where(
        z == 1,
        rng.random(n) < values["reference.follow_up_sensitivity"],
        rng.random(n) >= values["reference.follow_up_specificity"],
    )
    baseline = np.asarray(table["volume_baseline_ml"], float)
    last = np.full(n, np.nan)
    for j in range(1, MAX_FOLLOW_UPS + 1):
        volume = np.asarray(table[f"volume_fu{j}_ml"], float)
        last = np.where(np.isnan(volume), last, volume)
    has_scans = ~np.isnan(last)
    with np.errstate(invalid="ignore"):
        grew = np.log(last / baseline) > np.log1p(p.value("cohort_design.follow_up_label_growth"))
    label = np.where(histology, z == 1, np.where(has_scans, grew, later_course))
    source = np.where(
        histology, "histopathology", np.where(has_scans, "follow_up_scans", "follow_up")
    )
    diagnosis = np.where(label, "recurrence", "necrosis")
    share = _mixed_reports(rng, p, z, labelled & histology)
    return {
        "reference_diagnosis": np.where(
            labelled, np.where(np.isnan(share), diagnosis, "mixed"), None
        ),
        "reference_source": np.where(labelled, source, None),
        "tumor_share_percent": np.where(share > 0, share, np.nan),
    }


def _mixed_reports(rng, p: Parameters, z: np.ndarray, biopsied: np.ndarray) -> np.ndarray:
    """Which biopsied lesions' reports are mixed, and their tumour share (%).

    A report is mixed at ``cohort_design.mixed_share`` in either class (a mixed report alone says
    nothing of the class), its tumour share on the class's side of
    ``context.mixed_recurrence_tumor_percent`` in whole percent (5-95), and the share is stated at
    ``cohort_design.mixed_tumor_share_known``. Returns NaN where the report is not mixed and 0 where
    it is mixed without a stated share. With a threshold of 5% or less, a treatment effect is never
    reported mixed (mixed then means recurrence).
    """
    n = len(z)
    threshold = math.ceil(p.value("context.mixed_recurrence_tumor_percent"))
    can_be_mixed = (z == 1) | (threshold > 5)
    mixed = biopsied & can_be_mixed & (rng.random(n) < p.value("cohort_design.mixed_share"))
    stated = rng.random(n) < p.value("cohort_design.mixed_tumor_share_known")
    recurrent_share = rng.integers(max(threshold, 5), 96, n)
    necrotic_share = rng.integers(5, max(threshold, 6), n)
    share = np.where(z == 1, recurrent_share, necrotic_share).astype(float)
    return np.where(mixed, np.where(stated, share, 0.0), np.nan)


def simulation_seed(study_seed: int, index: int) -> int:
    """Seed of simulation ``index`` of a study (SBC, prior predictive checks).

    Distinct per simulation and study, and reproducible one simulation at a time, so a resumed
    study redraws exactly what it lost.
    """
    return study_seed * 100_000 + index


def draw_parameters(parameters: Parameters, seed: int) -> Parameters:
    """Model parameter values drawn from their priors (for recovery and calibration studies).

    Fixed entries (misread probabilities) keep their values.

    Parameters
    ----------
    parameters : model.inputs.parameters.Parameters
        The priors.
    seed : int

    Returns
    -------
    model.inputs.parameters.Parameters
        A copy whose model values are one prior draw; pass it to
        :func:`simulate` as the truth, and the original ``parameters`` to the fit as priors.
    """
    values = {
        name: _draw(parameters.prior(name), stream(seed, f"prior {name}"))
        for name in parameters.estimated_entries
    }
    return parameters.with_values(values)


def _draw(prior: Prior, rng: np.random.Generator) -> float:
    if prior.kind == "normal":
        return float(rng.normal(prior.center, prior.scale))
    if prior.kind == "lognormal":
        return float(np.exp(rng.normal(np.log(prior.center), prior.scale)))
    if prior.kind == "halfnormal":
        return float(abs(rng.normal(0.0, prior.scale)))
    if prior.kind == "beta":
        return float(rng.beta(prior.center * prior.scale, (1 - prior.center) * prior.scale))
    raise ValueError(f"cannot draw from a {prior.kind!r} prior")
