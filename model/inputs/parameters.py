"""The parameter file: every number of the priors and the synthetic cohort, with its source.

``data/parameters.toml`` holds, for each model parameter, its published centre (``value``), its
prior (``prior`` and ``scale``) and its ``source``; the design of the synthetic cohort; the
context in which imaging is read; and, in ``[modality.*]`` tables, the declaration of every
evidence source (:mod:`model.modalities`). :func:`load_parameters` reads and checks the whole file,
so the model and the simulator never see a missing or misspelt entry.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from model.core.errors import InputError, Problem
from model.core.files import bundled
from model.core.strict_toml import read_toml
from model.inputs.vocabulary import SYMPTOMS
from model.modalities.registry import Registry, read_registry

PRIOR_KINDS = ("normal", "lognormal", "halfnormal", "beta", "fixed")

DECLINE_ENTRIES: tuple[str, ...] = tuple(
    f"symptoms.decline_{k}" for k in ("intercept", "recurrence", "edema", "eloquent", "steroid")
)
"""The logistic model of clinical decline: its intercept (necrosis), the class effect and the
context covariates."""

SYMPTOM_ENTRIES: tuple[str, ...] = tuple(
    f"symptoms.{s}.{given}" for s in SYMPTOMS for given in ("if_decline", "if_stable")
)
"""Each symptom item's P(yes | decline) and P(yes | no decline)."""

FIXED_MODEL_ENTRIES: tuple[str, ...] = (
    "prevalence.intercept",
    "prevalence.early",
    "prevalence.mgmt",
    "prevalence.mgmt_early",
    "prevalence.reirradiation",
    "prevalence.tau_center",
    "prevalence.patient_concordance",
    *DECLINE_ENTRIES,
    *SYMPTOM_ENTRIES,
    "growth.rate_necrosis",
    "growth.separation",
    "growth.sd",
    "growth.tau_lesion",
    "growth.steroid_shift",
    "growth.misread",
    "reference.follow_up_sensitivity",
    "reference.follow_up_specificity",
)
"""Model parameters every model has; each modality adds its own (``Parameters.model_entries``)."""

DESIGN_ENTRIES: tuple[str, ...] = (
    "cohort_design.early_fraction",
    "cohort_design.early_window_months",
    "cohort_design.early_window_width_months",
    "cohort_design.late_months_median",
    "cohort_design.late_months_log_sd",
    "cohort_design.mgmt_known",
    "cohort_design.idh_known",
    "cohort_design.idh_mutant",
    "cohort_design.symptom_unknown",
    "cohort_design.labelled",
    "cohort_design.histopathology_share",
    "cohort_design.histopathology_suspicion_slope",
    "cohort_design.follow_up_label_growth",
    "cohort_design.follow_up_scan_probabilities",
    "cohort_design.follow_up_interval_weeks",
    "cohort_design.baseline_volume_median_ml",
    "cohort_design.baseline_volume_log_sd",
    "cohort_design.center_size_concentration",
    "cohort_design.edema_known",
    "cohort_design.edema_ratio_log_sd",
    "cohort_design.eloquent_known",
    "cohort_design.eloquent_share",
    "cohort_design.steroid_known",
    "cohort_design.steroid_increase_share",
    "cohort_design.second_lesion_share",
    "cohort_design.reirradiation_known",
    "cohort_design.mixed_share",
    "cohort_design.mixed_tumor_share_known",
)
"""Synthetic-cohort design shared by all modalities: a value and a source each (each modality's
own design sits in its declaration)."""

HIDDEN_SHARE_ENTRIES: tuple[str, str] = (
    "context.mgmt_methylated_share",
    "context.reirradiated_share",
)
"""P(methylated) and P(re-irradiated) where the status is not recorded: the class prior mixes
over what an unknown status hides (:mod:`model.likelihood.class_prior`), and the simulator draws
the true statuses with these shares."""

STEROID_SHARE_ENTRY = "context.follow_up_steroid_share"
"""P(steroid dose raised) before a follow-up scan without a record: the growth likelihood mixes
over what the blank may hide (:mod:`model.likelihood.growth`), and the simulator draws the true
changes with this share."""

CONTEXT_ENTRIES: tuple[str, ...] = (
    "context.bevacizumab_window_weeks",
    "context.edema_reference_ratio",
    "context.mixed_recurrence_tumor_percent",
    *HIDDEN_SHARE_ENTRIES,
    STEROID_SHARE_ENTRY,
)
"""How inputs are read where the data cannot say: a value and a source each."""

REQUIRED_PRIOR_KINDS: dict[str, tuple[str, ...]] = {
    "mu_necrosis": ("normal",),
    "separation": ("lognormal",),
    "sigma": ("lognormal", "halfnormal"),
    "tau_center": ("lognormal", "halfnormal"),
    "misread": ("fixed",),
    "early_necrosis_shift": ("beta",),
    "sensitivity": ("beta",),
    "specificity": ("beta",),
}
"""The prior kinds the model's structure needs, by the last part of a modality entry's name:
locations are real, separations and spreads positive, misreads fixed, accuracies probabilities."""

