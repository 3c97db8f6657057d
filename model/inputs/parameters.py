"""The parameter file: every number of the priors and the synthetic cohort, with its source.

``data/parameters.toml`` holds, for each model parameter, its published centre (``value``), its
prior (``prior`` and ``scale``) and its ``source``; for each symptom item its rate under each class;
and the design of the synthetic cohort. :func:`load_parameters` reads and checks the file, so the
model and the simulator never see a missing or misspelt entry.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from model.core.errors import InputError, Problem
from model.core.files import bundled
from model.inputs.vocabulary import SYMPTOMS, TECHNIQUES, TRACERS

PRIOR_KINDS = ("normal", "lognormal", "halfnormal", "beta", "beta_pm1")

_CLASS_PARAMS = ("mu_necrosis", "separation", "sigma_necrosis", "sigma_recurrence")

MODEL_ENTRIES: tuple[str, ...] = (
    "prevalence.intercept",
    "prevalence.early",
    "prevalence.mgmt",
    "prevalence.tau_center",
    *(f"perfusion.{t}.{p}" for t in TECHNIQUES for p in _CLASS_PARAMS),
    "perfusion.tau_center",
    *(f"pet.{r}.{p}" for r in TRACERS for p in _CLASS_PARAMS),
    "pet.tau_center",
    "correlation.necrosis",
    "correlation.recurrence",
    "symptoms.tau_item",
    "growth.rate_necrosis",
    "growth.separation",
    "growth.sd_necrosis",
    "growth.sd_recurrence",
    "reference.follow_up_sensitivity",
    "reference.follow_up_specificity",
)
"""Model parameters: each has a value, a prior, a scale and a source."""

HYPER_ENTRIES: tuple[str, ...] = ("symptoms.class_mean",)
"""Priors whose centre is derived from other entries (a prior and a scale, no value)."""

SYMPTOM_ENTRIES: tuple[str, ...] = tuple(f"symptoms.{s}" for s in SYMPTOMS)
"""Symptom items: P(yes | recurrence) and P(yes | necrosis)."""

DESIGN_ENTRIES: tuple[str, ...] = (
    "cohort_design.early_fraction",
    "cohort_design.early_window_months",
    "cohort_design.late_months_median",
    "cohort_design.late_months_log_sd",
    "cohort_design.mgmt_known",
    "cohort_design.mgmt_methylated",
    "cohort_design.idh_known",
    "cohort_design.idh_mutant",
    "cohort_design.perfusion_available",
    "cohort_design.perfusion_read_only",
    "cohort_design.pet_available",
    "cohort_design.pet_read_only",
    "cohort_design.symptom_unknown",
    "cohort_design.labelled",
    "cohort_design.histopathology_share",
    "cohort_design.follow_up_scan_probabilities",
    "cohort_design.follow_up_interval_weeks",
    "cohort_design.baseline_volume_median_ml",
    "cohort_design.baseline_volume_log_sd",
    "cohort_design.center_size_concentration",
    "cohort_design.perfusion_technique_cycle",
    "cohort_design.pet_tracer_cycle",
    *(f"cohort_design.read_cutoffs.{m}" for m in (*TECHNIQUES, *TRACERS)),
)
"""Synthetic-cohort design: a value and a source each."""

_FIELDS_BY_GROUP = {
    "model": ("value", "prior", "scale", "source"),
    "hyper": ("prior", "scale", "source"),
    "symptom": ("p_recurrence", "p_necrosis", "source"),
    "design": ("value", "source"),
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution as written in the parameter file.

    Parameters
    ----------
    kind : str
        One of :data:`PRIOR_KINDS`.
    center : float or None
        The published centre the prior is built around (unused by ``halfnormal``).
    scale : float
        Standard deviation (normal, lognormal on the log scale, halfnormal) or concentration
        (beta, beta_pm1).
    """

    kind: str
    center: float | None
    scale: float


@dataclass(frozen=True)
class Entry:
    """One entry of the parameter file: its fields as written, and its source."""

    name: str
    group: str
    fields: Mapping[str, Any]
    source: str


