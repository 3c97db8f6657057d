"""The cohort and patient formats, and validation at the edge.

A cohort is a CSV file with one row per lesion; a single patient is a JSON object with the same
fields. :func:`load_cohort` and :func:`load_patient` either return a typed, validated
:class:`Cohort` or raise one :class:`~model.core.errors.InputError` that lists every problem with
its file, row, column, value and what was expected. Nothing is silently dropped or coerced: a blank
cell means missing, and anything that is not a valid value is reported.

The fields, their units and allowed values are documented in ``data/README.md``. The format's own
columns (:data:`FIXED_FIELDS`) are joined by each registered modality's columns
(:mod:`model.modalities`): :func:`schema_for` builds the full :class:`Schema` of a registry, the
machine-readable version of that table.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.errors import InputError, Problem
from model.core.files import atomic_write_text
from model.core.numbers import MAX_NUMBER_LENGTH, SPACE, parse_number
from model.inputs.strict_json import JsonNumber, JsonRuleError, strict_json
from model.inputs.vocabulary import MAX_FOLLOW_UPS, READS, REFERENCE_SOURCES, SYMPTOMS
from model.modalities.registry import Registry
from model.modalities.spec import BinaryTest, Marker


@dataclass(frozen=True)
class Field:
    """One column of the cohort format.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"id", "text", "number", "choice", "yesno"}
        How cells are parsed.
    description : str
        What the column holds, with its unit.
    choices : tuple of str
        Allowed values of a ``choice`` column (matched case-insensitively, stored canonically).
    low, high : float or None
        Plausible range of a ``number`` column; ``low`` is exclusive unless ``low_inclusive``.
    required : bool
        Whether the column must be present and every cell filled.
    missing_words : tuple of str
        Words that mean "missing" besides a blank cell (only ``unknown``, where allowed).
    """

    name: str
    kind: str
    description: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = False
    required: bool = False
    missing_words: tuple[str, ...] = ()

    def expected(self) -> str:
        """Describe the allowed values in words, for error messages."""
        if self.kind == "number":
            low = f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
            return f"a number {low} and <= {self.high:g} ({self.description}); blank if missing"
        if self.kind in {"choice", "yesno"}:
            words = " or ".join(repr(c) for c in (*self.choices, *self.missing_words))
            return f"{words}, or blank if missing"
        return f"a non-empty text ({self.description})"


def _number(name: str, description: str, low: float, high: float, *, inclusive=False) -> Field:
    return Field(name, "number", description, low=low, high=high, low_inclusive=inclusive)


def _yesno(name: str, description: str) -> Field:
    return Field(name, "yesno", description, choices=("yes", "no"), missing_words=("unknown",))


def _follow_up_fields() -> list[Field]:
    fields = []
    for j in range(1, MAX_FOLLOW_UPS + 1):
        fields.append(
            _number(f"volume_fu{j}_ml", f"enhancing volume at follow-up scan {j}, mL", 0, 1000)
        )
        fields.append(
            _number(
                f"interval_fu{j}_weeks",
                f"weeks from the previous scan to follow-up scan {j}",
                0,
                156,
            )
        )
    return fields


_IDENTITY_FIELDS: tuple[Field, ...] = (
    Field("patient_id", "id", "unique lesion identifier", required=True),
    Field("center", "text", "center (site) name", required=True),
)
_CONTEXT_FIELDS: tuple[Field, ...] = (
    *(_yesno(s, f"new or worse {s.replace('_', ' ')}") for s in SYMPTOMS),
    _number("months_since_rt", "months since the end of radiotherapy", 0, 600, inclusive=True),
    _yesno("mgmt_methylated", "MGMT promoter methylation"),
    _yesno("idh_mutant", "IDH mutation"),
    _number(
        "volume_baseline_ml", "enhancing volume at the scan that raised the question, mL", 0, 1000
    ),
    *_follow_up_fields(),
    Field(
        "reference_diagnosis",
        "choice",
        "reference diagnosis",
        choices=("recurrence", "necrosis"),
        missing_words=("unknown",),
    ),
    Field(
        "reference_source", "choice", "source of the reference diagnosis", choices=REFERENCE_SOURCES
    ),
)
FIXED_FIELDS: tuple[Field, ...] = (*_IDENTITY_FIELDS, *_CONTEXT_FIELDS)
"""The format's own columns; the modalities' columns sit between the identity and the context."""
FIXED_COLUMNS: frozenset[str] = frozenset(f.name for f in FIXED_FIELDS)


def modality_fields(modality: Marker | BinaryTest) -> tuple[Field, ...]:
    """The columns a registered modality adds to the format."""
    if isinstance(modality, BinaryTest):
        return (Field(modality.column, "choice", modality.label, choices=READS),)
    low, high = modality.valid_range
    unit = f"{modality.label}, {modality.unit}"
    fields = []
    if modality.kind_column is not None:
        fields.append(
            Field(
                modality.kind_column,
                "choice",
                f"{modality.label} kind",
                choices=modality.kind_names,
            )
        )
    fields.append(_number(modality.value_column, unit, low, high))
    if modality.has_reads:
        side = "above" if modality.direction == 1 else "below"
        fields.append(
            Field(
                modality.read_column,
                "choice",
                f"qualitative {modality.label} read (positive: {side} the cutoff)",
                choices=READS,
            )
        )
        fields.append(
            _number(
                modality.read_cutoff_column, f"cutoff the {modality.label} read used", low, high
            )
        )
    return tuple(fields)


@dataclass(frozen=True, eq=False)
class Schema:
    """The cohort format of one registry: every column, in canonical order.

    Attributes
    ----------
    registry : Registry
    fields : tuple of Field
    by_name : dict of str to Field
    columns : tuple of str
    """

    registry: Registry
    fields: tuple[Field, ...]
    by_name: dict[str, Field]
    columns: tuple[str, ...]


@lru_cache(maxsize=16)
def schema_for(registry: Registry) -> Schema:
    """The cohort format of a registry (cached: registries are immutable)."""
    fields = (
        *_IDENTITY_FIELDS,
        *(f for m in registry for f in modality_fields(m)),
        *_CONTEXT_FIELDS,
    )
    return Schema(registry, fields, {f.name: f for f in fields}, tuple(f.name for f in fields))


def default_registry() -> Registry:
    """The registry of the bundled parameter file."""
    from model.inputs.parameters import bundled_registry

    return bundled_registry()


# --------------------------------------------------------------------------------------------
# The validated table
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated table of lesions (a training cohort, or patients to score).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per lesion, columns in the schema's order, typed: numbers as float64 (NaN when
        missing), choices as categoricals, yes/no items as nullable booleans.
    source : str
        Where the rows came from (a file name, ``"<DataFrame>"`` or ``"<dict>"``).
    registry : Registry
        The modalities whose columns the table has.
    """

    table: pd.DataFrame
    source: str
    registry: Registry

    @property
    def schema(self) -> Schema:
        """The format of this cohort's columns."""
        return schema_for(self.registry)

    def with_table(self, table: pd.DataFrame) -> Cohort:
        """The same cohort's source and registry with other rows (already typed)."""
        return Cohort(table.reset_index(drop=True), self.source, self.registry)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def centers(self) -> tuple[str, ...]:
        """Center names, sorted."""
        return tuple(sorted(self.table["center"].unique()))

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical CSV text: the same lesions give the same digest."""
        return hashlib.sha256(self.to_csv_text().encode()).hexdigest()

    def to_csv_text(self) -> str:
        """The table in the canonical CSV form (the form :meth:`write_csv` writes)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.schema.columns)
        for row in self.table.itertuples(index=False):
            writer.writerow([_format_cell(v) for v in row])
        return out.getvalue()

    def write_csv(self, path: str | os.PathLike) -> Path:
        """Write the table as a cohort CSV, atomically."""
        return atomic_write_text(path, self.to_csv_text())


