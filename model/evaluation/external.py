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
the model), so they are not scored as truth: the lesions labelled by follow-up beyond the recorded
scans are scored apart, each prediction carried to the label's scale through the reference's
accuracy (:func:`through_reference`), and labels made from the recorded scans themselves are not
scored at all (the model has counted that growth already).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from math import nan
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from model.evaluation.metrics import (
    brier_score,
    c_statistic,
    calibration_intercept,
    calibration_slope,
    corp_reliability,
    expected_calibration_error,
)
from model.fitting.sampling import Fit
from model.inputs.encode import FOLLOW_UP, FOLLOW_UP_SCANS, HISTOPATHOLOGY, Lesions
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


class LabelledPredictions(NamedTuple):
    """A fit's predictions for the histopathology-labelled lesions of a cohort."""

    p: np.ndarray  # (n,) posterior-mean P(recurrence), over all draws
    draws: np.ndarray  # (n, <= MAX_DRAWS) P(recurrence) at evenly spaced posterior draws
    y: np.ndarray  # (n,) 1 recurrence, 0 necrosis
    center: np.ndarray  # (n,) center names as in the cohort
    patient: np.ndarray  # (n,) patient index (a patient's lesions are resampled together)
    labels: dict[str, int]  # lesions by label source: histopathology, follow_up, none
    unseen_centers: list[str]  # centers the fit never saw, scored as new centers
    # every lesion of the cohort, encoded (for rules on the measured values), and which of them
    # are the histopathology-labelled rows of p; None for predictions pooled over fits
    lesions: Lesions | None
    scored: np.ndarray | None
    in_sample: bool  # the cohort is the one the fit was trained on (optimistic scores)
    # (n,) leave-one-out P(recurrence) of in-sample predictions (PSIS: each lesion as if its
    # patient had not been in the training data), when computed
    # (:func:`model.checks.loo.with_leave_one_out`); None otherwise
    p_loo: np.ndarray | None = None


def labelled_predictions(
    fit: Fit | str | os.PathLike, cohort: PatientsLike, *, allow_bevacizumab: bool = False
) -> LabelledPredictions:
    """Score a cohort with a fit and keep its histopathology-labelled lesions.

    Raises
    ------
    ValueError
        When fewer than two histopathology-labelled lesions of each class are in the cohort.
    """
    made = score_labelled(fit, cohort, allow_bevacizumab=allow_bevacizumab)
    require_both_classes(made.y)
    return made


def require_both_classes(y: np.ndarray) -> None:
    """Refuse labels with fewer than two lesions of either class (ValueError)."""
    if (y == 1).sum() < 2 or (y == 0).sum() < 2:
        raise ValueError(
            "external validation needs at least two histopathology-labelled lesions of each "
            f"class; the cohort has {(y == 1).sum()} recurrences and {(y == 0).sum()} necroses"
        )


def score_labelled(
    fit: Fit | str | os.PathLike, cohort: PatientsLike, *, allow_bevacizumab: bool = False
) -> LabelledPredictions:
    """:func:`labelled_predictions` without its check: there may be no labelled lesion at all.

    Every lesion is scored (a patient's lesions share their symptoms), then the labelled ones
    are kept.
    """
    return labelled_by_reference(fit, cohort, allow_bevacizumab=allow_bevacizumab)[HISTOPATHOLOGY]


def labelled_by_reference(
    fit: Fit | str | os.PathLike, cohort: PatientsLike, *, allow_bevacizumab: bool = False
) -> dict[int, LabelledPredictions]:
    """The predictions for each reference standard's lesions, from one scoring of the cohort.

    Returns
    -------
    dict
        ``HISTOPATHOLOGY``: the histopathology-labelled lesions, whose label is the true class;
        ``FOLLOW_UP``: the lesions labelled by follow-up beyond the recorded scans, an imperfect
        reference, with each prediction carried to the label's scale by
        :func:`through_reference` with that draw's sensitivity and specificity of the
        reference. Lesions labelled from their own recorded scans (``follow_up_scans``) are in
        neither: the growth that made the label is evidence the model has already counted
        (incorporation bias), so agreeing with it would prove nothing.
    """
    fit = as_fit(fit)
    table, lesions = encode_patients(fit, cohort, allow_bevacizumab)
    all_draws = score(
        lesions, score_tables(fit), len(fit.centers), fit.registry, keep_draws=True
    ).p_draws
    centers = table.table["center"].to_numpy(object)
    in_sample = table.digest == fit.provenance["cohort"]["digest"]
    labels = {
        "histopathology": int((lesions.label_source == HISTOPATHOLOGY).sum()),
        "follow_up": int(np.isin(lesions.label_source, (FOLLOW_UP, FOLLOW_UP_SCANS)).sum()),
        "follow_up_scans": int((lesions.label_source == FOLLOW_UP_SCANS).sum()),
        "none": int((lesions.label < 0).sum()),
    }
    made = {}
    for reference in (HISTOPATHOLOGY, FOLLOW_UP):
        scored = lesions.label_source == reference
        draws = all_draws[scored]
        if reference == FOLLOW_UP:
            draws = through_reference(draws, fit.draws.sensitivity, fit.draws.specificity)
        kept = np.linspace(0, draws.shape[1] - 1, min(MAX_DRAWS, draws.shape[1])).astype(int)
        made[reference] = LabelledPredictions(
            p=draws.mean(axis=1),
            draws=draws[:, kept],
            y=lesions.label[scored],
            center=centers[scored],
            patient=lesions.patient[scored],
            labels=labels,
            unseen_centers=sorted({c for c in centers[scored] if c not in fit.centers}),
            lesions=lesions,
            scored=scored,
            in_sample=in_sample,
        )
    return made


