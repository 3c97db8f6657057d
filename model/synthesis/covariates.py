"""Study-level covariates of a meta-regression, read from the 2x2-table file and checked.

A covariate is **categorical** (its levels are the texts found in the column, the first in sorted
order being the reference level, as an R factor) or **numeric** (a plain decimal number in every
row, such as each study's rCBV cutoff). The caller says which; a column is never guessed to be
numeric, so a categorical coded ``1``/``2`` stays categorical.

:class:`StudyDesign` holds the design matrix without its intercept column: one 0/1 column per
non-reference level of each categorical covariate and one column per numeric covariate, named as
``type=SAQ`` or ``cutoff``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from model.core.errors import InputError, Problem
from model.core.numbers import parse_number
from model.synthesis.io import missing_columns, read_csv_records


@dataclass(frozen=True)
class Covariate:
    """One study-level covariate.

    Parameters
    ----------
    name : str
        Its column.
    values : tuple
        Per study: the level (str) of a categorical covariate, or the number (float).
    levels : tuple of str or None
        Sorted levels of a categorical covariate (the first is the reference); None if numeric.
    """

    name: str
    values: tuple
    levels: tuple[str, ...] | None = None

    @property
    def numeric(self) -> bool:
        """Whether the covariate is numeric."""
        return self.levels is None


@dataclass(frozen=True)
class StudyDesign:
    """Design matrix of a meta-regression, without its intercept.

    Parameters
    ----------
    covariates : tuple of Covariate
    """

    covariates: tuple[Covariate, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names: ``name=level`` per non-reference level, ``name`` per numeric covariate."""
        names: list[str] = []
        for covariate in self.covariates:
            if covariate.numeric:
                names.append(covariate.name)
            else:
                names.extend(f"{covariate.name}={level}" for level in covariate.levels[1:])
        return tuple(names)

    @cached_property
    def matrix(self) -> np.ndarray:
        """Shape (studies, columns): dummies of the categorical levels and the numeric values."""
        rows = [self.row(dict(zip(self.names, values, strict=True))) for values in self._values()]
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.columns))

    @property
    def names(self) -> tuple[str, ...]:
        """The covariates' names."""
        return tuple(covariate.name for covariate in self.covariates)

    @property
    def means(self) -> np.ndarray:
        """Column means of :attr:`matrix` (the centre the Bayesian model samples around)."""
        return self.matrix.mean(axis=0)

    @property
    def scales(self) -> np.ndarray:
        """Per column: 1 for a dummy, the studies' standard deviation for a numeric covariate."""
        matrix, scales = self.matrix, []
        for index, name in enumerate(self.columns):
            numeric = any(c.numeric and c.name == name for c in self.covariates)
            scales.append(float(matrix[:, index].std()) if numeric else 1.0)
        return np.asarray(scales)

    def _values(self) -> list[tuple]:
        return list(zip(*(covariate.values for covariate in self.covariates), strict=True))

    def row(self, setting: Mapping[str, str | float]) -> np.ndarray:
        """The design row of one setting of the covariates.

        Parameters
        ----------
        setting : mapping
            A level (str) for each categorical covariate and a number for each numeric one.

        Returns
        -------
        numpy.ndarray
            Shape (columns,).

        Raises
        ------
        ValueError
            For a missing covariate or a level the data do not have.
        """
        row: list[float] = []
        for covariate in self.covariates:
            if covariate.name not in setting:
                raise ValueError(f"no value for the covariate {covariate.name!r}")
            value = setting[covariate.name]
            if covariate.numeric:
                row.append(float(value))
                continue
            if value not in covariate.levels:
                raise ValueError(f"{covariate.name!r} has levels {covariate.levels}, not {value!r}")
            row.extend(float(value == level) for level in covariate.levels[1:])
        return np.asarray(row)

    def settings(self, at: Mapping[str, float] | None = None) -> list[dict[str, str | float]]:
        """Every combination of the categorical levels, numeric covariates at ``at`` or their mean.

        Parameters
        ----------
        at : mapping, optional
            A value for some numeric covariates (for example ``{"cutoff": 1.75}``).

        Returns
        -------
        list of dict
            One setting per combination, in level order.
        """
        at = dict(at or {})
        choices = []
        for covariate in self.covariates:
            if covariate.numeric:
                choices.append([at.get(covariate.name, float(np.mean(covariate.values)))])
            else:
                choices.append(list(covariate.levels))
        return [dict(zip(self.names, combo, strict=True)) for combo in itertools.product(*choices)]


def load_covariates(
    path: str | os.PathLike,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    reserved: Sequence[str] = (),
) -> StudyDesign:
    """Read and check study-level covariates from the rows of a 2x2-table file.

    Parameters
    ----------
    path : path-like
        The same CSV file the 2x2 tables come from (one row per study).
    categorical, numeric : sequence of str
        Column names of the categorical and of the numeric covariates.
    reserved : sequence of str
        Columns that cannot be covariates (the count and study-label columns).

    Returns
    -------
    StudyDesign

    Raises
    ------
    model.core.errors.InputError
        Listing every problem with its row and column: a covariate named twice or naming a count
        column; a missing column; a blank categorical cell; a numeric cell that is not a plain
        decimal number; a covariate with a single level or value (it cannot be estimated).
    """
    name = Path(path).name
    problems = _naming_problems(name, categorical, numeric, reserved)
    if problems:
        raise InputError(problems)
    header, rows = read_csv_records(path)
    wanted = {column: "categorical covariate" for column in categorical}
    wanted |= {column: "numeric covariate" for column in numeric}
    problems = missing_columns(name, header, wanted)
    if problems:
        raise InputError(problems)
    records = [(number, dict(zip(header, cells, strict=True))) for number, cells in rows]
    covariates = [_categorical(name, column, records, problems) for column in categorical]
    covariates += [_numeric(name, column, records, problems) for column in numeric]
    if problems:
        raise InputError(problems)
    return StudyDesign(tuple(covariates))


def _naming_problems(
    file: str, categorical: Sequence[str], numeric: Sequence[str], reserved: Sequence[str]
) -> list[Problem]:
    problems, seen = [], set()
    for column in [*categorical, *numeric]:
        if column in seen:
            problems.append(Problem(file, 1, column, column, "each covariate named once"))
        elif column in reserved:
            problems.append(Problem(file, 1, column, column, "a column other than the counts"))
        seen.add(column)
    return problems


def _categorical(
    file: str, column: str, records: list[tuple[int, dict[str, str]]], problems: list[Problem]
) -> Covariate:
    for number, record in records:
        if not record[column]:
            problems.append(Problem(file, number, column, "", "a level (not blank)"))
    values = tuple(record[column] for _, record in records)
    levels = tuple(sorted(set(values) - {""}))
    if len(levels) == 1:
        found = f"{levels[0]!r} in every row"
        problems.append(Problem(file, None, column, found, "at least two levels"))
    return Covariate(column, values, levels)


def _numeric(
    file: str, column: str, records: list[tuple[int, dict[str, str]]], problems: list[Problem]
) -> Covariate:
    values = []
    for number, record in records:
        value = parse_number(record[column])
        if value is None:
            problems.append(Problem(file, number, column, record[column], "a decimal number"))
        values.append(value)
    if len({v for v in values if v is not None}) == 1:
        found = f"{values[0]} in every row"
        problems.append(Problem(file, None, column, found, "at least two different values"))
    return Covariate(column, tuple(values))