def trusted_cohort(frame: pd.DataFrame, source: str, registry: Registry) -> Cohort:
    """A Cohort from a DataFrame built by this package (the simulator), without range checks.

    Only for generated data in simulation studies, where a prior draw may legitimately produce
    values outside the plausibility ranges that user files are held to. Columns are cast to the
    canonical types; nothing is validated.

    Parameters
    ----------
    frame : pandas.DataFrame
        The schema's columns, values already canonical (choices spelled as in the format).
    source : str
    registry : Registry

    Returns
    -------
    Cohort
    """
    data = {}
    for field in schema_for(registry).fields:
        column = frame[field.name]
        if field.kind == "number":
            data[field.name] = column.to_numpy(dtype=float, na_value=np.nan)
        elif field.kind == "yesno":
            data[field.name] = pd.array(column, dtype="boolean")
        elif field.kind == "choice":
            values = [None if v is None or v is pd.NA or v != v else v for v in column]
            data[field.name] = pd.Categorical(values, categories=list(field.choices))
        else:
            data[field.name] = pd.array(column.to_numpy(object), dtype=object)
    return Cohort(pd.DataFrame(data), source, registry)


def _format_cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return format(float(value), ".10g")
    return str(value)


# --------------------------------------------------------------------------------------------
# Parsing cells
# --------------------------------------------------------------------------------------------
def _parse_cell(field: Field, text: str) -> tuple[Any, bool]:
    """Parse one stripped cell; returns (value, ok). Missing cells give (None, True)."""
    if text == "" or text.lower() in field.missing_words:
        return None, not field.required
    if field.kind in {"id", "text"}:
        return text, True
    if field.kind in {"choice", "yesno"}:
        for choice in field.choices:
            if text.lower() == choice.lower():
                return (choice == "yes") if field.kind == "yesno" else choice, True
        return None, False
    number = parse_number(text)
    if number is None:
        return None, False
    above_low = number >= field.low if field.low_inclusive else number > field.low
    return number, above_low and number <= field.high


