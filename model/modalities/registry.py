"""The registry: every modality the model knows, read and checked from ``[modality.*]`` tables.

:func:`read_registry` turns the parameter file's ``modality`` section into a :class:`Registry` of
declarations (:mod:`model.modalities.spec`), and hands the tables of model parameters (the priors)
back to the parameter reader, which checks them like every other entry. Every problem is reported
with the file, the dotted entry and what was expected; nothing is guessed.

A fit stores its registry (:meth:`Registry.to_mapping`, declarations without priors) so that it
scores lesions with the modalities it was fitted with.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from model.core.errors import Problem
from model.modalities.spec import (
    BINARY_PARAMETERS,
    EARLY_SHIFT,
    FOLLOW_UP_PARAMETERS,
    MARKER_MODALITY_PARAMETERS,
    MARKER_PARAMETERS,
    BinaryTest,
    Kind,
    Marker,
    Modality,
    Published,
)

FORMS = ("continuous", "binary")
DIRECTIONS = {"higher": 1, "lower": -1}
RESERVED_NAMES = ("prior", "symptoms", "growth", "modality", "prevalence", "reference")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")
_COLUMN = re.compile(r"[a-z][a-z0-9_]*\Z")

_MARKER_KEYS = (
    "form",
    "label",
    "unit",
    "kinds",
    "kind_column",
    "value_column",
    "read_column",
    "read_cutoff_column",
    "transform",
    "direction",
    "valid_range",
    "physiological_range",
    "source",
    "available",
    "read_only",
    "kind_cycle",
    *MARKER_MODALITY_PARAMETERS,
    EARLY_SHIFT,
    *FOLLOW_UP_PARAMETERS,
)
_KIND_KEYS = ("label", "classic_cutoff", "read_cutoffs", "published", *MARKER_PARAMETERS)
_BINARY_KEYS = ("form", "label", "column", "source", "available", "published", *BINARY_PARAMETERS)
_PUBLISHED_KEYS = ("auc", "sensitivity", "specificity", "source")


@dataclass(frozen=True)
class Registry:
    """The declared modalities, in the order the format, the model and the reports use.

    Attributes
    ----------
    modalities : tuple of Marker or BinaryTest
    """

    modalities: tuple[Modality, ...]

    def __iter__(self) -> Iterator[Modality]:
        return iter(self.modalities)

    def __len__(self) -> int:
        return len(self.modalities)

    def __getitem__(self, name: str) -> Modality:
        for modality in self.modalities:
            if modality.name == name:
                return modality
        raise KeyError(f"no modality {name!r} (known: {', '.join(self.names)})")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    @property
    def names(self) -> tuple[str, ...]:
        """Modality names, in order."""
        return tuple(m.name for m in self.modalities)

    @property
    def markers(self) -> tuple[Marker, ...]:
        """The continuous markers, in order."""
        return tuple(m for m in self.modalities if isinstance(m, Marker))

    @property
    def binary_tests(self) -> tuple[BinaryTest, ...]:
        """The binary tests, in order."""
        return tuple(m for m in self.modalities if isinstance(m, BinaryTest))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the modalities add to the cohort format, in order."""
        return tuple(c for m in self.modalities for c in m.columns)

    def kind_lookup(self) -> dict[str, tuple[Marker, Kind]]:
        """Each kind by its name (``"FET"``), with its marker; kind names are unique."""
        return {k.name: (m, k) for m in self.markers for k in m.kinds}

    def parameter_entries(self) -> tuple[str, ...]:
        """Dotted names of every modality's parameter-file entries."""
        return tuple(e for m in self.modalities for e in m.parameter_entries())

    def structure(self) -> tuple:
        """What encoded data depend on: each modality's name, form, columns and kinds."""
        return tuple(
            (m.name, m.form, m.columns, getattr(m, "kind_names", ())) for m in self.modalities
        )

    def to_mapping(self) -> dict[str, Any]:
        """The declarations as a JSON-ready mapping that :func:`read_registry` reads back."""
        return {m.name: _declaration_mapping(m) for m in self.modalities}


def read_registry(
    section: Any, file: str, *, with_parameters: bool = True
) -> tuple[Registry | None, dict[str, Mapping[str, Any]], list[Problem]]:
    """Read the ``modality`` section of a parameter file.

    Parameters
    ----------
    section : mapping
        The parsed ``[modality]`` table: one table per modality.
    file : str
        File name for problems.
    with_parameters : bool, default True
        Whether the parameter tables (priors) must be present; a fit's stored registry has none.

    Returns
    -------
    registry : Registry or None
        None when there were problems.
    parameter_tables : dict of str to mapping
        The model-parameter tables by dotted name, for the parameter reader to check.
    problems : list of Problem
    """
    reader = _Reader(file, with_parameters)
    if not isinstance(section, Mapping) or not section:
        reader.bad("modality", section, "one [modality.NAME] table per modality")
        return None, {}, reader.problems
    modalities = []
    for name, table in section.items():
        modality = reader.modality(str(name), table)
        if modality is not None:
            modalities.append(modality)
    reader.check_unique_columns(modalities)
    if reader.problems:
        return None, {}, reader.problems
    return Registry(tuple(modalities)), reader.parameter_tables, []


