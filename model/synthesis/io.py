"""Plumbing shared by the small evidence-synthesis models (meta-analysis, latent-class analysis).

Reading a small CSV with spreadsheet row numbers, naming missing columns, sampling with nutpie
and the convergence gate, and posterior intervals.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from model.core.errors import InputError, Problem

LEVEL = 0.95
"""Probability of every interval and region the evidence-synthesis models report."""


def read_csv_records(path: str | os.PathLike) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a small CSV file, keeping spreadsheet row numbers.

    Parameters
    ----------
    path : path-like
        A comma-separated UTF-8 file with a header row.

    Returns
    -------
    header : list of str
        Stripped column names.
    rows : list of (int, list of str)
        Each non-blank data row with its spreadsheet row number (header = row 1) and stripped cells.

    Raises
    ------
    model.core.errors.InputError
        When the file cannot be read, is not UTF-8, is not well-formed CSV, has no header or a row
        has a different number of cells from the header.
    """
    name = Path(path).name
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except OSError as error:
        raise InputError([Problem(name, None, None, None, f"a readable file ({error})")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(name, None, None, None, "UTF-8 text")]) from None
    except csv.Error as error:
        raise InputError([Problem(name, None, None, None, f"well-formed CSV ({error})")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise InputError([Problem(name, 1, None, None, "a header row with column names")])
    header = [cell.strip() for cell in records[0]]
    rows, problems = [], []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            expected = f"{len(header)} cells as in the header (found {len(record)})"
            problems.append(Problem(name, number, None, None, expected))
            continue
        rows.append((number, [cell.strip() for cell in record]))
    if problems:
        raise InputError(problems)
    return header, rows


def missing_columns(file: str, header: Sequence[str], wanted: Mapping[str, str]) -> list[Problem]:
    """Problems for the wanted columns the header lacks.

    Parameters
    ----------
    file : str
        File name for the problems.
    header : sequence of str
        The file's column names.
    wanted : mapping of str to str
        Column name to what it should hold, in words.

    Returns
    -------
    list of Problem
        One per absent column, on row 1, listing the columns found.
    """
    found = ", ".join(header)
    return [
        Problem(file, 1, column, None, f"a column of {what} (the file has: {found})")
        for column, what in wanted.items()
        if column not in header
    ]


def sample_posterior(
    model, draws: int, tune: int, chains: int, seed: int, target_accept: float = 0.95
):
    """Sample a PyMC model with nutpie; returns the posterior Dataset and the convergence gate.

    Parameters
    ----------
    model : pymc.Model
    draws, tune, chains : int
        Kept draws per chain, warm-up draws per chain, number of chains.
    seed : int
        Random seed.
    target_accept : float, default 0.95
        NUTS target acceptance rate (high: hierarchical funnels and bounded parameters).

    Returns
    -------
    posterior : xarray.Dataset
    gate : model.fitting.diagnostics.Gate
        R-hat, ESS and divergences (reported, not enforced).
    """
    import pymc as pm

    from model.fitting.diagnostics import compute_gate

    tree = pm.sample(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=min(chains, os.cpu_count() or 1),
        random_seed=seed,
        nuts_sampler="nutpie",
        nuts={"target_accept": target_accept},
        progressbar=False,
        quiet=True,
        compute_convergence_checks=False,
        model=model,
    )
    posterior = tree["posterior"].to_dataset()
    return posterior, compute_gate(posterior, tree["sample_stats"].to_dataset())


def interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Posterior median and equal-tailed interval of 1-D draws: ``(median, lower, upper)``."""
    tail = (1.0 - level) / 2.0
    low, median, high = np.quantile(np.asarray(draws, dtype=float), [tail, 0.5, 1.0 - tail])
    return float(median), float(low), float(high)