def _number_hint(field: Field, text: str) -> str:
    """Say more when a number cell fails for a common reason."""
    expected = field.expected()
    if not text.isascii():
        return expected + " (ASCII digits 0-9 and a point only; found other characters)"
    if "_" in text:
        return expected + " (no '_' digit grouping: write 1.5, not 1_5)"
    if len(text) > MAX_NUMBER_LENGTH:
        return expected + f" (at most {MAX_NUMBER_LENGTH} characters)"
    if "," in text and text.replace(",", "", 1).replace(".", "", 1).lstrip("-").isdigit():
        return expected + " (use a point as the decimal separator)"
    if text.endswith("%"):
        return expected + " (give a ratio, not a percentage)"
    return expected


@dataclass
class _Row:
    number: int | str | None  # spreadsheet row, DataFrame label, or None (JSON)
    values: dict[str, Any]


class _Checker:
    """Collects problems for one input; builds the typed table when there are none."""

    def __init__(self, file: str, registry: Registry):
        self.file = file
        self.schema = schema_for(registry)
        self.problems: list[Problem] = []

    def add(self, row, column, value, expected) -> None:
        self.problems.append(Problem(self.file, row, column, value, expected))

    def check_columns(self, names: list[str], row: int | None) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                self.add(row, name, None, "each column once (this column is repeated)")
            seen.add(name)
            if name not in self.schema.by_name:
                self.add(row, name, None, _unknown_column_hint(name, self.schema))
        for field in self.schema.fields:
            if field.required and field.name not in seen:
                self.add(row, field.name, None, f"a required column '{field.name}' (missing)")

    def parse_row(self, number, cells: Mapping[str, str]) -> _Row:
        values: dict[str, Any] = {}
        for name, text in cells.items():
            field = self.schema.by_name.get(name)
            if field is None:
                continue
            value, ok = _parse_cell(field, text)
            if not ok:
                if field.kind == "number":
                    hint = _number_hint(field, text)
                elif text == "":
                    hint = f"a value (the column is required: {field.description})"
                else:
                    hint = field.expected()
                self.add(number, name, text, hint)
            values[name] = value
        for field in self.schema.fields:
            if field.required and field.name not in cells:
                values[field.name] = None
        return _Row(number, values)

    def check_row_rules(self, row: _Row) -> None:
        v = row.values
        for marker in self.schema.registry.markers:
            self._check_marker(row, marker)
        self._check_follow_ups(row)
        diagnosis, source = v.get("reference_diagnosis"), v.get("reference_source")
        if diagnosis is not None and source is None:
            self.add(
                row.number,
                "reference_source",
                "",
                "'histopathology' or 'follow_up' for a lesion with a reference diagnosis",
            )
        if source is not None and diagnosis is None:
            self.add(
                row.number,
                "reference_diagnosis",
                "",
                "'recurrence' or 'necrosis' when a reference source is given",
            )

    def _check_marker(self, row: _Row, marker: Marker) -> None:
        v = row.values
        value_col, kind_col = marker.value_column, marker.kind_column
        read_col, cutoff_col = marker.read_column, marker.read_cutoff_column
        value, read, cutoff = v.get(value_col), v.get(read_col), v.get(cutoff_col)
        if value is not None and read is not None:
            self.add(
                row.number,
                read_col,
                str(read),
                f"blank when '{value_col}' is given (give the number or the read, not both)",
            )
        if read is not None and cutoff is None:
            self.add(row.number, cutoff_col, "", f"the cutoff that '{read_col}' used")
        if cutoff is not None and read is None:
            self.add(row.number, read_col, "", "'positive' or 'negative' (a cutoff is given)")
        if (
            kind_col is not None
            and (value is not None or read is not None)
            and v.get(kind_col) is None
        ):
            choices = " or ".join(repr(c) for c in marker.kind_names)
            self.add(
                row.number, kind_col, "", f"{choices} for the {marker.label} result in this row"
            )

    def _check_follow_ups(self, row: _Row) -> None:
        v = row.values
        previous_present = v.get("volume_baseline_ml") is not None
        previous_name = "volume_baseline_ml"
        for j in range(1, MAX_FOLLOW_UPS + 1):
            volume_col, interval_col = f"volume_fu{j}_ml", f"interval_fu{j}_weeks"
            volume, interval = v.get(volume_col), v.get(interval_col)
            if volume is not None and interval is None:
                self.add(row.number, interval_col, "", f"the interval in weeks for '{volume_col}'")
            if interval is not None and volume is None:
                self.add(row.number, volume_col, "", f"the volume measured after '{interval_col}'")
            if volume is not None and not previous_present:
                self.add(
                    row.number,
                    previous_name,
                    "",
                    f"a value: '{volume_col}' needs the scan before it",
                )
            previous_present = volume is not None
            previous_name = volume_col

    def check_unique_ids(self, rows: list[_Row]) -> None:
        first: dict[str, Any] = {}
        for row in rows:
            pid = row.values.get("patient_id")
            if pid is None:
                continue
            if pid in first:
                self.add(
                    row.number, "patient_id", pid, f"a unique id (already used in row {first[pid]})"
                )
            else:
                first[pid] = row.number

    def raise_if_any(self) -> None:
        if self.problems:
            columns = self.schema.columns
            raise InputError(sorted(self.problems, key=lambda p: _reading_order(p, columns)))


