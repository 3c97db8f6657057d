"""Scoring speed: the numba scorer against PyMC's posterior-predictive route on the same lesions.

Lesions are the bundled cohort's rows resampled (reads, PET and follow-ups at the cohort's
rates). The scorer works through them in chunks of 100,000 lesions: its memory is a few numbers
per lesion for the results plus one row of draws per thread, whatever the number of lesions.

The posterior-predictive route builds the PyMC model on the same lesions with P(recurrence) as
a deterministic, ``sigmoid(class log joint[1] - class log joint[0])``, and asks
``pm.sample_posterior_predictive`` for it at every posterior draw; mean and interval follow
with NumPy. Both routes must agree, and the benchmark checks that they do.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from model.core.files import bundled
from model.fitting.sampling import Fit
from model.inputs.encode import Lesions, encode
from model.inputs.schema import load_cohort
from model.likelihood.kernel import score
from model.likelihood.pymc_model import build_model
from model.scoring.predict import score_tables

CHUNK = 100_000


@dataclass(frozen=True)
class ScoreRow:
    """Seconds to score ``lesions`` lesions over ``draws`` posterior draws by one route."""

    route: str
    lesions: int
    draws: int
    seconds: float

    @property
    def rate(self) -> float:
        """Lesion x draw evaluations per second."""
        return self.lesions * self.draws / self.seconds


def resampled_lesions(fit: Fit, n: int, seed: int = 0) -> Lesions:
    """``n`` lesions drawn with replacement from the bundled cohort, encoded for the fit."""
    cohort = load_cohort(bundled("cohort.csv"), fit.registry)
    lesions = encode(cohort, fit.centers, fit.early_window_months, fit.registry)
    index = np.random.default_rng(seed).integers(0, len(lesions), n)
    return lesions.subset(index)


def score_in_chunks(fit: Fit, lesions: Lesions, tables) -> np.ndarray:
    """Mean P(recurrence) per lesion, scored ``CHUNK`` lesions at a time."""
    means = np.empty(len(lesions))
    for start in range(0, len(lesions), CHUNK):
        part = slice(start, min(start + CHUNK, len(lesions)))
        means[part] = score(lesions.subset(part), tables, len(fit.centers), fit.registry).p_mean
    return means


def scorer_row(fit: Fit, n: int) -> tuple[ScoreRow, np.ndarray]:
    """Time the scorer on ``n`` lesions (best of three below a million lesions)."""
    tables = score_tables(fit)
    lesions = resampled_lesions(fit, n)
    score_in_chunks(fit, resampled_lesions(fit, 10), tables)  # kernel compiled or loaded
    best, means = np.inf, None
    for _ in range(1 if n >= 1_000_000 else 3):
        start = time.perf_counter()
        means = score_in_chunks(fit, lesions, tables)
        best = min(best, time.perf_counter() - start)
    return ScoreRow("numba scorer", n, tables.n_draws, best), means


def posterior_predictive_row(fit: Fit, n: int) -> tuple[ScoreRow, np.ndarray]:
    """Time ``pm.sample_posterior_predictive`` for P(recurrence) on the same ``n`` lesions."""
    import pymc as pm

    lesions = resampled_lesions(fit, n)
    centered = tuple(fit.provenance["sampler"]["centered"])
    graph = build_model(lesions, fit.centers, fit.parameters, centered=centered)
    with graph.model:
        ell = graph.class_log_joint
        pm.Deterministic("p_recurrence", pm.math.sigmoid(ell[:, 1] - ell[:, 0]))
    start = time.perf_counter()
    with warnings.catch_warnings():  # the Potential does not bear on a deterministic
        warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)
        draws = pm.sample_posterior_predictive(
            fit.posterior,
            model=graph.model,
            var_names=["p_recurrence"],
            progressbar=False,
            return_inferencedata=False,
        )["p_recurrence"].reshape(-1, n)
    means = draws.mean(axis=0)
    np.quantile(draws, [0.05, 0.95], axis=0)  # the interval the scorer also computes
    seconds = time.perf_counter() - start
    return ScoreRow("pm.sample_posterior_predictive", n, draws.shape[0], seconds), means
