"""External validation: a fixed fit's predictions scored against a labelled cohort.

The fit scores every lesion of the cohort as it would a new patient (the labels are not read as
evidence; a center the fit never saw is scored as a new center). The histopathology-labelled
lesions are then compared with their labels, overall and per center, by the scores of
:mod:`model.evaluation.metrics`, each with two intervals:

- a posterior interval: the score of every posterior draw's probabilities (how uncertain the
  fitted model is);
- a bootstrap interval: the score of the posterior-mean probabilities over patients resampled
  with replacement (how much the score would vary with another sample of patients; a patient's
  lesions are resampled together, since they are not independent).

Follow-up labels are an imperfect reference (their sensitivity and specificity are parameters of
the model), so they are counted but not scored as truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from math import nan
from typing import Any

import numpy as np
import pandas as pd

from model.evaluation.metrics import (
    brier_score,
    c_statistic,
    calibration_intercept,
    calibration_slope,
    expected_calibration_error,
)
from model.fitting.sampling import Fit
from model.inputs.encode import FOLLOW_UP, FOLLOW_UP_SCANS, HISTOPATHOLOGY
from model.likelihood.kernel import score
from model.scoring.predict import PatientsLike, as_fit, encode_patients, score_tables

OVERALL = "all centers"
"""The group name of the whole labelled cohort."""

METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "c_statistic": c_statistic,
    "calibration_intercept": calibration_intercept,
    "calibration_slope": calibration_slope,
    "brier": brier_score,
    "ece": expected_calibration_error,
}
"""The scores, each a function of probabilities and 0/1 classes."""

CALIBRATED = {"calibration_intercept": 0.0, "calibration_slope": 1.0}
"""The value of each calibration score for a calibrated model."""

MAX_FAILED = 0.1
"""Share of resamples without a score above which a bootstrap interval is not given."""

MAX_DRAWS = 400
"""Posterior draws the posterior intervals use at most (evenly spaced)."""


def evaluate(
    fit: Fit | str | os.PathLike,
    cohort: PatientsLike,
    *,
    ci_prob: float = 0.90,
    bootstrap: int = 1000,
    seed: int = 1,
    allow_bevacizumab: bool = False,
) -> pd.DataFrame:
    """Discrimination and calibration of a fit on a labelled cohort, overall and per center.

    Parameters
    ----------
    fit : Fit or path
    cohort : path, Cohort, DataFrame, dict or list of dicts
        Lesions in the cohort format; those with a histopathology label are scored against it.
    ci_prob : float, default 0.90
        Probability of both intervals (equal-tailed).
    bootstrap : int, default 1000
        Resamples of patients for the bootstrap interval.
    seed : int, default 1
        Seed of the resampling.
    allow_bevacizumab : bool, default False
        Score lesions scanned under bevacizumab as if untreated (:func:`model.predict`).

    Returns
    -------
    pandas.DataFrame
        One row per group and score: ``group`` (:data:`OVERALL` or a center), ``n``,
        ``n_recurrence``, ``metric``, ``value`` (of the posterior-mean probabilities),
        ``posterior_low``/``posterior_high``, ``bootstrap_low``/``bootstrap_high`` and
        ``flagged`` (a calibration score whose bootstrap interval excludes the calibrated value).
        A group without labelled lesions of both classes has no rows. ``attrs`` holds the
        interval probability, the lesion counts by label source, the centers the fit never saw
        and the number of resamples a score could not be computed on (a resample of one class,
        or one the probabilities separate perfectly); where that is more than
        :data:`MAX_FAILED` of them, the bootstrap interval is left empty (NaN).

    Raises
    ------
    ValueError
        When fewer than two histopathology-labelled lesions of each class are in the cohort.
    """
    fit = as_fit(fit)
    table, lesions = encode_patients(fit, cohort, allow_bevacizumab)
    scored = lesions.label_source == HISTOPATHOLOGY
    y = lesions.label[scored]
    if (y == 1).sum() < 2 or (y == 0).sum() < 2:
        raise ValueError(
            "external validation needs at least two histopathology-labelled lesions of each "
            f"class; the cohort has {(y == 1).sum()} recurrences and {(y == 0).sum()} necroses"
        )
    draws = score(
        lesions, score_tables(fit), len(fit.centers), fit.registry, keep_draws=True
    ).p_draws[scored]
    p = draws.mean(axis=1)
    draws = draws[:, np.linspace(0, draws.shape[1] - 1, min(MAX_DRAWS, draws.shape[1])).astype(int)]
    centers = table.table["center"].to_numpy(object)[scored]
    patients = lesions.patient[scored]
    rng = np.random.default_rng(seed)
    rows, failed = [], {}
    for group in [OVERALL, *sorted(set(centers))]:
        members = np.ones(len(y), bool) if group == OVERALL else centers == group
        if len(set(y[members])) < 2:
            continue
        group_rows, group_failed = _group_scores(
            p[members], draws[members], y[members], patients[members], rng, bootstrap, ci_prob
        )
        rows += [{"group": group, **row} for row in group_rows]
        failed[group] = group_failed
    result = pd.DataFrame(rows)
    result.attrs = {
        "ci_prob": ci_prob,
        "bootstrap": bootstrap,
        "labels": {
            "histopathology": int(scored.sum()),
            "follow_up": int(np.isin(lesions.label_source, (FOLLOW_UP, FOLLOW_UP_SCANS)).sum()),
            "none": int((lesions.label < 0).sum()),
        },
        "unseen_centers": sorted({c for c in centers if c not in fit.centers}),
        "failed_resamples": failed,
    }
    return result


def _group_scores(
    p: np.ndarray,
    draws: np.ndarray,
    y: np.ndarray,
    patients: np.ndarray,
    rng: np.random.Generator,
    bootstrap: int,
    ci_prob: float,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each score of one group with its posterior and bootstrap intervals.

    ``p`` is the posterior-mean probability over all draws, ``draws`` the kept draws.
    """
    tails = [(1 - ci_prob) / 2, (1 + ci_prob) / 2]
    ids, position = np.unique(patients, return_inverse=True)
    lesions_of = [np.flatnonzero(position == k) for k in range(len(ids))]
    resamples = [
        np.concatenate([lesions_of[k] for k in rng.integers(0, len(ids), len(ids))])
        for _ in range(bootstrap)
    ]
    rows, failed = [], {}
    for name, metric in METRICS.items():
        posterior = np.array([_safe(metric, draws[:, s], y) for s in range(draws.shape[1])])
        boot = np.array([_safe(metric, p[r], y[r]) for r in resamples])
        failed[name] = int(np.isnan(boot).sum())
        # an interval over the few resamples where the score exists would be biased
        low, high = _interval(boot, tails) if failed[name] <= MAX_FAILED * bootstrap else (nan, nan)
        posterior = _interval(posterior, tails)
        rows.append(
            {
                "n": len(y),
                "n_recurrence": int(y.sum()),
                "metric": name,
                "value": _safe(metric, p, y),
                "posterior_low": posterior[0],
                "posterior_high": posterior[1],
                "bootstrap_low": low,
                "bootstrap_high": high,
                "flagged": bool(
                    name in CALIBRATED and np.isfinite(low) and not low <= CALIBRATED[name] <= high
                ),
            }
        )
    return rows, failed


def _interval(values: np.ndarray, tails: list[float]) -> tuple[float, float]:
    """Equal-tailed interval of the defined values (NaN, NaN when none is)."""
    defined = values[np.isfinite(values)]
    if len(defined) == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(defined, tails)
    return float(low), float(high)


def _safe(metric, p: np.ndarray, y: np.ndarray) -> float:
    """The score, or NaN where it is undefined (one class, or perfect separation)."""
    try:
        return float(metric(p, y))
    except ValueError:
        return float("nan")