def _reading_order(problem: Problem, columns: tuple[str, ...]) -> tuple[int, int, int]:
    """File-level problems first, then by row and by column position in the format."""
    row = problem.row if isinstance(problem.row, int) else -1
    column = columns.index(problem.column) if problem.column in columns else -1
    return (problem.row is not None, row, column)


def _unknown_column_hint(name: str, schema: Schema) -> str:
    close = difflib.get_close_matches(name.lower(), schema.columns, n=1, cutoff=0.6)
    if close:
        return f"a known column (unknown column; did you mean '{close[0]}'?)"
    return "a known column (unknown column; see data/README.md for the format)"


def _typed_table(rows: list[_Row], schema: Schema) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for field in schema.fields:
        values = [row.values.get(field.name) for row in rows]
        if field.kind == "number":
            data[field.name] = np.array([np.nan if x is None else x for x in values], dtype=float)
        elif field.kind == "yesno":
            data[field.name] = pd.array(values, dtype="boolean")
        elif field.kind == "choice":
            data[field.name] = pd.Categorical(values, categories=list(field.choices))
        else:
            data[field.name] = pd.array(values, dtype=object)
    return pd.DataFrame(data)


def _validated(checker: _Checker, rows: list[_Row]) -> pd.DataFrame:
    if not rows and not checker.problems:
        checker.add(None, None, None, "at least one lesion row")
    checker.check_unique_ids(rows)
    for row in rows:
        checker.check_row_rules(row)
    checker.raise_if_any()
    return _typed_table(rows, checker.schema)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------