_FIELDS_BY_GROUP = {
    "model": ("value", "prior", "scale", "source"),
    "design": ("value", "source"),
    "context": ("value", "source"),
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
        (beta); 0 for ``fixed``.
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
        Keyed by dotted name, e.g. ``"modality.perfusion.DSC.separation"``.
    path : str
        The file they came from.
    registry : Registry
        The modalities the file declares.
    """

    entries: Mapping[str, Entry]
    path: str
    registry: Registry

    @property
    def model_entries(self) -> tuple[str, ...]:
        """Dotted names of every model parameter: the fixed ones, then each modality's."""
        return (*FIXED_MODEL_ENTRIES, *self.registry.parameter_entries())

    @property
    def estimated_entries(self) -> tuple[str, ...]:
        """Model parameters with a prior to sample from (not ``fixed``)."""
        return tuple(e for e in self.model_entries if self.prior(e).kind != "fixed")

    def value(self, name: str) -> Any:
        """The ``value`` of a model, design or context entry."""
        return self.entries[name].fields["value"]

    def hidden_shares(self) -> tuple[float, float]:
        """P(methylated) and P(re-irradiated) behind an unknown status.

        From :data:`HIDDEN_SHARE_ENTRIES`.
        """
        mgmt, reirradiated = (float(self.value(name)) for name in HIDDEN_SHARE_ENTRIES)
        return mgmt, reirradiated

    def prior(self, name: str) -> Prior:
        """The prior of a model entry."""
        fields = self.entries[name].fields
        return Prior(fields["prior"], fields.get("value"), float(fields.get("scale", 0.0)))

    def source(self, name: str) -> str:
        """The source cited for an entry."""
        return self.entries[name].source

    def model_values(self) -> dict[str, float]:
        """The published centres of all model parameters, by dotted name."""
        return {name: float(self.value(name)) for name in self.model_entries}

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
        known = set(self.model_entries)
        for name, value in values.items():
            if name not in known:
                raise KeyError(f"{name!r} is not a model parameter")
            entry = entries[name]
            entries[name] = replace(entry, fields={**entry.fields, "value": float(value)})
        return Parameters(entries, self.path, self.registry)

    @property
    def digest(self) -> str:
        """SHA-256 of the entries and the modality declarations (not of comments or layout)."""
        canonical = {
            "entries": {
                name: {"fields": dict(entry.fields), "source": entry.source}
                for name, entry in sorted(self.entries.items())
            },
            "modalities": self.registry.to_mapping(),
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
    document = read_toml(path)
    registry, modality_tables, problems = read_registry(document.get("modality"), name)
    if registry is not None:
        problems.extend(_column_clashes(registry, name))
    found = _flatten({k: v for k, v in document.items() if k != "modality"})
    found.update(modality_tables)
    expected = {
        **{n: "model" for n in FIXED_MODEL_ENTRIES},
        **{n: "model" for n in modality_tables},
        **{n: "design" for n in DESIGN_ENTRIES},
        **{n: "context" for n in CONTEXT_ENTRIES},
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
    return Parameters(entries, str(path), registry)


@lru_cache(maxsize=1)
def bundled_parameters() -> Parameters:
    """The bundled parameter file, read once per process."""
    return load_parameters()


def bundled_registry() -> Registry:
    """The modalities of the bundled parameter file."""
    return bundled_parameters().registry


def _column_clashes(registry: Registry, file: str) -> list[Problem]:
    """Modality columns that collide with the format's own columns."""
    from model.inputs.schema import FIXED_COLUMNS

    return [
        Problem(
            file,
            None,
            f"modality.{m.name}",
            column,
            f"a column name the format does not already use ({column!r} is one of its own)",
        )
        for m in registry
        for column in m.columns
        if column in FIXED_COLUMNS
    ]


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
    required = allowed
    if group == "model" and fields.get("prior") == "fixed":
        required = ("value", "prior", "source")
        if "scale" in fields:
            bad("scale", fields["scale"], "no scale: a fixed value is not estimated")
    for key in fields:
        if key not in allowed:
            bad(key, fields[key], f"one of the fields {', '.join(allowed)}")
    for key in required:
        if key not in fields:
            problems.append(Problem(file, None, f"{entry}.{key}", None, "this field (missing)"))
    if problems:
        return problems
    if not isinstance(fields["source"], str) or not fields["source"].strip():
        bad("source", fields["source"], "a non-empty text citing the source")
    if group == "model":
        problems.extend(_check_prior(file, entry, fields))
    if group == "design":
        problems.extend(_check_design_value(file, entry, fields["value"]))
    if group == "context":
        value = fields["value"]
        if entry == "context.mixed_recurrence_tumor_percent":
            if not (_is_number(value) and 0 <= value < 100):
                bad("value", value, "a percentage >= 0 and < 100 (0: any tumour is recurrence)")
        elif entry in (*HIDDEN_SHARE_ENTRIES, STEROID_SHARE_ENTRY):
            if not (_is_number(value) and 0 < value < 1):
                bad("value", value, "a probability strictly between 0 and 1")
        elif not _is_number(value) or value <= 0:
            bad("value", value, "a positive number")
    return problems


def _check_prior(file: str, entry: str, fields: Mapping[str, Any]) -> list[Problem]:
    problems = []
    kind, value = fields["prior"], fields.get("value")
    known_kind = isinstance(kind, str) and kind in PRIOR_KINDS
    required = (
        REQUIRED_PRIOR_KINDS.get(entry.rsplit(".", 1)[1]) if entry.startswith("modality.") else None
    )
    if entry.endswith(".misread"):
        required = ("fixed",)
    if not known_kind:
        problems.append(
            Problem(file, None, f"{entry}.prior", repr(kind), f"one of {', '.join(PRIOR_KINDS)}")
        )
    elif required is not None and kind not in required:
        problems.append(
            Problem(
                file, None, f"{entry}.prior", repr(kind), f"{' or '.join(required)} for this entry"
            )
        )
    if kind != "fixed" and (not _is_number(fields["scale"]) or fields["scale"] <= 0):
        problems.append(
            Problem(file, None, f"{entry}.scale", repr(fields["scale"]), "a positive number")
        )
    if "value" not in fields:
        return problems
    support = {
        "normal": (lambda x: True, "a number"),
        "lognormal": (lambda x: x > 0, "a positive number"),
        "halfnormal": (lambda x: x >= 0, "a number >= 0"),
        "beta": (lambda x: 0 < x < 1, "a probability strictly between 0 and 1"),
        "fixed": (lambda x: True, "a number"),
    }.get(kind if known_kind else None)
    if entry.endswith(".misread"):
        support = (lambda x: 0 < x < 0.5, "a probability strictly between 0 and 0.5")
    if support is not None and (not _is_number(value) or not support[0](value)):
        problems.append(Problem(file, None, f"{entry}.value", repr(value), support[1]))
    return problems


def _check_design_value(file: str, entry: str, value: Any) -> list[Problem]:
    key = entry.removeprefix("cohort_design.")
    where = f"{entry}.value"
    probabilities = {
        "early_fraction",
        "mgmt_known",
        "idh_known",
        "idh_mutant",
        "symptom_unknown",
        "labelled",
        "histopathology_share",
        "edema_known",
        "eloquent_known",
        "eloquent_share",
        "steroid_known",
        "steroid_increase_share",
        "reirradiation_known",
        "mixed_share",
        "mixed_tumor_share_known",
    }
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
    else:
        ok, expected = _is_number(value) and value > 0, "a positive number"
    return [] if ok else [Problem(file, None, where, repr(value), expected)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parameters_to_mapping(parameters: Parameters) -> dict[str, Any]:
    """A JSON-ready copy of every entry and declaration (what a fit file stores)."""
    return {
        "file": Path(parameters.path).name,
        "entries": {
            name: {"group": e.group, "fields": dict(e.fields), "source": e.source}
            for name, e in parameters.entries.items()
        },
        "modalities": parameters.registry.to_mapping(),
        "modality_order": list(parameters.registry.names),
    }


def parameters_from_mapping(mapping: Any, file: str) -> Parameters:
    """Read back :func:`parameters_to_mapping`'s copy, checking it as a parameter file.

    Raises
    ------
    model.core.errors.InputError
        If the copy is malformed: every problem names the entry.
    """
    if not isinstance(mapping, Mapping) or not isinstance(mapping.get("entries"), Mapping):
        raise InputError([Problem(file, None, "parameters", None, "the stored parameter entries")])
    modalities, order = mapping.get("modalities"), mapping.get("modality_order")
    if (
        isinstance(modalities, Mapping)
        and isinstance(order, list)
        and set(order) == set(modalities)
    ):
        modalities = {name: modalities[name] for name in order}  # JSON sorted the keys
    registry, _, problems = read_registry(modalities, file, with_parameters=False)
    entries: dict[str, Entry] = {}
    for name, stored in mapping["entries"].items():
        if not isinstance(stored, Mapping) or stored.get("group") not in _FIELDS_BY_GROUP:
            problems.append(Problem(file, None, str(name), None, "a stored parameter entry"))
            continue
        fields = {**dict(stored.get("fields") or {}), "source": stored.get("source")}
        entry_problems = _check_entry(file, str(name), stored["group"], fields)
        problems.extend(entry_problems)
        if not entry_problems:
            entries[name] = Entry(name, stored["group"], dict(stored["fields"]), stored["source"])
    if registry is not None:
        needed = (
            *FIXED_MODEL_ENTRIES,
            *registry.parameter_entries(),
            *DESIGN_ENTRIES,
            *CONTEXT_ENTRIES,
        )
        problems.extend(
            Problem(file, None, name, None, "this stored parameter entry (missing)")
            for name in needed
            if name not in entries
        )
    if problems:
        raise InputError(problems)
    return Parameters(entries, str(mapping.get("file", file)), registry)