class _Reader:
    """Reads declarations, collecting problems instead of stopping at the first."""

    def __init__(self, file: str, with_parameters: bool):
        self.file = file
        self.with_parameters = with_parameters
        self.problems: list[Problem] = []
        self.parameter_tables: dict[str, Mapping[str, Any]] = {}

    def bad(self, where: str, value: Any, expected: str) -> None:
        shown = None if value is None else repr(value)
        self.problems.append(Problem(self.file, None, where, shown, expected))

    # -- modalities --------------------------------------------------------------------------
    def modality(self, name: str, table: Any) -> Modality | None:
        where = f"modality.{name}"
        if not _NAME.match(name) or name in RESERVED_NAMES:
            self.bad(
                where,
                name,
                "a modality name of lower-case letters, digits and _, "
                f"not one of {', '.join(RESERVED_NAMES)}",
            )
            return None
        if not isinstance(table, Mapping):
            self.bad(where, table, "a table declaring the modality")
            return None
        form = table.get("form")
        if form not in FORMS:
            self.bad(f"{where}.form", form, f"one of {', '.join(map(repr, FORMS))}")
            return None
        count = len(self.problems)
        modality = self.marker(name, table) if form == "continuous" else self.binary(name, table)
        return modality if len(self.problems) == count else None

    def marker(self, name: str, table: Mapping[str, Any]) -> Marker | None:
        where = f"modality.{name}"
        kinds_value = table.get("kinds")
        kind_names = self.kind_names(f"{where}.kinds", kinds_value)
        self.unknown_keys(where, table, (*_MARKER_KEYS, *kind_names))
        label = self.text(where, table, "label")
        unit = self.text(where, table, "unit")
        self.text(where, table, "source")
        value_column = self.column(where, table, "value_column", required=True)
        kind_column = self.column(where, table, "kind_column", required=len(kind_names) > 1)
        if len(kind_names) == 1 and kind_column is not None:
            self.bad(f"{where}.kind_column", kind_column, "no kind column for a marker of one kind")
        read_column = self.column(where, table, "read_column", required=False)
        cutoff_column = self.column(where, table, "read_cutoff_column", required=False)
        if (read_column is None) != (cutoff_column is None):
            self.bad(
                f"{where}.read_column",
                read_column,
                "both read_column and read_cutoff_column, or neither",
            )
        if table.get("transform", "log") != "log":
            self.bad(f"{where}.transform", table.get("transform"), "'log' (the only scale)")
        direction = table.get("direction")
        if not isinstance(direction, str) or direction not in DIRECTIONS:
            self.bad(
                f"{where}.direction",
                direction,
                "'higher' or 'lower': which values point to recurrence",
            )
        valid = self.range(f"{where}.valid_range", table.get("valid_range"))
        physiological = self.range(f"{where}.physiological_range", table.get("physiological_range"))
        if (
            valid
            and physiological
            and not valid[0] <= physiological[0] < physiological[1] <= valid[1]
        ):
            self.bad(
                f"{where}.physiological_range",
                list(physiological),
                f"a range inside valid_range {list(valid)}",
            )
        available = self.design_probability(f"{where}.available", table.get("available"))
        read_only = (
            self.design_probability(f"{where}.read_only", table.get("read_only"))
            if read_column is not None
            else 0.0
        )
        cycle = self.design_value(f"{where}.kind_cycle", table.get("kind_cycle"))
        if cycle is not None and (
            not isinstance(cycle, list) or not cycle or any(c not in kind_names for c in cycle)
        ):
            self.bad(
                f"{where}.kind_cycle.value",
                cycle,
                f"a non-empty list of the kinds {', '.join(kind_names)}",
            )
        if read_column is None and "read_only" in table:
            self.bad(f"{where}.read_only", None, "no read_only entry: the marker has no reads")
        for parameter in MARKER_MODALITY_PARAMETERS:
            self.parameter(where, table, parameter)
        early_shift = EARLY_SHIFT in table  # optional: a marker may read the same in both windows
        if early_shift and self.with_parameters:
            self.parameter(where, table, EARLY_SHIFT)
        follow_up = self.follow_up(where, table)
        kinds = [
            self.kind(f"{where}.{k}", table.get(k), valid, read_column is not None)
            for k in kind_names
        ]
        if self.problems or any(k is None for k in kinds):
            return None
        return Marker(
            name=name,
            label=label,
            unit=unit,
            value_column=value_column,
            kind_column=kind_column,
            read_column=read_column,
            read_cutoff_column=cutoff_column,
            direction=DIRECTIONS[direction],
            valid_range=valid,
            physiological_range=physiological,
            kinds=tuple(kinds),
            available=available,
            read_only=read_only,
            kind_cycle=tuple(cycle),
            early_shift=early_shift,
            follow_up=follow_up,
        )

    def kind(self, where: str, table: Any, valid, has_reads: bool) -> Kind | None:
        if not isinstance(table, Mapping):
            self.bad(where, table, "a table for this kind (label, parameters, classic_cutoff)")
            return None
        self.unknown_keys(where, table, _KIND_KEYS)
        label = self.text(where, table, "label")
        classic = self.design_value(f"{where}.classic_cutoff", table.get("classic_cutoff"))
        inside = f"inside {list(valid)}" if valid is not None else "positive"

        def ok(value) -> bool:
            return _is_number(value) and (_in_range(value, valid) if valid else value > 0)

        if classic is not None and not ok(classic):
            self.bad(f"{where}.classic_cutoff.value", classic, f"a cutoff {inside}")
            classic = None
        cutoffs = self.design_value(f"{where}.read_cutoffs", table.get("read_cutoffs"), has_reads)
        if cutoffs is not None and (
            not isinstance(cutoffs, list) or not cutoffs or not all(ok(c) for c in cutoffs)
        ):
            self.bad(
                f"{where}.read_cutoffs.value", cutoffs, f"a non-empty list of cutoffs {inside}"
            )
            cutoffs = None
        published = self.published(f"{where}.published", table.get("published"))
        for parameter in MARKER_PARAMETERS:
            self.parameter(where, table, parameter)
        if label is None or classic is None:
            return None
        return Kind(
            where.rsplit(".", 1)[1],
            label,
            float(classic),
            tuple(float(c) for c in cutoffs or ()),
            published,
        )

    def binary(self, name: str, table: Mapping[str, Any]) -> BinaryTest | None:
        where = f"modality.{name}"
        self.unknown_keys(where, table, _BINARY_KEYS)
        label = self.text(where, table, "label")
        self.text(where, table, "source")
        column = self.column(where, table, "column", required=True)
        available = self.design_probability(f"{where}.available", table.get("available"))
        published = self.published(f"{where}.published", table.get("published"))
        for parameter in BINARY_PARAMETERS:
            self.parameter(where, table, parameter)
        if self.problems:
            return None
        return BinaryTest(name, label, column, available, published)

    # -- fields ------------------------------------------------------------------------------
    def kind_names(self, where: str, value: Any) -> tuple[str, ...]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(k, str) and _KIND.match(k) for k in value)
            or len(set(value)) != len(value)
        ):
            self.bad(where, value, "a non-empty list of distinct kind names (letters and digits)")
            return ()
        return tuple(value)

    def unknown_keys(self, where: str, table: Mapping[str, Any], allowed) -> None:
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.bad(f"{where}.{key}", None, f"a known field ({', '.join(allowed)}){hint}")

    def text(self, where: str, table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.bad(f"{where}.{key}", value, "a non-empty text")
            return None
        return value

    def column(self, where: str, table, key: str, *, required: bool) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.bad(f"{where}.{key}", None, "a column name (lower-case letters, digits, _)")
            return None
        if not isinstance(value, str) or not _COLUMN.match(value):
            self.bad(f"{where}.{key}", value, "a column name (lower-case letters, digits, _)")
            return None
        return value

    def range(self, where: str, value: Any) -> tuple[float, float] | None:
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(_is_number(v) and v > 0 for v in value)
            and value[0] < value[1]
        ):
            return float(value[0]), float(value[1])
        self.bad(where, value, "[low, high]: two positive numbers, low < high")
        return None

    def design_value(self, where: str, table: Any, required: bool = True) -> Any:
        """A design entry: a table with a ``value`` and its ``source``."""
        if table is None and not required:
            return None
        if (
            not isinstance(table, Mapping)
            or set(table) != {"value", "source"}
            or not isinstance(table["source"], str)
            or not table["source"].strip()
        ):
            self.bad(
                where, table, "a table with a value and its source (value = ..., source = ...)"
            )
            return None
        return table["value"]

    def design_probability(self, where: str, table: Any) -> float | None:
        value = self.design_value(where, table)
        if value is None:
            return None
        if not _is_number(value) or not 0 <= value <= 1:
            self.bad(f"{where}.value", value, "a probability in [0, 1]")
            return None
        return float(value)

    def published(self, where: str, table: Any) -> Published | None:
        if table is None:
            return None
        if not isinstance(table, Mapping):
            self.bad(where, table, "a table: auc, sensitivity, specificity, source")
            return None
        self.unknown_keys(where, table, _PUBLISHED_KEYS)
        source = self.text(where, table, "source")
        triples = {}
        for key in ("auc", "sensitivity", "specificity"):
            value = table.get(key)
            if value is None:
                triples[key] = None
                continue
            if (
                isinstance(value, list)
                and len(value) == 3
                and all(_is_number(v) and 0 < v < 1 for v in value)
                and value[1] <= value[0] <= value[2]
            ):
                triples[key] = tuple(float(v) for v in value)
            else:
                self.bad(f"{where}.{key}", value, "[estimate, low, high] in (0, 1), low <= high")
        if source is None or len(triples) < 3:
            return None
        return Published(triples["auc"], triples["sensitivity"], triples["specificity"], source)

    def parameter(self, where: str, table: Mapping[str, Any], key: str) -> None:
        """Hand a parameter table to the parameter reader (it checks the prior)."""
        value = table.get(key)
        if value is None:
            if self.with_parameters:
                self.bad(f"{where}.{key}", None, "a parameter table (value, prior, scale, source)")
            return
        if not isinstance(value, Mapping):
            self.bad(f"{where}.{key}", value, "a parameter table (value, prior, scale, source)")
            return
        self.parameter_tables[f"{where}.{key}"] = value

    def follow_up(self, where: str, table: Mapping[str, Any]) -> bool:
        """Whether a marker declares its change between scans: all of its parameters, or none."""
        declared = [p for p in FOLLOW_UP_PARAMETERS if p in table]
        if declared and len(declared) < len(FOLLOW_UP_PARAMETERS):
            missing = [p for p in FOLLOW_UP_PARAMETERS if p not in table]
            self.bad(
                f"{where}.{missing[0]}",
                None,
                f"all of {', '.join(FOLLOW_UP_PARAMETERS)} or none (found {', '.join(declared)})",
            )
            return False
        if declared and self.with_parameters:
            for p in FOLLOW_UP_PARAMETERS:
                self.parameter(where, table, p)
        return bool(declared)

    def check_unique_columns(self, modalities: list[Modality]) -> None:
        seen: dict[str, str] = {}
        kinds: dict[str, str] = {}
        for modality in modalities:
            for column in modality.columns:
                if column in seen:
                    self.bad(
                        f"modality.{modality.name}",
                        column,
                        f"columns of its own (also declared by modality.{seen[column]})",
                    )
                seen[column] = modality.name
            for kind in getattr(modality, "kinds", ()):
                if kind.name in kinds:
                    self.bad(
                        f"modality.{modality.name}.kinds",
                        kind.name,
                        f"kind names of its own (also a kind of modality.{kinds[kind.name]})",
                    )
                kinds[kind.name] = modality.name


