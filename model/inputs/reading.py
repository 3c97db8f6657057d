"""Reading lesions: a cohort CSV, a single-patient JSON file, or in-memory records.

Each entry point either returns a typed, validated :class:`~model.inputs.schema.Cohort` or raises
one :class:`~model.core.errors.InputError` that lists every problem with its file, row, column,
value and what was expected. Nothing is silently dropped or coerced: a blank cell means missing,
and anything that is not a valid value is reported (:mod:`model.inputs.validation`).

A CSV is read as a stream, :data:`BLOCK_ROWS` records at a time: :func:`cohort_blocks` yields each
block as soon as it is valid, so a million-lesion file is scored in bounded memory
(:func:`model.scoring.predict.predict_to_csv`); :func:`load_cohort` gathers the blocks.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from model.core.numbers import SPACE
from model.inputs.schema import Cohort, Field, default_registry
from model.inputs.strict_json import JsonNumber, JsonRuleError, strict_json
from model.inputs.validation import CellBlock, Validator
from model.modalities.registry import Registry

BLOCK_ROWS = 50_000
"""CSV records validated at a time: a block's cell texts take some tens of MB."""

MAX_PATIENT_BYTES = 1_000_000
"""Largest single-patient JSON file read (one lesion's fields take a few hundred bytes)."""

FIRST_RECORD_ROW = 2
"""The spreadsheet row of a CSV's first lesion (the header is row 1), and of the first record."""


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------
def load_cohort(path: str | os.PathLike, registry: Registry | None = None) -> Cohort:
    """Load and validate a cohort CSV (one row per lesion).

    Parameters
    ----------
    path : path-like
        A comma-separated file with a header row of known column names (``data/README.md``).
        ``patient_id`` and ``center`` are required; other columns may be absent (all missing).
        An Excel workbook (``.xlsx``) is read the same way
        (:func:`model.inputs.workbook.load_workbook`).
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
    blocks = list(cohort_blocks(path, registry))
    table = pd.concat([block.table for block in blocks], ignore_index=True)
    rows = np.concatenate([block.rows for block in blocks])
    return Cohort(table, str(path), blocks[0].registry, rows)


def cohort_blocks(
    path: str | os.PathLike, registry: Registry | None = None, block_rows: int = BLOCK_ROWS
) -> Iterator[Cohort]:
    """Read and validate a cohort CSV a block of rows at a time.

    Blocks are yielded while every row so far is valid. After the first problem the rest of the
    file is still read, to report every problem, but nothing more is yielded; at the end one
    :class:`~model.core.errors.InputError` lists them all. A consumer that writes results as
    blocks arrive must therefore discard them when the error comes (write atomically).

    Parameters
    ----------
    path : path-like
        The cohort CSV (see :func:`load_cohort`).
    registry : Registry, optional
        The modalities whose columns are known; default those of the bundled parameter file.
    block_rows : int, default :data:`BLOCK_ROWS`
        Records per block.

    Yields
    ------
    Cohort
        Consecutive valid lesions; ids are unique across blocks.

    Raises
    ------
    model.core.errors.InputError
    """
    from model.inputs.workbook import is_workbook, load_workbook

    registry = registry if registry is not None else default_registry()
    if is_workbook(path):
        yield load_workbook(path, registry)
        return
    validator = Validator(Path(str(path)).name, registry)
    for block in _csv_cell_blocks(validator, path, block_rows):
        table = validator.validate(block)
        if not validator.problems:
            yield Cohort(table, str(path), registry, block.rows)
    validator.finish()


def _csv_cell_blocks(validator: Validator, path, block_rows: int) -> Iterator[CellBlock]:
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as error:
        validator.fail_now(None, None, None, f"a readable file ({error.strerror or error})")
    with handle:
        try:
            yield from _record_blocks(
                validator, csv.reader(_text_lines(validator, handle)), block_rows
            )
        except UnicodeDecodeError:
            line = _first_undecodable_line(path)
            validator.fail_now(line, None, None, "UTF-8 text (save the spreadsheet as CSV UTF-8)")
        except csv.Error as error:
            validator.fail_now(None, None, None, f"well-formed CSV ({error})")


def _text_lines(validator: Validator, handle: TextIO) -> Iterator[str]:
    for line in handle:
        if "\x00" in line:
            validator.fail_now(None, None, None, "a text CSV file (found binary content)")
        yield line


def _first_undecodable_line(path) -> int:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _record_blocks(validator: Validator, reader, block_rows: int) -> Iterator[CellBlock]:
    header = [cell.strip(SPACE) for cell in next(reader, [])]
    if not any(header):
        validator.fail_now(1, None, None, "a header row with column names")
    if len(header) == 1 and ";" in header[0]:
        validator.fail_now(
            1, None, None, "comma-separated columns (the file looks semicolon-separated)"
        )
    validator.check_columns(header, 1)
    known = {name: i for i, name in enumerate(header) if name in validator.schema.by_name}
    width = len(header)
    numbers: list[int] = []
    records: list[list[str]] = []
    for number, record in enumerate(reader, start=2):
        line = "".join(record)
        if not line.strip(SPACE):
            continue  # a fully blank line carries no lesion
        if len(record) != width:
            validator.add(
                number, None, None, f"{width} cells as in the header (found {len(record)})"
            )
            continue
        if " " in line or "\t" in line:
            record = [cell.strip(SPACE) for cell in record]
        numbers.append(number)
        records.append(record)
        if len(records) == block_rows:
            yield _cell_block(numbers, records, known)
            numbers, records = [], []
    if records:
        yield _cell_block(numbers, records, known)


def _cell_block(numbers: list[int], records: list[list[str]], known: dict[str, int]) -> CellBlock:
    """The known columns of records of the header's width, cells already trimmed."""
    grid = np.array(records, dtype=object)
    rows = np.array(numbers, dtype=object)
    return CellBlock(rows, {name: grid[:, i] for name, i in known.items()})


