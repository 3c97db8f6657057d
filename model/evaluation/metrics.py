"""How well predicted probabilities match observed classes: discrimination and calibration.

Every function takes predicted probabilities ``p`` (n,) and observed classes ``y`` (n,), 1 for
recurrence and 0 for necrosis, and returns plain numbers, so the fit report, the simulation-based
calibration study and external validation score predictions the same way.

- :func:`c_statistic`: the probability that a recurrence is ranked above a necrosis (ties half).
- :func:`calibration_intercept` and :func:`calibration_slope`: logistic recalibration (Cox
  1958): the calibration-in-the-large intercept ``a`` of ``logit P(y) = a + logit(p)`` and the
  slope ``b`` of ``logit P(y) = a' + b logit(p)``; a calibrated model has 0 and 1.
- :func:`brier_score` and :func:`expected_calibration_error` (equal-width bins).
- :func:`corp_reliability`: the CORP reliability curve (Dimitriadis, Gneiting and Jordan 2021,
  PNAS 118:e2016191118): the pool-adjacent-violators (isotonic) recalibration of ``p``, and the
  Brier score's decomposition into miscalibration, discrimination and uncertainty.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import optimize, special, stats

EDGE = 1e-12
"""Probabilities are kept this far from 0 and 1 before taking logits."""


def _checked(p, y) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(p, dtype=float), np.asarray(y)
    if p.shape != y.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError(f"p and y must be 1-d arrays of the same length; got {p.shape}, {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0 (necrosis) and 1 (recurrence) only")
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError("p must be probabilities in [0, 1]")
    return p, y.astype(float)


def brier_score(p, y) -> float:
    """Mean squared difference between the predicted probability and the observed class."""
    p, y = _checked(p, y)
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(p, y, bins: int = 10) -> float:
    """Share-weighted mean of |mean predicted - observed share| over equal-width bins of ``p``."""
    p, y = _checked(p, y)
    index = bin_index(p, bins)
    return float(
        sum(
            abs(p[index == b].mean() - y[index == b].mean()) * (index == b).mean()
            for b in np.unique(index)
        )
    )


def bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    """Each probability's equal-width bin, 0 .. bins - 1 (1 falls in the last bin)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.minimum(np.digitize(p, edges) - 1, bins - 1)


def c_statistic(p, y) -> float:
    """P(a recurrence's p > a necrosis's p) + P(tie) / 2: the area under the ROC curve.

    Raises
    ------
    ValueError
        Without lesions of both classes.
    """
    p, y = _checked(p, y)
    cases, controls = int(y.sum()), int(len(y) - y.sum())
    if cases == 0 or controls == 0:
        raise ValueError("the c-statistic needs lesions of both classes")
    ranks = stats.rankdata(p)  # ties share their mean rank
    return float((ranks[y == 1].sum() - cases * (cases + 1) / 2) / (cases * controls))


def calibration_intercept(p, y) -> float:
    """Calibration in the large: ``a`` of ``logit P(y = 1) = a + logit(p)``, by maximum likelihood.

    0 when the predictions are right on average, below 0 when they are too high. Defined whenever
    both classes occur.
    """
    p, y = _checked(p, y)
    _require_both_classes(y)
    x = special.logit(np.clip(p, EDGE, 1 - EDGE))
    return float(optimize.brentq(lambda a: np.sum(y - special.expit(a + x)), -50.0, 50.0))


def calibration_slope(p, y) -> float:
    """``b`` of ``logit P(y = 1) = a + b logit(p)`` (Cox 1958), by maximum likelihood.

    1 for a calibrated model; below 1 when the predictions are too extreme, above 1 when too
    modest.

    Raises
    ------
    ValueError
        Without lesions of both classes, or when ``p`` separates the classes perfectly (the
        slope is then infinite).
    """
    p, y = _checked(p, y)
    _require_both_classes(y)
    x = special.logit(np.clip(p, EDGE, 1 - EDGE))
    cases, controls = x[y == 1], x[y == 0]
    if cases.min() >= controls.max() or controls.min() >= cases.max():
        # the logistic likelihood then grows without bound as the slope goes to +-infinity
        raise ValueError("p separates the classes perfectly: the calibration slope is infinite")
    design = np.column_stack([np.ones_like(x), x])

    def log_likelihood(c: np.ndarray) -> float:
        eta = design @ c
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    coefficients = np.array([0.0, 1.0])
    current = log_likelihood(coefficients)
    for _ in range(200):  # damped Newton: the log likelihood is concave, its maximum finite
        fitted = special.expit(design @ coefficients)
        information = design.T @ (design * (fitted * (1 - fitted))[:, None])
        step = np.linalg.solve(information, design.T @ (y - fitted))
        while (trial := log_likelihood(coefficients + step)) < current and abs(step).max() > 1e-14:
            step = step / 2
        coefficients, current = coefficients + step, max(trial, current)
        if np.max(np.abs(step)) < 1e-10:
            return float(coefficients[1])
    raise ArithmeticError("the calibration slope did not converge in 200 Newton steps")


def _require_both_classes(y: np.ndarray) -> None:
    if y.min() == y.max():
        raise ValueError("calibration needs lesions of both classes")


class Reliability(NamedTuple):
    """The CORP reliability curve and the Brier score's decomposition (Dimitriadis 2021).

    ``brier = miscalibration - discrimination + uncertainty``, each term >= 0.
    """

    predicted: np.ndarray  # (n,) p, sorted
    recalibrated: np.ndarray  # (n,) the isotonic (PAV) fit of y on p, at the sorted p
    miscalibration: float  # Brier(p) - Brier(recalibrated)
    discrimination: float  # Brier(mean y) - Brier(recalibrated)
    uncertainty: float  # Brier(mean y) = ybar (1 - ybar)


def corp_reliability(p, y) -> Reliability:
    """The isotonic recalibration of ``p`` by pool-adjacent-violators, and the CORP decomposition.

    Lesions with equal ``p`` are pooled first, so the curve is a function of ``p``.
    """
    p, y = _checked(p, y)
    order = np.argsort(p, kind="stable")
    values, start, counts = np.unique(p[order], return_index=True, return_counts=True)
    shares = np.add.reduceat(y[order], start) / counts
    fitted = optimize.isotonic_regression(shares, weights=counts).x
    recalibrated = np.repeat(fitted, counts)
    mean = y.mean()
    uncertainty = float(mean * (1 - mean))
    brier_recalibrated = float(np.mean((recalibrated - y[order]) ** 2))
    return Reliability(
        predicted=np.repeat(values, counts),
        recalibrated=recalibrated,
        miscalibration=brier_score(p, y) - brier_recalibrated,
        discrimination=uncertainty - brier_recalibrated,
        uncertainty=uncertainty,
    )
