"""Scoring speed: the numba scorer against PyMC's posterior-predictive route on the same lesions.

Lesions are the bundled cohort's rows resampled (reads, PET and follow-ups at the cohort's
rates). The scorer works through them in chunks of 100,000 lesions: its memory is a few numbers
per lesion for the results plus one row of draws per thread, whatever the number of lesions.

The posterior-predictive route builds the PyMC model on the same lesions with P(recurrence) as
a deterministic, ``sigmoid(class log joint[1] - class log joint[0])``, and asks
``pm.sample_posterior_predictive`` for it at every posterior draw; mean and interval follow
with NumPy. Both routes must agree, and the benchmark checks that they do.

The file route is what a user runs: ``rnbayes predict FIT FILE --out OUT`` in a fresh process on
a cohort CSV of the same resampled lesions, from reading and validating the file (a block of rows
at a time) to the written predictions. Its wall time is set against the scorer's own on the same
lesions, and its peak resident memory is the process's own (its VmHWM, from Linux's /proc).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from model.core.files import bundled
from model.fitting.sampling import Fit
from model.inputs.encode import Lesions, encode
from model.inputs.reading import load_cohort
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


def resampled_index(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Rows of a cohort of ``size`` lesions drawn with replacement, ``n`` of them."""
    return np.random.default_rng(seed).integers(0, size, n)


def resampled_lesions(fit: Fit, n: int, seed: int = 0) -> Lesions:
    """``n`` lesions drawn with replacement from the bundled cohort, encoded for the fit.

    Each is a patient of its own, as in the file route's CSV: the posterior-predictive route
    scores lesions one by one, so a patient scored with its other lesions would not compare.
    """
    cohort = load_cohort(bundled("cohort.csv"), fit.registry)
    lesions = encode(cohort, fit.centers, fit.parameters)
    drawn = lesions.subset(resampled_index(n, len(lesions), seed))
    return replace(drawn, patient=np.arange(n))


@dataclass(frozen=True)
class FileRow:
    """``rnbayes predict`` from a CSV of ``lesions`` rows to its written predictions."""

    lesions: int
    megabytes: float
    seconds: float
    peak_mib: float


def file_row(fit_path: Path, n: int, seed: int = 0) -> FileRow:
    """Time ``rnbayes predict FIT FILE --out OUT`` on ``n`` resampled lesions, in a new process."""
    cohort = load_cohort(bundled("cohort.csv"))
    table = cohort.table.iloc[resampled_index(n, len(cohort), seed)].reset_index(drop=True)
    table["patient_id"] = [f"L{i:07d}" for i in range(n)]
    with tempfile.TemporaryDirectory() as folder:
        patients, out = Path(folder) / "patients.csv", Path(folder) / "predictions.csv"
        cohort.with_table(table).write_csv(patients)
        arguments = [str(fit_path), str(patients), "--out", str(out), "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _PREDICT_AND_REPORT_PEAK, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"rnbayes predict exited with {done.returncode}: {done.stderr}")
        megabytes = patients.stat().st_size / 1e6
    return FileRow(n, megabytes, seconds, int(done.stderr.split()[-1]) / 1024)


# The child's own peak resident memory, VmHWM of its address space. Not the rusage of the child:
# Linux carries the high-water mark of the forking parent's memory over the exec into it.
_PREDICT_AND_REPORT_PEAK = """
import sys
from model.cli import main
code = main(["predict", *sys.argv[1:]])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(peak, file=sys.stderr)
sys.exit(code)
"""


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
