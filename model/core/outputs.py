"""Text a user typed, made safe for where it is written: CSV cells, JSON and the terminal.

Patient ids, center names and column names travel from input files into every table the
package writes. In a CSV, a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by spreadsheet programs (``=HYPERLINK(...)``, ``+cmd|...``); such
text cells get a leading apostrophe, the usual rule, and numbers stay numbers. JSON output is
strict (``null`` for a missing number, never a bare ``NaN``). The terminal's rules are in
:mod:`model.core.console`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from model.core.files import atomic_write_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula.

    Parameters
    ----------
    text : str
        One cell's text.

    Returns
    -------
    str
        ``text``, or ``"'" + text`` when it starts with ``=``, ``+``, ``-``, ``@``, tab or CR.

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(1)"), neutralise_formula("C01")
    ("'=HYPERLINK(1)", 'C01')
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _safe_label(value: Any) -> Any:
    return neutralise_formula(value) if isinstance(value, str) else value


def csv_text(frame: pd.DataFrame, index: bool = False, header: bool = True) -> str:
    """A table as RFC 4180 CSV with every text cell, column name and index label neutralised.

    Parameters
    ----------
    frame : DataFrame
    index : bool, default False
        Whether to write the index.
    header : bool, default True
        Whether to write the column names (not for a table's later blocks).

    Returns
    -------
    str
    """
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(_safe_label).astype(object)
    safe.columns = safe.columns.map(_safe_label)
    if index:
        safe.index = safe.index.map(_safe_label)
    # CRLF rows, as RFC 4180 has them: the csv module then quotes any cell holding a bare CR,
    # which with LF rows it would write unquoted and so split the row
    return safe.to_csv(index=index, header=header, lineterminator="\r\n")


def write_csv(path: str | os.PathLike, frame: pd.DataFrame, index: bool = False) -> Path:
    """Write a table as CSV, atomically, with text cells neutralised (see :func:`csv_text`)."""
    return atomic_write_text(path, csv_text(frame, index=index))


def strict_json_value(value: Any) -> Any:
    """The value with every non-finite float (NaN, infinities) replaced by ``None``.

    Parameters
    ----------
    value : object
        Dicts, lists, tuples, numbers, strings and NumPy scalars, nested.

    Returns
    -------
    object
        Serialisable by ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(value, dict):
        return {str(k): strict_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # NumPy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def json_text(document: Any, indent: int | None = 1) -> str:
    """Strict JSON: missing numbers are ``null``, never ``NaN``.

    Parameters
    ----------
    document : object
    indent : int or None, default 1

    Returns
    -------
    str
    """
    return json.dumps(strict_json_value(document), indent=indent, allow_nan=False)