# --------------------------------------------------------------------------------------------
# JSON and in-memory records
# --------------------------------------------------------------------------------------------
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
    registry = registry if registry is not None else default_registry()
    validator = Validator(Path(str(path)).name, registry)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PATIENT_BYTES + 1)
    except OSError as error:
        validator.fail_now(None, None, None, f"a readable file ({error.strerror or error})")
    if len(raw) > MAX_PATIENT_BYTES:
        validator.fail_now(
            None, None, None, f"one patient's JSON object, at most {MAX_PATIENT_BYTES:,} bytes"
        )
    try:
        document = strict_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        validator.fail_now(None, None, None, f"valid UTF-8 JSON{where}: {error}")
    except JsonRuleError as error:
        validator.fail_now(None, error.key, error.value, error.expected)
    return _validated_documents(validator, [document], [None], str(path))


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
        Listing every problem. Rows are numbered as in the CSV the records would make (the
        header is row 1): the first record, or the DataFrame's first row whatever its index
        label, is row 2. A single dict has no row.
    """
    registry = registry if registry is not None else default_registry()
    if isinstance(records, pd.DataFrame):
        label = source or "<DataFrame>"
        validator = Validator(label, registry)
        return _validated_frame(validator, records, label)
    label = source or "<dict>"
    validator = Validator(label, registry)
    if isinstance(records, Mapping):
        return _validated_documents(validator, [records], [None], label)
    documents = list(records)
    return _validated_documents(validator, documents, _csv_rows(len(documents)).tolist(), label)


def _csv_rows(count: int) -> np.ndarray:
    """The spreadsheet rows of ``count`` in-memory records: 2, 3, ... (the header is row 1).

    In-memory records are numbered like a file's so that a message says the same row whether the
    lesions came from a CSV, from a spreadsheet read into a DataFrame, or from a list of dicts: a
    DataFrame's index labels are not used (after filtering they no longer count rows, and label 0
    would read as a row before the header).
    """
    return np.array(range(FIRST_RECORD_ROW, FIRST_RECORD_ROW + count), dtype=object)


def _validated_frame(validator: Validator, frame: pd.DataFrame, source: str) -> Cohort:
    validator.check_columns([str(c) for c in frame.columns], None)
    columns = {str(column): values.to_numpy(object) for column, values in frame.items()}
    return validated_columns(validator, columns, _csv_rows(len(frame)), source)


def validated_columns(
    validator: Validator, columns: Mapping[str, np.ndarray], rows: np.ndarray, source: str
) -> Cohort:
    """Validate typed values by column (as a DataFrame or a workbook holds them).

    Each value is read by :func:`_value_text`'s rules: numbers only where a number (or an integer
    id) is expected, booleans only for yes/no fields, text as written, and anything else (a date,
    say) reported with its row and column. Columns the schema does not know are skipped (the
    caller has reported them).
    """
    texts = {}
    for column, values in columns.items():
        field = validator.schema.by_name.get(column)
        if field is not None:
            texts[field.name] = _field_texts(validator, field, values, rows)
    return _validated_block(validator, CellBlock(rows, texts), source)


def _validated_documents(
    validator: Validator, documents: list[Any], labels: list[Any], source: str
) -> Cohort:
    rows, kept = [], []
    for document, label in zip(documents, labels, strict=True):
        if isinstance(document, Mapping):
            validator.check_columns([str(k) for k in document], label)
            rows.append(label)
            kept.append(document)
        else:
            validator.add(label, None, None, "an object with the cohort fields as keys")
    rows_array = np.array(rows, dtype=object)
    texts = {}
    for field in validator.schema.fields:
        values = np.empty(len(kept), dtype=object)
        for i, document in enumerate(kept):
            values[i] = document.get(field.name, _ABSENT)
        texts[field.name] = _field_texts(validator, field, values, rows_array)
    return _validated_block(validator, CellBlock(rows_array, texts), source)


def _validated_block(validator: Validator, block: CellBlock, source: str) -> Cohort:
    table = validator.validate(block)
    validator.finish()
    return Cohort(table, source, validator.schema.registry, block.rows)


_ABSENT = object()
"""A document without the field (as opposed to one whose value is ``null``)."""


def _field_texts(validator: Validator, field: Field, values: np.ndarray, rows) -> np.ndarray:
    """Cell texts of one field's in-memory values; unusable values are reported (then absent)."""
    texts = np.full(len(values), None, dtype=object)
    for i, value in enumerate(values):
        if value is _ABSENT:
            continue
        text = _value_text(field, value)
        if text is None:
            expected = field.expected()
            if isinstance(value, JsonNumber):
                expected += ", written as a JSON string in quotes"
            if isinstance(value, datetime.date | datetime.time):
                expected += (
                    " (the spreadsheet holds a date or time here: re-enter the value in a cell "
                    "formatted as a number or as text)"
                )
            validator.add(rows[i], field.name, str(value), expected)
        texts[i] = text
    return texts


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