def through_reference(p, sensitivity, specificity) -> np.ndarray:
    """P(an imperfect reference says recurrence) for a lesion with P(recurrence) ``p``.

    ``sensitivity * p + (1 - specificity) * (1 - p)``: what a model calibrated for the true class
    predicts for a label whose errors do not depend on the lesion beyond its class. Scored
    against such labels, these probabilities are calibrated exactly when ``p`` is (and the
    reference's accuracy is right); ``p`` itself is not, and its c-statistic is attenuated by
    the label errors.

    Parameters
    ----------
    p : array (n, S)
        P(recurrence) per lesion and posterior draw.
    sensitivity, specificity : arrays (S,)
        The reference's accuracy at the same draws.

    Returns
    -------
    numpy.ndarray (n, S)
    """
    p = np.asarray(p, float)
    return sensitivity * p + (1.0 - specificity) * (1.0 - p)


def evaluate(
    fit: Fit | str | os.PathLike | LabelledPredictions,
    cohort: PatientsLike | None = None,
    *,
    ci_prob: float = 0.90,
    bootstrap: int = 1000,
    seed: int = 1,
    allow_bevacizumab: bool = False,
) -> pd.DataFrame:
    """Discrimination and calibration of a fit on a labelled cohort, overall and per center.

    Parameters
    ----------
    fit : Fit, path or LabelledPredictions
        The fit, or its predictions already made by :func:`labelled_predictions` (then no
        ``cohort``).
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
        interval probability, the lesion counts by label source, the centers the fit never saw,
        ``in_sample`` (the cohort is the fit's training cohort, so the scores are optimistic)
        and the number of resamples a score could not be computed on (a resample of one class,
        or one the probabilities separate perfectly); where that is more than
        :data:`MAX_FAILED` of them, the bootstrap interval is left empty (NaN).

    Raises
    ------
    ValueError
        When fewer than two histopathology-labelled lesions of each class are in the cohort.
    """
    made = (
        fit
        if isinstance(fit, LabelledPredictions)
        else labelled_predictions(fit, cohort, allow_bevacizumab=allow_bevacizumab)
    )
    rng = np.random.default_rng(seed)
    rows, failed = [], {}
    for group in [OVERALL, *sorted(set(made.center))]:
        members = np.ones(len(made.y), bool) if group == OVERALL else made.center == group
        if len(set(made.y[members])) < 2:
            continue
        group_rows, group_failed = _group_scores(
            made.p[members],
            made.draws[members],
            made.y[members],
            made.patient[members],
            rng,
            bootstrap,
            ci_prob,
        )
        rows += [{"group": group, **row} for row in group_rows]
        failed[group] = group_failed
    result = pd.DataFrame(rows)
    result.attrs = {
        "ci_prob": ci_prob,
        "bootstrap": bootstrap,
        "labels": made.labels,
        "unseen_centers": made.unseen_centers,
        "in_sample": made.in_sample,
        "failed_resamples": failed,
    }
    return result


def reliability_band(
    made: LabelledPredictions,
    grid: np.ndarray | None = None,
    *,
    bootstrap: int = 1000,
    ci_prob: float = 0.90,
    seed: int = 1,
) -> pd.DataFrame:
    """The CORP reliability curve of all labelled lesions, with a bootstrap band over patients.

    Returns
    -------
    pandas.DataFrame
        ``p`` (the grid, 101 points on [0, 1] by default), ``recalibrated`` (the PAV curve of the
        posterior-mean probabilities, linear between its points and flat beyond them), ``low``
        and ``high`` (the equal-tailed ``ci_prob`` band of the same curve over patient
        resamples). ``attrs`` holds the CORP decomposition of the Brier score.
    """
    grid = np.linspace(0.0, 1.0, 101) if grid is None else np.asarray(grid, float)
    rng = np.random.default_rng(seed)
    lesions_of = _lesions_by_patient(made.patient)

    def curve(rows: np.ndarray) -> np.ndarray:
        r = corp_reliability(made.p[rows], made.y[rows])
        return np.interp(grid, r.predicted, r.recalibrated)

    curves = np.array([curve(_resample(lesions_of, rng)) for _ in range(bootstrap)])
    low, high = np.quantile(curves, [(1 - ci_prob) / 2, (1 + ci_prob) / 2], axis=0)
    whole = corp_reliability(made.p, made.y)
    band = pd.DataFrame(
        {"p": grid, "recalibrated": curve(np.arange(len(made.p))), "low": low, "high": high}
    )
    band.attrs = {
        "miscalibration": whole.miscalibration,
        "discrimination": whole.discrimination,
        "uncertainty": whole.uncertainty,
        "brier": brier_score(made.p, made.y),
    }
    return band


def _lesions_by_patient(patients: np.ndarray) -> list[np.ndarray]:
    _, position = np.unique(patients, return_inverse=True)
    return [np.flatnonzero(position == k) for k in range(position.max() + 1)]


def _resample(lesions_of: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The lesions of as many patients as there are, drawn with replacement."""
    return np.concatenate(
        [lesions_of[k] for k in rng.integers(0, len(lesions_of), len(lesions_of))]
    )


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
    lesions_of = _lesions_by_patient(patients)
    resamples = [_resample(lesions_of, rng) for _ in range(bootstrap)]
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
