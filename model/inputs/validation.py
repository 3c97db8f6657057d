"""Validation at the edge, a column at a time: cell texts in, typed columns and every problem out.

The readers (:mod:`model.inputs.reading`) turn a block of CSV records, a JSON document or in-memory
records into :class:`CellBlock`: one array of stripped cell texts per column (``None`` where a
record has no such field) and the row label of each lesion. A :class:`Validator` parses each column
with vectorised string operations, applies the rules that join columns (a read needs its cutoff, a
follow-up scan needs the scan before it, ...) as boolean masks, and records every problem with its
file, row, column, value and what was expected. Only failing cells go through per-cell Python, so a
million rows validate in seconds, and blocks can be validated one after another in bounded memory:
the validator remembers only the patient ids it has seen, to report a repeated one, and the
patient whose lesions it is reading.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from model.core.errors import InputError, Problem
from model.core.numbers import MAX_NUMBER_LENGTH, NUMBER
from model.inputs.schema import (
    PATIENT_COLUMNS,
    Field,
    Schema,
    default_registry,
    follow_up_columns,
    modality_fields,
    schema_for,
    text_column,
)
from model.inputs.vocabulary import COLUMN_SYNONYMS, MAX_FOLLOW_UPS, MAX_LESIONS_PER_PATIENT
from model.modalities.registry import Registry
from model.modalities.spec import Marker


@dataclass(frozen=True)
class CellBlock:
    """Cell texts of consecutive lesions, column by column.

    Attributes
    ----------
    rows : numpy.ndarray
        One label per lesion, used in error messages: its spreadsheet row (the header is row 1,
        the first lesion row 2) in a CSV, or in the CSV that in-memory records would make (a
        DataFrame's rows and a list's records are numbered from 2 in order), or ``None`` for a
        single document.
    texts : dict of str to numpy.ndarray
        For each known column present in the input, an object array of the cells as written,
        spaces and tabs trimmed: ``""`` for a blank cell, ``None`` where the record has no such
        field (a JSON document without the key, or a value already reported as unusable).
    """

    rows: np.ndarray
    texts: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.rows)


class Validator:
    """Collects the problems of one input, block by block, and types each block's columns.

    Parameters
    ----------
    file : str
        The input's name, as problems report it.
    registry : Registry
        The modalities whose columns are known.
    """

    def __init__(self, file: str, registry: Registry):
        self.file = file
        self.schema: Schema = schema_for(registry)
        self.problems: list[Problem] = []
        self.lesions = 0
        self._first_row: dict[str, Any] = {}  # patient id: its first row
        self._patient: _Patient | None = None
        self._reported: dict[str, set[int]] = {}  # column: positions in the block being read

    def add(self, row: Any, column: str | None, value: str | None, expected: str) -> None:
        """Record one problem (a NumPy row label is stored as the Python value it holds)."""
        row = row.item() if isinstance(row, np.generic) else row
        self.problems.append(Problem(self.file, row, column, value, expected))

    def fail_now(self, row: Any, column: str | None, value: str | None, expected: str) -> None:
        """Record a problem that stops reading (the file cannot be read further) and raise."""
        self.add(row, column, value, expected)
        self.raise_if_any()

    def check_columns(self, names: Iterable[str], row: Any) -> None:
        """Every column known and present once, and the required ones present."""
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

    def validate(self, block: CellBlock) -> pd.DataFrame:
        """The block's lesions as a typed table, every problem in them recorded.

        Parameters
        ----------
        block : CellBlock

        Returns
        -------
        pandas.DataFrame
            The schema's columns in order: numbers as float64 (NaN when missing), choices as
            categoricals, yes/no items as nullable booleans, ids and names as objects. Cells with
            a problem are missing in it; call :meth:`raise_if_any` before trusting it.
        """
        n = len(block)
        absent = np.full(n, None, dtype=object)
        self._reported = {}
        columns = {
            field.name: self._column(field, block.texts.get(field.name, absent), block.rows)
            for field in self.schema.fields
        }
        self._check_rules(columns, block.rows)
        self._check_patients(columns, block.rows)
        self.lesions += n
        return pd.DataFrame(columns)

    def raise_if_any(self) -> None:
        """Raise one :class:`InputError` listing every problem, in reading order, if any."""
        if self.problems:
            columns = self.schema.columns
            raise InputError(sorted(self.problems, key=lambda p: _reading_order(p, columns)))

    def finish(self) -> None:
        """Check the whole input (at least one lesion) and raise if anything was wrong."""
        if self.lesions == 0 and not self.problems:
            self.add(None, None, None, "at least one lesion row")
        self.raise_if_any()

    # ----------------------------------------------------------------------------------------
    # One column
    # ----------------------------------------------------------------------------------------
    def _column(self, field: Field, texts: np.ndarray, rows: np.ndarray):
        blank = texts == ""
        written = np.flatnonzero(np.not_equal(texts, None) & ~blank)
        if field.missing_words and len(written):
            codes, spellings = pd.factorize(texts[written])
            said = np.array([text.lower() not in field.missing_words for text in spellings], bool)
            written = written[said[codes]]
        if field.required:
            for i in np.flatnonzero(blank):
                expected = f"a value (the column is required: {field.description})"
                self._report(rows, i, field.name, "", expected)
        if field.kind == "number":
            return self._numbers(field, texts, written, rows)
        if field.kind in {"choice", "yesno"}:
            return self._choices(field, texts, written, rows)
        values = np.full(len(texts), None, dtype=object)
        values[written] = texts[written]
        return text_column(values)

    def _numbers(self, field: Field, texts: np.ndarray, written: np.ndarray, rows) -> np.ndarray:
        values = np.full(len(texts), np.nan)
        if not len(written):
            return values
        ok = np.fromiter(
            (
                len(t) <= MAX_NUMBER_LENGTH and NUMBER.fullmatch(t) is not None
                for t in texts[written]
            ),
            bool,
            len(written),
        )
        number = np.full(len(written), np.nan)
        with np.errstate(over="ignore"):
            number[ok] = texts[written[ok]].astype(float)
        above = number >= field.low if field.low_inclusive else number > field.low
        good = ok & np.isfinite(number) & above & (number <= field.high)
        values[written[good]] = number[good]
        for i in written[~good]:
            self._report(rows, i, field.name, texts[i], _number_hint(field, texts[i]))
        return values

    def _choices(self, field: Field, texts: np.ndarray, written: np.ndarray, rows):
        codes = np.full(len(texts), -1, dtype=np.int8)  # index into field.choices; -1 missing
        if len(written):
            index = {choice.lower(): i for i, choice in enumerate(field.choices)}
            spelled, spellings = pd.factorize(texts[written])
            found = np.array([index.get(text.lower(), -1) for text in spellings], dtype=np.int8)
            codes[written] = found[spelled]
            for i in written[found[spelled] < 0]:
                self._report(rows, i, field.name, texts[i], field.expected())
        if field.kind == "yesno":
            return pd.arrays.BooleanArray(codes == field.choices.index("yes"), codes < 0)
        return pd.Categorical.from_codes(codes, dtype=_categories(field.choices))

    # ----------------------------------------------------------------------------------------
    # Rules that join columns
    # ----------------------------------------------------------------------------------------
    def _report(self, rows: np.ndarray, i: int, column: str, text: str, expected: str) -> None:
        """A cell of this block that could not be read: reported, and spared the rules below."""
        self._reported.setdefault(column, set()).add(i)
        self.add(rows[i], column, text, expected)

    def _flag(self, mask: np.ndarray, rows, column: str, value: Any, expected: str) -> None:
        """Add one problem for each lesion where ``mask`` holds (``value`` a str or an array).

        A cell already reported as unreadable is not flagged again: its one problem says what
        was found there.
        """
        reported = self._reported.get(column, set())
        for i in np.flatnonzero(mask):
            if i in reported:
                continue
            shown = value if isinstance(value, str) else str(value[i])
            self.add(rows[i], column, shown, expected)

    def _check_rules(self, columns: dict[str, Any], rows: np.ndarray) -> None:
        for marker in self.schema.registry.markers:
            self._check_marker(columns, rows, marker)
        self._check_follow_ups(columns, rows)
        diagnosis = _present(columns["reference_diagnosis"])
        source = _present(columns["reference_source"])
        self._flag(
            diagnosis & ~source,
            rows,
            "reference_source",
            "",
            "'histopathology', 'follow_up' or 'follow_up_scans' for a lesion with a reference "
            "diagnosis",
        )
        from_scans = source & (
            np.asarray(columns["reference_source"], dtype=object) == "follow_up_scans"
        )
        self._flag(
            from_scans & ~_present(columns["volume_fu1_ml"]),
            rows,
            "reference_source",
            columns["reference_source"],
            "'follow_up' or 'histopathology': a label made from the recorded follow-up scans "
            "('follow_up_scans') needs at least one follow-up scan (volume_fu1_ml)",
        )
        self._flag(
            source & ~diagnosis,
            rows,
            "reference_diagnosis",
            "",
            "'recurrence', 'necrosis' or 'mixed' when a reference source is given",
        )
        self._check_mixed(columns, rows)

    def _check_mixed(self, columns: dict[str, Any], rows: np.ndarray) -> None:
        """A mixed diagnosis comes from histopathology; a tumour share belongs to one."""
        diagnoses = np.asarray(columns["reference_diagnosis"], dtype=object)
        mixed = diagnoses == "mixed"
        sources = np.asarray(columns["reference_source"], dtype=object)
        self._flag(
            mixed & _present(columns["reference_source"]) & (sources != "histopathology"),
            rows,
            "reference_source",
            sources,
            "'histopathology' for a 'mixed' diagnosis: only tissue shows tumour and treatment "
            "effect together",
        )
        shares = np.asarray(columns["tumor_share_percent"], dtype=float)
        self._flag(
            _present(columns["tumor_share_percent"]) & ~mixed,
            rows,
            "reference_diagnosis",
            diagnoses,
            "'mixed' when 'tumor_share_percent' is given (the share of tumour in a mixed specimen)",
        )
        self._flag(
            mixed & (shares >= 100),
            rows,
            "tumor_share_percent",
            np.array([f"{s:g}" for s in shares]),
            "a share below 100 for a 'mixed' specimen (all tumour is 'recurrence')",
        )

    def _check_marker(self, columns: dict[str, Any], rows: np.ndarray, marker: Marker) -> None:
        value = _present(columns[marker.value_column])
        read = cutoff = np.zeros(len(rows), bool)
        if marker.has_reads:
            reads = columns[marker.read_column]
            read = _present(reads)
            cutoff = _present(columns[marker.read_cutoff_column])
            read_col, cutoff_col = marker.read_column, marker.read_cutoff_column
            self._flag(
                value & read,
                rows,
                read_col,
                np.asarray(reads, dtype=object),
                f"blank when '{marker.value_column}' is given (give the number or the read, "
                "not both)",
            )
            self._flag(read & ~cutoff, rows, cutoff_col, "", f"the cutoff that '{read_col}' used")
            self._flag(
                cutoff & ~read, rows, read_col, "", "'positive' or 'negative' (a cutoff is given)"
            )
        for j, column in enumerate(follow_up_columns(marker), start=1):
            later = _present(columns[column])
            self._flag(
                later & ~value,
                rows,
                marker.value_column,
                "",
                f"a number: '{column}' is compared with it (a read has no number to compare)",
            )
            self._flag(
                later & ~_present(columns[f"volume_fu{j}_ml"]),
                rows,
                f"volume_fu{j}_ml",
                "",
                f"a value: '{column}' was measured at follow-up scan {j}",
            )
        if marker.kind_column is not None:
            kind = _present(columns[marker.kind_column])
            choices = " or ".join(repr(c) for c in marker.kind_names)
            self._flag(
                (value | read) & ~kind,
                rows,
                marker.kind_column,
                "",
                f"{choices} for the {marker.label} result in this row",
            )

    def _check_follow_ups(self, columns: dict[str, Any], rows: np.ndarray) -> None:
        previous = _present(columns["volume_baseline_ml"])
        previous_name = "volume_baseline_ml"
        for column in ("volume_prior_ml", "flair_change"):
            self._flag(
                _present(columns[column]) & ~previous,
                rows,
                previous_name,
                "",
                f"a value: '{column}' describes the scan that raised the question",
            )
        for j in range(1, MAX_FOLLOW_UPS + 1):
            volume_col, interval_col = f"volume_fu{j}_ml", f"interval_fu{j}_weeks"
            volume = _present(columns[volume_col])
            interval = _present(columns[interval_col])
            for column in (f"flair_change_fu{j}", f"steroid_increase_fu{j}"):
                self._flag(
                    _present(columns[column]) & ~volume,
                    rows,
                    volume_col,
                    "",
                    f"a value: '{column}' describes follow-up scan {j}",
                )
            self._flag(
                volume & ~interval,
                rows,
                interval_col,
                "",
                f"the interval in weeks for '{volume_col}'",
            )
            self._flag(
                interval & ~volume,
                rows,
                volume_col,
                "",
                f"the volume measured after '{interval_col}'",
            )
            self._flag(
                volume & ~previous,
                rows,
                previous_name,
                "",
                f"a value: '{volume_col}' needs the scan before it",
            )
            previous, previous_name = volume, volume_col

    def _check_patients(self, columns: dict[str, Any], rows: np.ndarray) -> None:
        """Check that a patient's lesions are consecutive and consistent.

        Each has its own lesion_id when there are several, at most
        :data:`MAX_LESIONS_PER_PATIENT`, and the patient's columns are the same on every one of
        them (symptoms and history are counted once per patient).
        """
        first = self._first_row
        id_array = np.asarray(columns["patient_id"], dtype=object)
        ids = id_array.tolist()
        lesion_ids = np.asarray(columns["lesion_id"], dtype=object).tolist()
        # a patient's columns are compared only on rows whose patient has another row in the
        # block, or at the block's ends (a patient may run on from or into another block)
        compared = pd.Series(id_array).duplicated(keep=False).to_numpy(copy=True)
        if len(ids):
            compared[[0, -1]] = True
        needed = np.flatnonzero(compared)
        shared = [_comparable(columns[name], needed) for name in PATIENT_COLUMNS]
        for i, (pid, row) in enumerate(zip(ids, rows.tolist(), strict=True)):
            if pid is None:
                continue
            values = tuple(column[i] for column in shared) if compared[i] else None
            current = self._patient
            if current is None or current.id != pid:
                if pid in first:
                    expected = (
                        f"a patient id not used before (already used in row {first[pid]}; a "
                        "patient's lesions go on consecutive rows)"
                    )
                    self.add(row, "patient_id", pid, expected)
                    continue
                first[pid] = row
                self._patient = _Patient(pid, row, lesion_ids[i], values, {lesion_ids[i]}, 1)
                continue
            current.count += 1
            several = (
                f"patient '{pid}' has several lesions (already used in row {current.row}), so "
                "each needs its own lesion_id"
            )
            if lesion_ids[i] is None:
                self.add(row, "lesion_id", "", f"a lesion_id: {several}")
            elif lesion_ids[i] in current.lesion_ids:
                self.add(row, "lesion_id", lesion_ids[i], f"a lesion_id not used before: {several}")
            if current.count == 2 and current.first_lesion_id is None:
                self.add(current.row, "lesion_id", "", f"a lesion_id: {several}")
            current.lesion_ids.add(lesion_ids[i])
            if current.count == MAX_LESIONS_PER_PATIENT + 1:
                self.add(
                    row,
                    "patient_id",
                    pid,
                    f"at most {MAX_LESIONS_PER_PATIENT} lesions per patient (the model sums over "
                    "every combination of their classes)",
                )
            for name, mine, theirs in zip(PATIENT_COLUMNS, values, current.values, strict=True):
                if mine != theirs and i not in self._reported.get(name, set()):
                    shown = "blank" if theirs is None else repr(_shown(theirs))
                    self.add(
                        row,
                        name,
                        "" if mine is None else str(_shown(mine)),
                        f"{shown} as on row {current.row}: '{name}' belongs to the patient, so "
                        f"every lesion of patient '{pid}' repeats it",
                    )


@dataclass
class _Patient:
    """The patient whose lesions are being read (a patient's rows are consecutive)."""

    id: str
    row: Any
    first_lesion_id: str | None
    values: tuple
    lesion_ids: set
    count: int


def _comparable(values: Any, index: np.ndarray) -> dict[int, Any]:
    """A typed column's values at ``index``, by position, as plain Python values.

    ``None`` where missing: the form in which a patient's columns are compared across its rows.
    """
    if isinstance(values, pd.Categorical):
        codes = values.codes[index]
        plain = [None if c < 0 else values.categories[c] for c in codes]
    elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
        plain = [None if v != v else float(v) for v in values[index].tolist()]
    else:
        plain = [
            None if v is pd.NA or v is None else v.item() if isinstance(v, np.generic) else v
            for v in list(values[index])
        ]
    return dict(zip(index.tolist(), plain, strict=True))


def _shown(value: Any) -> Any:
    """A typed value as the file spells it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, "g")
    return value


def _present(values: Any) -> np.ndarray:
    """Which lesions have a value in a typed column (as :meth:`Validator._column` returns it)."""
    if isinstance(values, pd.Categorical):
        return values.codes >= 0
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return ~np.isnan(values)
    return ~np.asarray(pd.isna(values), dtype=bool)


@lru_cache(maxsize=64)
def _categories(choices: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(choices))


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
    if text.endswith("%") and field.name.endswith("_percent"):
        return expected + " (the number without its sign: 50, not 50%)"
    if text.endswith("%"):
        return expected + " (give a ratio, not a percentage)"
    return expected


def _reading_order(problem: Problem, columns: tuple[str, ...]) -> tuple[int, int, int]:
    """File-level problems first, then by row and by column position in the format."""
    row = problem.row if isinstance(problem.row, int) else -1
    column = columns.index(problem.column) if problem.column in columns else -1
    return (problem.row is not None, row, column)


def _unknown_column_hint(name: str, schema: Schema) -> str:
    absent = _modality_not_in_use(name, schema)
    if absent is not None:
        return (
            f"a column of the modalities in use (it belongs to {absent.label}, which the "
            "parameter file in use, a fit's when scoring, does not declare: leave the column "
            "out or use a fit that has it)"
        )
    synonym = COLUMN_SYNONYMS.get(name.strip().lower())
    close = (
        [synonym]
        if synonym in schema.columns
        else difflib.get_close_matches(name.lower(), schema.columns, n=1, cutoff=0.6)
    )
    if close:
        return f"a known column (unknown column; did you mean '{close[0]}'?)"
    return "a known column (unknown column; see data/README.md for the format)"


def _modality_not_in_use(name: str, schema: Schema):
    """The bundled registry's modality a column belongs to, when the schema's registry lacks it."""
    for modality in default_registry():
        if modality.name not in schema.registry.names and any(
            f.name == name for f in modality_fields(modality)
        ):
            return modality
    return None