def _declaration_mapping(modality: Modality) -> dict[str, Any]:
    """A declaration back as the mapping it was read from, without the parameter tables."""
    stored = "stored with a fit"

    def design(value):
        return {"value": value, "source": stored}

    def published(p: Published | None) -> dict[str, Any] | None:
        if p is None:
            return None
        out = {
            k: list(v)
            for k in ("auc", "sensitivity", "specificity")
            if (v := getattr(p, k)) is not None
        }
        return {**out, "source": p.source}

    if isinstance(modality, BinaryTest):
        out = {
            "form": "binary",
            "label": modality.label,
            "column": modality.column,
            "source": stored,
            "available": design(modality.available),
        }
        if modality.published is not None:
            out["published"] = published(modality.published)
        return out
    out = {
        "form": "continuous",
        "label": modality.label,
        "unit": modality.unit,
        "kinds": list(modality.kind_names),
        "value_column": modality.value_column,
        "direction": "higher" if modality.direction == 1 else "lower",
        "valid_range": list(modality.valid_range),
        "physiological_range": list(modality.physiological_range),
        "source": stored,
        "available": design(modality.available),
        "kind_cycle": design(list(modality.kind_cycle)),
        "transform": modality.transform,
    }
    for key in ("kind_column", "read_column", "read_cutoff_column"):
        if getattr(modality, key) is not None:
            out[key] = getattr(modality, key)
    if modality.has_reads:
        out["read_only"] = design(modality.read_only)
    if modality.early_shift:  # the entry itself is stored with the parameters
        out[EARLY_SHIFT] = {"source": stored}
    if modality.follow_up:  # likewise
        out.update({p: {"source": stored} for p in FOLLOW_UP_PARAMETERS})
    for kind in modality.kinds:
        entry = {"label": kind.label, "classic_cutoff": design(kind.classic_cutoff)}
        if modality.has_reads:
            entry["read_cutoffs"] = design(list(kind.read_cutoffs))
        if kind.published is not None:
            entry["published"] = published(kind.published)
        out[kind.name] = entry
    return out


def _in_range(value: Any, valid) -> bool:
    return _is_number(value) and valid is not None and valid[0] < value <= valid[1]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
