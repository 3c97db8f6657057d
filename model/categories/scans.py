"""What the radiology categories read in a lesion's row: its scans in time order.

BT-RADS and RANO 2.0 judge a scan against earlier ones. A row of the cohort format holds the scan
that raised the question (the *question scan*, ``volume_baseline_ml``), up to three follow-up
scans, and, for the categories only, the enhancing volume at the scan before the question scan
(``volume_prior_ml``) and the FLAIR change a radiologist read at each scan (``flair_change``,
``flair_change_fu1``, ...). This module turns those columns into arrays, one column per scan,
so that both rule sets read the same timeline.

Two facts come from the format's definition rather than from a column:

- the question scan is worse than the scan before it (the question is raised by an enhancing
  lesion that has grown), unless ``volume_prior_ml`` says how it changed;
- it is the first scan to show that worsening, so it is not "progressive over several studies".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.inputs.schema import Cohort
from model.inputs.vocabulary import FLAIR_CHANGES, MAX_FOLLOW_UPS

WEEKS_PER_MONTH = 365.25 / 12 / 7
"""Weeks in the average month (``months_since_rt`` is in months, the 90-day and 12-week rules in
days and weeks)."""

UNCHANGED_WITHIN = 0.10
"""An enhancing volume within 10% of the previous scan's (a ratio between 1/1.1 and 1.1, both
included) is read as unchanged. An assumption: BT-RADS leaves "no appreciable change" to the
reader and gives no number."""

WORSE, UNCHANGED, IMPROVED = (FLAIR_CHANGES.index(c) for c in ("worse", "unchanged", "improved"))
UNKNOWN = -1
"""Codes of a change between two scans: indices into :data:`FLAIR_CHANGES`, or unknown."""

SCANS = 1 + MAX_FOLLOW_UPS
"""Scans a row can hold: the question scan and the follow-ups."""


@dataclass(frozen=True)
class ScanSeries:
    """The scans of n lesions, the question scan first (k = :data:`SCANS` columns).

    Attributes
    ----------
    prior : numpy.ndarray
        (n,) enhancing volume at the scan before the question scan, mL; NaN when not recorded.
    volume : numpy.ndarray
        (n, k) enhancing volume at each scan, mL; NaN where the row has no such scan (or, for
        the question scan, no volume).
    weeks : numpy.ndarray
        (n, k) weeks from the end of radiotherapy to each scan; NaN when unknown.
    enhancement : numpy.ndarray
        (n, k) int: how the enhancing volume changed against the scan before (:data:`WORSE`,
        :data:`UNCHANGED`, :data:`IMPROVED`); the question scan is worse unless
        ``volume_prior_ml`` says otherwise; :data:`UNKNOWN` where there is no such scan.
    flair : numpy.ndarray
        (n, k) int: the FLAIR change the radiologist recorded, same codes; :data:`UNKNOWN` when
        not recorded.
    latest : numpy.ndarray
        (n,) int: the index of each row's latest scan (0 for the question scan).
    steroid_increase : numpy.ndarray
        (n, k) int: 1 when the steroid dose was raised before the scan (since the scan before
        it), 0 when not, :data:`UNKNOWN` when not recorded or there is no such scan.
    out_of_field : numpy.ndarray
        (n,) int: 1 when the new enhancement lies outside the radiation field, 0 when inside,
        :data:`UNKNOWN` when not recorded.
    """

    prior: np.ndarray
    volume: np.ndarray
    weeks: np.ndarray
    enhancement: np.ndarray
    flair: np.ndarray
    latest: np.ndarray
    steroid_increase: np.ndarray
    out_of_field: np.ndarray

    def __len__(self) -> int:
        return len(self.prior)


def scan_series(cohort: Cohort) -> ScanSeries:
    """The scans of every lesion of a cohort, as the radiology categories read them.

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    ScanSeries
    """
    t = cohort.table
    n = len(t)
    follow_ups = range(1, MAX_FOLLOW_UPS + 1)
    volume = np.column_stack(
        [_floats(t["volume_baseline_ml"]), *(_floats(t[f"volume_fu{j}_ml"]) for j in follow_ups)]
    )
    intervals = np.column_stack(
        [np.zeros(n), *(_floats(t[f"interval_fu{j}_weeks"]) for j in follow_ups)]
    )
    weeks = _floats(t["months_since_rt"])[:, None] * WEEKS_PER_MONTH + np.cumsum(intervals, axis=1)
    prior = _floats(t["volume_prior_ml"])
    previous = np.column_stack([prior, volume[:, :-1]])
    enhancement = _changes(volume, previous)
    enhancement[:, 0] = np.where(np.isnan(prior), WORSE, enhancement[:, 0])
    flair_columns = ["flair_change", *(f"flair_change_fu{j}" for j in follow_ups)]
    flair = np.column_stack([_codes(t[c]) for c in flair_columns])
    steroid_columns = ["steroid_increase", *(f"steroid_increase_fu{j}" for j in follow_ups)]
    present = ~np.isnan(volume)
    present[:, 0] = True  # every row is about a question scan, measured or not
    latest = SCANS - 1 - np.argmax(present[:, ::-1], axis=1)
    return ScanSeries(
        prior=prior,
        volume=volume,
        weeks=weeks,
        enhancement=enhancement,
        flair=flair,
        latest=latest,
        steroid_increase=np.where(
            present,
            np.column_stack([_yes_no(t[c]) for c in steroid_columns]),
            UNKNOWN,
        ),
        out_of_field=_out_of_field(cohort),
    )


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(float)  # a number column: float64, NaN where missing


def _changes(volume: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Worse, unchanged or improved, from two volumes; unknown where either is missing."""
    band = 1 + UNCHANGED_WITHIN
    known = ~np.isnan(volume) & ~np.isnan(previous)
    return np.select(
        [volume > band * previous, volume * band < previous, known],  # NaN compares False
        [WORSE, IMPROVED, UNCHANGED],
        UNKNOWN,
    )


def _codes(column: pd.Series) -> np.ndarray:
    """A FLAIR change column as codes (its categories are :data:`FLAIR_CHANGES`, in order)."""
    return np.asarray(column.cat.codes)


def _yes_no(column: pd.Series) -> np.ndarray:
    """A yes/no column as 1, 0 or :data:`UNKNOWN`."""
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.select([values == 1, values == 0], [1, 0], UNKNOWN)


def _out_of_field(cohort: Cohort) -> np.ndarray:
    """The ``out_of_field`` test where the registry has it (unknown otherwise)."""
    if "out_of_field" not in cohort.table:
        return np.full(len(cohort), UNKNOWN)
    reads = cohort.table["out_of_field"].astype(object)
    return np.select([reads == "positive", reads == "negative"], [1, 0], UNKNOWN)
