"""Cohort and patient files from Excel workbooks (``.xlsx``), read as strictly as a CSV.

A research group's data usually live in a spreadsheet. The workbook's sheet is read with
openpyxl, cell by cell as the workbook stores it (no pandas type guessing), and every value is
judged by the same rules as a value in memory (:func:`model.inputs.reading.validated_columns`):
a number only where a number (or an integer id) is expected, TRUE/FALSE only for yes/no fields,
text as written, and a date, a time or a number in a text column reported rather than turned into
something. A formula is read as the value the spreadsheet last computed and saved.

Every problem names the workbook, the sheet and the cell (``B12``) with its column name, the
value found and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from model.core.errors import InputError, Problem
from model.inputs.schema import Cohort
from model.inputs.validation import Validator
from model.modalities.registry import Registry

WORKBOOK_SUFFIXES = (".xlsx",)

SHEET_NAMES = ("lesions", "cohort", "patients")
"""In a workbook of several sheets, the one read is the sheet of one of these names (any case)."""


def is_workbook(path: Any) -> bool:
    """Whether a path names an Excel workbook (by its suffix)."""
    return isinstance(path, str | os.PathLike) and Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def load_workbook(path: str | os.PathLike, registry: Registry) -> Cohort:
    """Load and validate the lesions of a workbook's sheet (one row per lesion).

    The sheet is the workbook's only one, or else the one named ``lesions``, ``cohort`` or
    ``patients``. Its first row holds the column names of the cohort format; a row whose cells
    are all empty is skipped, as a blank line of a CSV.

    Raises
    ------
    model.core.errors.InputError
        Every problem, each with the sheet and cell: an unreadable file, no usable sheet, a
        header that is not text, a value under no column name, and everything the cohort
        format refuses.
    """
    name = Path(str(path)).name
    sheet, rows = _sheet_rows(path, name)
    label = f"{name}, sheet '{sheet}'"
    from model.inputs.reading import validated_columns

    validator = Validator(label, registry)
    positions: dict[str, int] = {}  # each column's place, for the cell of a problem
    try:
        header, numbers, grid = _table(validator, rows)
        positions = {column: i for i, column in enumerate(header)}
        validator.check_columns(header, 1)
        columns = {column: grid[:, i] for i, column in enumerate(header)}
        return validated_columns(validator, columns, np.array(numbers, dtype=object), str(path))
    except InputError as error:
        raise InputError([_with_cell(p, positions) for p in error.problems]) from None


def _sheet_rows(path, name: str) -> tuple[str, Iterable[tuple]]:
    """The sheet to read and its rows of cell values.

    The rows are read whole, so that a damaged sheet is found here, as an unreadable workbook.
    """
    from xml.etree.ElementTree import ParseError

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    damaged = (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError,
               IndexError, TypeError, ParseError)  # fmt: skip
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        title, rows = _chosen_sheet(book, name)
        return title, list(rows)
    except InputError:
        raise
    except damaged as error:
        raise InputError(
            [Problem(name, None, None, None, f"a readable .xlsx workbook ({error})")]
        ) from None


def _chosen_sheet(book, name: str) -> tuple[str, Iterable[tuple]]:
    """The workbook's only sheet, or its one sheet named as :data:`SHEET_NAMES` says."""
    sheets = book.worksheets
    if len(sheets) > 1:
        named = [s for s in sheets if s.title.strip().lower() in SHEET_NAMES]
        if len(named) != 1:
            titles = ", ".join(repr(s.title) for s in sheets)
            raise InputError(
                [
                    Problem(
                        name,
                        None,
                        None,
                        titles,
                        "one sheet, or exactly one sheet named "
                        + ", ".join(repr(n) for n in SHEET_NAMES)
                        + " among several",
                    )
                ]
            )
        sheets = named
    return sheets[0].title, sheets[0].iter_rows(values_only=True)


def _table(validator: Validator, rows: Iterable[tuple]) -> tuple[list[str], list[int], np.ndarray]:
    """The header, the sheet row of each lesion, and the cell values under the header (n, k)."""
    rows = iter(rows)
    first = list(next(rows, ()))
    while first and first[-1] is None:  # empty cells right of the last column name
        first.pop()
    header = []
    for i, value in enumerate(first):
        if not isinstance(value, str) or not value.strip():
            shown = None if value is None else str(value)
            _add_at(validator, 1, i, shown, "a column name (text)")
        header.append(str(value).strip() if value is not None else "")
    if not header:
        validator.fail_now(1, None, None, "a header row with column names")
    numbers, records = [], []
    for number, row in enumerate(rows, start=2):
        values = [None if _blank(v) else v for v in row]
        if all(v is None for v in values):
            continue  # an empty row carries no lesion
        for i in range(len(header), len(values)):
            if values[i] is not None:
                _add_at(validator, number, i, str(values[i]), "a value under a column name")
        values = (values + [None] * len(header))[: len(header)]
        numbers.append(number)
        records.append(values)
    grid = np.empty((len(records), len(header)), dtype=object)
    if records:
        grid[:] = records
    return header, numbers, grid


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _add_at(validator: Validator, row: int, index: int, value: str | None, expected: str) -> None:
    """Record a problem of one cell that belongs to no column (a header cell, a stray value)."""
    validator.problems.append(
        Problem(validator.file, row, None, value, expected, _cell(index, row))
    )


def _cell(index: int, row: int) -> str:
    """The cell address (``B12``) of a 0-based column index and a sheet row."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(index + 1)}{row}"


def _with_cell(problem: Problem, positions: dict[str, int]) -> Problem:
    """The problem with its cell address, where it concerns one cell of a known column."""
    if problem.cell is not None or problem.row is None or problem.column not in positions:
        return problem
    return dataclasses.replace(problem, cell=_cell(positions[problem.column], problem.row))
