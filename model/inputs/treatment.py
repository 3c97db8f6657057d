"""Treatments that change the images: a lesion scanned under bevacizumab is not read as usual.

Bevacizumab suppresses contrast enhancement and perfusion within days (the "pseudoresponse"), so a
lesion scanned within ``context.bevacizumab_window_weeks`` of a dose (data/parameters.toml) shows
neither the enhancement nor the hyperperfusion the model reads as recurrence. Such a lesion is
refused, with its file, row and column, unless the user overrides explicitly; an overridden lesion
is scored as if untreated, and every output says so (the ``under_bevacizumab`` column of
predictions, and the top of its report). A training cohort may not hold such lesions at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.core.errors import InputError, Problem
from model.inputs.schema import Cohort

BEVACIZUMAB_COLUMN = "bevacizumab_last_dose_weeks"
WINDOW_ENTRY = "context.bevacizumab_window_weeks"
OVERRIDE_HINT = "--allow-bevacizumab (allow_bevacizumab=True in Python)"


def under_bevacizumab(cohort: Cohort, window_weeks: float) -> np.ndarray:
    """Which lesions were scanned within ``window_weeks`` of a bevacizumab dose.

    Parameters
    ----------
    cohort : Cohort
    window_weeks : float

    Returns
    -------
    numpy.ndarray of bool
        False where no dose is recorded.
    """
    weeks = cohort.table[BEVACIZUMAB_COLUMN].to_numpy(float)
    with np.errstate(invalid="ignore"):
        return weeks <= window_weeks


SCORE_ANYWAY = f"Give {OVERRIDE_HINT} to score it as if untreated; every output then says so"
"""What a user scoring lesions can do about a refused one."""


def check_bevacizumab(
    cohort: Cohort, window_weeks: float, allow: bool, remedy: str = SCORE_ANYWAY
) -> np.ndarray:
    """Refuse lesions scanned under bevacizumab unless ``allow``; return which ones they are.

    Parameters
    ----------
    cohort : Cohort
    window_weeks : float
        Weeks after a dose during which the images cannot be read as usual.
    allow : bool
        Score them anyway (the caller must then say so wherever the result is shown).
    remedy : str, default :data:`SCORE_ANYWAY`
        What the user can do, ending the message.

    Returns
    -------
    numpy.ndarray of bool
        The lesions under bevacizumab (all False when none is).

    Raises
    ------
    model.core.errors.InputError
        One problem per such lesion, naming its file, row and column, when not ``allow``.
    """
    flagged = under_bevacizumab(cohort, window_weeks)
    if flagged.any() and not allow:
        weeks = cohort.table[BEVACIZUMAB_COLUMN].to_numpy(float)
        rows = cohort.rows if cohort.rows is not None else [None] * len(cohort)
        expected = (
            f"no bevacizumab in the {window_weeks:g} weeks before the scan: it suppresses "
            f"enhancement and perfusion, so this lesion's images cannot be read as usual. {remedy}"
        )
        raise InputError(
            Problem(
                Path(cohort.source).name, rows[i], BEVACIZUMAB_COLUMN, f"{weeks[i]:g}", expected
            )
            for i in np.flatnonzero(flagged)
        )
    return flagged