def load_cohort(path: str | os.PathLike, registry: Registry | None = None) -> Cohort:
    """Load and validate a cohort CSV (one row per lesion).

    Parameters
    ----------
    path : path-like
        A comma-separated file with a header row of known column names (``data/README.md``).
        ``patient_id`` and ``center`` are required; other columns may be absent (all missing).
    registry : Registry, optional
        The modalities whose columns are known; default those of the bundled parameter file.

    Returns
    -------
    Cohort
        The typed, validated lesions.

    Raises
    ------
    model.core.errors.InputError
        Listing every problem, each with its file, spreadsheet row (header = row 1), column,
        value and what was expected.
    """
    name = str(path)
    registry = registry if registry is not None else default_registry()
    checker = _Checker(Path(name).name, registry)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        checker.add(None, None, None, f"a readable file ({error.strerror or error})")
        checker.raise_if_any()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        checker.add(line, None, None, "UTF-8 text (save the spreadsheet as CSV UTF-8)")
        checker.raise_if_any()
    if "\x00" in text:
        checker.add(None, None, None, "a text CSV file (found binary content)")
        checker.raise_if_any()
    return Cohort(_validated(checker, _read_csv_rows(checker, text)), name, registry)


def _read_csv_rows(checker: _Checker, text: str) -> list[_Row]:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        checker.add(None, None, None, f"well-formed CSV ({error})")
        checker.raise_if_any()
    if not records or not any(cell.strip(SPACE) for cell in records[0]):
        checker.add(1, None, None, "a header row with column names")
        checker.raise_if_any()
    header = [cell.strip(SPACE) for cell in records[0]]
    if len(header) == 1 and header[0].count(";") > 0:
        checker.add(1, None, None, "comma-separated columns (the file looks semicolon-separated)")
        checker.raise_if_any()
    checker.check_columns(header, 1)
    rows: list[_Row] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip(SPACE) for cell in record):
            continue  # a fully blank line carries no lesion
        if len(record) != len(header):
            checker.add(
                number, None, None, f"{len(header)} cells as in the header (found {len(record)})"
            )
            continue
        known = checker.schema.by_name
        cells = {h: c.strip(SPACE) for h, c in zip(header, record, strict=True) if h in known}
        rows.append(checker.parse_row(number, cells))
    return rows


MAX_PATIENT_BYTES = 1_000_000


