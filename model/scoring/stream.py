"""Predictions for large patient files, written as they are scored, with a summary to show.

:func:`write_predictions` reads a cohort CSV a block of rows at a time
(:func:`model.scoring.predict.prediction_blocks`), scores each block and appends it to the output
CSV, so a file of a million lesions is scored in bounded memory: one block's cells, features and
results at a time. The output is written atomically: an invalid row anywhere in the input leaves
no output file, only the error listing every problem. :class:`PredictionSummary` keeps what a
terminal can show of such a run: counts per band of P(recurrence) and the first rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.core.files import atomic_write
from model.core.outputs import csv_text
from model.fitting.sampling import Fit
from model.inputs.reading import BLOCK_ROWS
from model.scoring.predict import PatientsLike, as_fit, prediction_attrs, prediction_blocks

BAND_EDGES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)
"""Edges of the P(recurrence) bands a summary counts lesions in."""

SHOWN_ROWS = 40
"""Rows a summary keeps to show: files with at most this many lesions are shown whole."""


@dataclass
class PredictionSummary:
    """What a terminal can show of many predictions.

    Attributes
    ----------
    lesions : int
        Lesions scored.
    unseen_center : int
        Of those, lesions from centers the fit has not seen.
    under_bevacizumab : int
        Of those, lesions scanned under bevacizumab and scored by explicit override.
    flagged : int
        Of those, lesions where a radiology category and the model lean opposite ways (a
        non-empty ``category_flag``).
    band_counts : numpy.ndarray
        Lesions per band of P(recurrence): below 0.10, [0.10, 0.25), ..., from 0.90
        (:data:`BAND_EDGES`).
    head : pandas.DataFrame
        The first :data:`SHOWN_ROWS` predictions, with the table's ``attrs``.
    """

    lesions: int = 0
    unseen_center: int = 0
    under_bevacizumab: int = 0
    flagged: int = 0
    band_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(BAND_EDGES) + 1, int))
    head: pd.DataFrame = field(default_factory=pd.DataFrame)

    def add(self, frame: pd.DataFrame) -> None:
        """Count one block of predictions (columns of :func:`model.predict`)."""
        self.lesions += len(frame)
        self.unseen_center += int((~frame["center_seen"]).sum())
        self.under_bevacizumab += int(frame["under_bevacizumab"].sum())
        self.flagged += int((frame["category_flag"] != "").sum())
        bands = np.searchsorted(BAND_EDGES, frame["p_recurrence"].to_numpy(), side="right")
        self.band_counts += np.bincount(bands, minlength=len(BAND_EDGES) + 1)
        if len(self.head) < SHOWN_ROWS:
            self.head = pd.concat([self.head, frame.iloc[: SHOWN_ROWS - len(self.head)]])

    @property
    def complete(self) -> bool:
        """Whether :attr:`head` holds every prediction."""
        return len(self.head) == self.lesions

    def bands(self) -> pd.DataFrame:
        """Lesions per band of P(recurrence), as a table with the band in words."""
        edges = (0.0, *BAND_EDGES, 1.0)
        names = [f"[{lo:.2f}, {hi:.2f})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        names[-1] = f"[{edges[-2]:.2f}, 1.00]"
        counts = self.band_counts
        share = counts / max(self.lesions, 1)
        return pd.DataFrame({"lesions": counts, "share": share}, index=pd.Index(names, name="P"))


def summarize_predictions(frame: pd.DataFrame) -> PredictionSummary:
    """The summary of a predictions table already in memory."""
    summary = PredictionSummary()
    summary.add(frame)
    summary.head.attrs.update(frame.attrs)
    return summary


def write_predictions(
    fit: Fit | str | os.PathLike,
    patients: PatientsLike,
    out: str | os.PathLike,
    ci_prob: float = 0.90,
    progress: Callable[[int], None] | None = None,
    block_rows: int = BLOCK_ROWS,
    *,
    allow_bevacizumab: bool = False,
) -> PredictionSummary:
    """Score lesions block by block and write the predictions CSV, in bounded memory.

    Parameters
    ----------
    fit : Fit or path
    patients : path, Cohort, DataFrame, dict or list of dicts
        A CSV file is read a block of rows at a time.
    out : path-like
        The CSV to write (columns of :func:`model.predict`; text cells neutralised against
        spreadsheet formulas). Written atomically: on any error there is no new file.
    ci_prob : float, default 0.90
    progress : callable, optional
        Called with the number of lesions in each block once it is written.
    block_rows : int, default :data:`model.inputs.reading.BLOCK_ROWS`
        Lesions read, scored and written at a time.
    allow_bevacizumab : bool, default False
        See :func:`model.predict`.

    Returns
    -------
    PredictionSummary

    Raises
    ------
    model.core.errors.InputError
        The patients hold invalid rows (every problem listed; nothing written).
    """
    fit = as_fit(fit)
    summary = PredictionSummary()

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            blocks = prediction_blocks(
                fit, patients, ci_prob, block_rows, allow_bevacizumab=allow_bevacizumab
            )
            for frame in blocks:
                handle.write(csv_text(frame, header=summary.lesions == 0))
                summary.add(frame)
                if progress is not None:
                    progress(len(frame))

    atomic_write(out, write)
    summary.head.attrs.update(prediction_attrs(fit, ci_prob))
    return summary
