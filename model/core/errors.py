"""The one error type for bad input: every problem, each with its place and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    file : str
        The file's name as the user gave it.
    row : int or None
        Spreadsheet row number (the header is row 1, the first lesion row 2); ``None`` for
        problems that concern the whole file or a JSON document.
    column : str or None
        Column, field or entry name; ``None`` when the problem concerns a whole row or file.
    value : str or None
        The offending value as read, or ``None``.
    expected : str
        What was expected instead, in words.
    cell : str or None, default None
        The spreadsheet cell (``"B12"``) where the input is a workbook; then ``file`` names the
        sheet too, and the cell replaces the row in the message.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    cell: str | None = None

    def __str__(self) -> str:
        place = [self.file]
        if self.cell is not None:
            place.append(f"cell {self.cell}")
        elif self.row is not None:
            place.append(f"row {self.row}")
        if self.column is not None:
            place.append(f"column '{self.column}'")
        got = "" if self.value is None else f"got {self.value!r}; "
        return f"{', '.join(place)}: {got}expected {self.expected}"


class InputError(ValueError):
    """Raised when an input file fails validation; lists every problem found.

    Parameters
    ----------
    problems : iterable of Problem
        All problems found, in file order. Must not be empty.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        files = sorted({p.file for p in self.problems})
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {', '.join(files)}:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))