def load_patient(path: str | os.PathLike, registry: Registry | None = None) -> Cohort:
    """Load and validate a single-patient JSON file (one object, same fields as the CSV).

    Parameters
    ----------
    path : path-like
        A JSON object whose keys are cohort column names. ``null`` or ``""`` means missing;
        numbers may be JSON numbers or strings; yes/no items may be ``"yes"``/``"no"`` or
        ``true``/``false``.
    registry : Registry, optional
        The modalities whose fields are known; default those of the bundled parameter file.

    Returns
    -------
    Cohort
        One lesion.

    Raises
    ------
    model.core.errors.InputError
        Listing every problem, with the field name as the column.
    """
    name = Path(str(path)).name
    registry = registry if registry is not None else default_registry()
    checker = _Checker(name, registry)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PATIENT_BYTES + 1)
    except OSError as error:
        checker.add(None, None, None, f"a readable file ({error.strerror or error})")
        checker.raise_if_any()
    if len(raw) > MAX_PATIENT_BYTES:
        checker.add(
            None, None, None, f"one patient's JSON object, at most {MAX_PATIENT_BYTES:,} bytes"
        )
        checker.raise_if_any()
    try:
        document = strict_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        checker.add(None, None, None, f"valid UTF-8 JSON{where}: {error}")
        checker.raise_if_any()
    except JsonRuleError as error:
        checker.add(None, error.key, error.value, error.expected)
        checker.raise_if_any()
    return Cohort(
        _validated(checker, _records_rows(checker, [document], lambda i: None)), str(path), registry
    )


def cohort_from_records(
    records: pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]],
    source: str | None = None,
    registry: Registry | None = None,
) -> Cohort:
    """Validate in-memory lesions: a DataFrame, one dict, or an iterable of dicts.

    Parameters
    ----------
    records : DataFrame, dict or iterable of dict
        Column names as in the cohort format; ``None``/NaN/``""`` mean missing.
    source : str, optional
        Name used in error messages; defaults to ``"<DataFrame>"`` or ``"<dict>"``.
    registry : Registry, optional
        The modalities whose fields are known; default those of the bundled parameter file.

    Returns
    -------
    Cohort

    Raises
    ------
    model.core.errors.InputError
        Listing every problem; rows are DataFrame index labels (or list positions from 0).
    """
    registry = registry if registry is not None else default_registry()
    if isinstance(records, pd.DataFrame):
        label = source or "<DataFrame>"
        labels = list(records.index)
        dicts = records.to_dict(orient="records")
        checker = _Checker(label, registry)
        rows = _records_rows(checker, dicts, labels.__getitem__)
        return Cohort(_validated(checker, rows), label, registry)
    label = source or "<dict>"
    checker = _Checker(label, registry)
    if isinstance(records, Mapping):
        rows = _records_rows(checker, [records], lambda i: None)
    else:
        rows = _records_rows(checker, list(records), lambda i: i)
    return Cohort(_validated(checker, rows), label, registry)


def _records_rows(
    checker: _Checker, documents: list[Any], label: Callable[[int], Any]
) -> list[_Row]:
    rows: list[_Row] = []
    for i, document in enumerate(documents):
        if not isinstance(document, Mapping):
            checker.add(label(i), None, None, "an object with the cohort fields as keys")
            continue
        keys = [str(k) for k in document]
        checker.check_columns(keys, label(i))
        cells = {}
        for key, value in document.items():
            field = checker.schema.by_name.get(str(key))
            if field is None:
                continue
            text = _value_text(field, value)
            if text is None:
                expected = field.expected()
                if isinstance(value, JsonNumber):
                    expected += ", written as a JSON string in quotes"
                checker.add(label(i), field.name, str(value), expected)
                continue
            cells[field.name] = text
        rows.append(checker.parse_row(label(i), cells))
    return rows