@dataclass(frozen=True, eq=False)
class Parameters:
    """The checked contents of a parameter file.

    Parameters
    ----------
    entries : mapping of str to Entry
        Keyed by dotted name, e.g. ``"perfusion.DSC.separation"``.
    path : str
        The file they came from.
    """

    entries: Mapping[str, Entry]
    path: str

    def value(self, name: str) -> Any:
        """The ``value`` of a model or design entry."""
        return self.entries[name].fields["value"]

    def prior(self, name: str) -> Prior:
        """The prior of a model entry, or of a hyper entry (whose centre is ``None``)."""
        fields = self.entries[name].fields
        return Prior(fields["prior"], fields.get("value"), float(fields["scale"]))

    def symptom_rates(self, item: str) -> tuple[float, float]:
        """(P(yes | necrosis), P(yes | recurrence)) for a symptom item."""
        fields = self.entries[f"symptoms.{item}"].fields
        return float(fields["p_necrosis"]), float(fields["p_recurrence"])

    def source(self, name: str) -> str:
        """The source cited for an entry."""
        return self.entries[name].source

    def model_values(self) -> dict[str, float]:
        """The published centres of all model parameters, by dotted name."""
        return {name: float(self.value(name)) for name in MODEL_ENTRIES}

    def with_values(self, values: Mapping[str, float]) -> Parameters:
        """A copy with some model values replaced; the priors are centred on them, so they move too.

        Parameters
        ----------
        values : mapping of str to float
            Dotted model-entry names and new values.

        Returns
        -------
        model.inputs.parameters.Parameters
        """
        entries = dict(self.entries)
        for name, value in values.items():
            if name not in MODEL_ENTRIES:
                raise KeyError(f"{name!r} is not a model parameter")
            entry = entries[name]
            entries[name] = replace(entry, fields={**entry.fields, "value": float(value)})
        return Parameters(entries, self.path)

    def with_symptom_rates(self, rates: Mapping[str, tuple[float, float]]) -> Parameters:
        """A copy with some symptom items' (P(yes | necrosis), P(yes | recurrence)) replaced.

        Note that the prior of the class-mean symptom logits is centred on the items' rates, so a
        copy made for simulation should not be used as the fit's priors.
        """
        entries = dict(self.entries)
        for item, (p_necrosis, p_recurrence) in rates.items():
            entry = entries[f"symptoms.{item}"]
            fields = {
                **entry.fields,
                "p_necrosis": float(p_necrosis),
                "p_recurrence": float(p_recurrence),
            }
            entries[f"symptoms.{item}"] = replace(entry, fields=fields)
        return Parameters(entries, self.path)

    @property
    def digest(self) -> str:
        """SHA-256 of the entries (not of the file's comments or layout)."""
        canonical = {
            name: {"fields": dict(entry.fields), "source": entry.source}
            for name, entry in sorted(self.entries.items())
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def load_parameters(path: str | os.PathLike | None = None) -> Parameters:
    """Read and check a parameter file.

    Parameters
    ----------
    path : path-like, optional
        Defaults to the bundled ``data/parameters.toml``.

    Returns
    -------
    model.inputs.parameters.Parameters

    Raises
    ------
    model.core.errors.InputError
        Listing every missing, unknown or malformed entry (the entry name is the column).
    """
    path = Path(path) if path is not None else bundled("parameters.toml")
    name = path.name
    problems: list[Problem] = []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError([Problem(name, None, None, None, f"a readable file ({error})")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError([Problem(name, None, None, None, f"valid TOML ({error})")]) from None
    found = _flatten(document)
    expected = {
        **{n: "model" for n in MODEL_ENTRIES},
        **{n: "hyper" for n in HYPER_ENTRIES},
        **{n: "symptom" for n in SYMPTOM_ENTRIES},
        **{n: "design" for n in DESIGN_ENTRIES},
    }
    entries: dict[str, Entry] = {}
    for entry_name, fields in found.items():
        if entry_name not in expected:
            close = difflib.get_close_matches(entry_name, list(expected), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(name, None, entry_name, None, f"a known entry{hint}"))
            continue
        group = expected[entry_name]
        entry_problems = _check_entry(name, entry_name, group, fields)
        problems.extend(entry_problems)
        if not entry_problems:
            entries[entry_name] = Entry(
                entry_name,
                group,
                {k: v for k, v in fields.items() if k != "source"},
                fields["source"],
            )
    for entry_name, group in expected.items():
        if entry_name not in found:
            problems.append(
                Problem(name, None, entry_name, None, f"a [{entry_name}] table ({group} entry)")
            )
    if problems:
        raise InputError(problems)
    return Parameters(entries, str(path))


def _flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Tables that carry a ``source`` (or any non-table value) are entries; others are groups."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and any(not isinstance(v, Mapping) for v in value.values()):
            out[name] = dict(value)
        elif isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = {"value": value}
    return out


def _check_entry(file: str, entry: str, group: str, fields: Mapping[str, Any]) -> list[Problem]:
    problems = []

    def bad(field: str, value: Any, expected: str) -> None:
        problems.append(Problem(file, None, f"{entry}.{field}", repr(value), expected))

    allowed = _FIELDS_BY_GROUP[group]
    for key in fields:
        if key not in allowed:
            bad(key, fields[key], f"one of the fields {', '.join(allowed)}")
    for key in allowed:
        if key not in fields:
            problems.append(Problem(file, None, f"{entry}.{key}", None, "this field (missing)"))
    if problems:
        return problems
    if not isinstance(fields["source"], str) or not fields["source"].strip():
        bad("source", fields["source"], "a non-empty text citing the source")
    if group == "symptom":
        for key in ("p_recurrence", "p_necrosis"):
            if not _is_number(fields[key]) or not 0 < fields[key] < 1:
                bad(key, fields[key], "a probability strictly between 0 and 1")
    if group in {"model", "hyper"}:
        problems.extend(_check_prior(file, entry, fields))
    if group == "design":
        problems.extend(_check_design_value(file, entry, fields["value"]))
    return problems


def _check_prior(file: str, entry: str, fields: Mapping[str, Any]) -> list[Problem]:
    problems = []
    kind, scale, value = fields["prior"], fields["scale"], fields.get("value")
    known_kind = isinstance(kind, str) and kind in PRIOR_KINDS
    if not known_kind:
        problems.append(
            Problem(file, None, f"{entry}.prior", repr(kind), f"one of {', '.join(PRIOR_KINDS)}")
        )
    if not _is_number(scale) or scale <= 0:
        problems.append(Problem(file, None, f"{entry}.scale", repr(scale), "a positive number"))
    if "value" not in fields:
        return problems
    support = {
        "normal": (lambda x: True, "a number"),
        "lognormal": (lambda x: x > 0, "a positive number"),
        "halfnormal": (lambda x: x >= 0, "a number >= 0"),
        "beta": (lambda x: 0 < x < 1, "a probability strictly between 0 and 1"),
        "beta_pm1": (lambda x: -1 < x < 1, "a correlation strictly between -1 and 1"),
    }.get(kind if known_kind else None)
    if support is not None and (not _is_number(value) or not support[0](value)):
        problems.append(Problem(file, None, f"{entry}.value", repr(value), support[1]))
    return problems


def _check_design_value(file: str, entry: str, value: Any) -> list[Problem]:
    key = entry.removeprefix("cohort_design.")
    where = f"{entry}.value"
    probabilities = {
        "early_fraction", "mgmt_known", "mgmt_methylated", "idh_known", "idh_mutant",
        "perfusion_available", "perfusion_read_only", "pet_available", "pet_read_only",
        "symptom_unknown", "labelled", "histopathology_share",
    }  # fmt: skip
    if key in probabilities:
        ok, expected = _is_number(value) and 0 <= value <= 1, "a probability in [0, 1]"
    elif key == "follow_up_scan_probabilities":
        ok = (
            isinstance(value, list)
            and len(value) == 4
            and all(_is_number(p) and p >= 0 for p in value)
            and math.isclose(sum(value), 1.0, abs_tol=1e-9)
        )
        expected = "four probabilities (0, 1, 2, 3 scans) summing to 1"
    elif key == "follow_up_interval_weeks":
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(w, int) and w > 0 for w in value)
            and value[0] <= value[1]
        )
        expected = "[shortest, longest] whole weeks"
    elif key == "perfusion_technique_cycle":
        ok = isinstance(value, list) and bool(value) and all(v in TECHNIQUES for v in value)
        expected = f"a non-empty list of {', '.join(TECHNIQUES)}"
    elif key == "pet_tracer_cycle":
        ok = isinstance(value, list) and bool(value) and all(v in TRACERS for v in value)
        expected = f"a non-empty list of {', '.join(TRACERS)}"
    elif key.startswith("read_cutoffs."):
        ok = isinstance(value, list) and bool(value) and all(_is_number(c) and c > 0 for c in value)
        expected = "a non-empty list of positive cutoffs"
    else:
        ok, expected = _is_number(value) and value > 0, "a positive number"
    return [] if ok else [Problem(file, None, where, repr(value), expected)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