def _value_text(field: Field, value: Any) -> str | None:
    """Turn an in-memory value into the cell text the CSV parser reads; None if unusable."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, JsonNumber):  # numbers only where a number is expected: no "12.0" ids
        return str(value) if field.kind == "number" else None
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no") if field.kind == "yesno" else None
    if isinstance(value, int | np.integer) and field.kind in {"id", "text"}:
        return str(int(value))  # an in-memory table's integer ids, as written
    if isinstance(value, int | float | np.integer | np.floating):
        if isinstance(value, float | np.floating) and math.isnan(value):
            return ""
        if field.kind != "number":
            return None
        try:
            return repr(float(value))
        except OverflowError:
            return None
    if isinstance(value, str):
        return value.strip(SPACE)
    return None


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------
def summarize(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """Counts that describe a cohort: lesions per center, modality coverage, labels.

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    dict of str to DataFrame
        ``"centers"`` (lesions, labelled lesions and lesions with each modality per center),
        ``"modalities"`` (numeric values and reads per modality kind, results per binary test),
        ``"labels"`` (reference diagnosis by source) and ``"follow_up"`` (lesions by number of
        follow-up scans).
    """
    t = cohort.table
    present = {m.name: _has_result(t, m) for m in cohort.registry}
    centers = (
        t.assign(labelled=t["reference_diagnosis"].notna(), **present)
        .groupby("center", observed=True)
        .agg(
            lesions=("patient_id", "size"),
            labelled=("labelled", "sum"),
            **{f"with_{name}": (name, "sum") for name in present},
        )
    )
    modality_rows = []
    for modality in cohort.registry:
        if isinstance(modality, BinaryTest):
            modality_rows.append(
                {
                    "modality": modality.name,
                    "kind": "",
                    "numeric": 0,
                    "read_only": int(present[modality.name].sum()),
                }
            )
            continue
        for kind in modality.kind_names:
            mask = _kind_mask(t, modality, kind)
            reads = t[modality.read_column].notna() if modality.has_reads else False
            modality_rows.append(
                {
                    "modality": modality.name,
                    "kind": kind,
                    "numeric": int((mask & t[modality.value_column].notna()).sum()),
                    "read_only": int((mask & reads).sum()),
                }
            )
    modalities = pd.DataFrame(modality_rows).set_index(["modality", "kind"])
    labels = pd.crosstab(
        t["reference_source"].astype("object").fillna("none"),
        t["reference_diagnosis"].astype("object").fillna("unknown"),
    ).rename_axis(index="source", columns="diagnosis")
    n_follow = sum(t[f"volume_fu{j}_ml"].notna().astype(int) for j in range(1, MAX_FOLLOW_UPS + 1))
    follow_up = (
        n_follow.value_counts().sort_index().rename("lesions").rename_axis("follow_up_scans")
    )
    return {
        "centers": centers,
        "modalities": modalities,
        "labels": labels,
        "follow_up": follow_up.to_frame(),
    }


def _has_result(t: pd.DataFrame, modality: Marker | BinaryTest) -> pd.Series:
    """Lesions with a result of the modality (a number or a read)."""
    if isinstance(modality, BinaryTest):
        return t[modality.column].notna()
    result = t[modality.value_column].notna()
    if modality.has_reads:
        result = result | t[modality.read_column].notna()
    return result


def _kind_mask(t: pd.DataFrame, marker: Marker, kind: str) -> pd.Series:
    """Lesions whose marker result is of this kind (every result, for a marker of one kind)."""
    if marker.kind_column is None:
        return pd.Series(True, index=t.index)
    return t[marker.kind_column] == kind


def modality_columns_markdown(registry: Registry) -> str:
    """The registered modalities' columns as the Markdown table ``data/README.md`` shows."""
    lines = ["| column | modality | type / unit | allowed values |", "|---|---|---|---|"]
    for modality in registry:
        for field in modality_fields(modality):
            if field.kind == "number":
                kind = getattr(modality, "unit", "")
                allowed = f"number > {field.low:g} and ≤ {field.high:g}"
            else:
                kind = "choice"
                allowed = " or ".join(f"`{c}`" for c in field.choices)
            lines.append(f"| `{field.name}` | {modality.label} | {kind} | {allowed} |")
    return "\n".join(lines)
