"""Scoring speed: lesion x draw evaluations per second with the bundled fit (4,000 draws).

Lesions are the bundled cohort's rows resampled (so reads, PET and follow-ups occur at the
cohort's rates). The numba kernel is compiled (or loaded from its cache) by a warm-up call first.

    python benchmarks/bench_score.py [--lesions 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from model.encode import encode
from model.files import bundled
from model.fitting import load_fit
from model.schema import load_cohort
from model.score import score_tables
from model.score_kernel import score


def resampled_lesions(fit, n: int, seed: int = 0):
    cohort = load_cohort(bundled("cohort.csv"))
    lesions = encode(cohort, fit.centers, fit.early_window_months)
    index = np.random.default_rng(seed).integers(0, len(lesions), n)
    return lesions.subset(index)


def time_score(fit, lesions, repeats: int = 3) -> float:
    tables = score_tables(fit)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        score(lesions, tables, len(fit.centers))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesions", type=int, default=100_000)
    args = parser.parse_args()
    fit = load_fit(bundled("fit.nc"))
    draws = fit.draws.n_draws
    warm = resampled_lesions(fit, 100)
    t0 = time.perf_counter()
    score(warm, score_tables(fit), len(fit.centers))
    print(f"warm-up (tables + kernel compile or cache load): {time.perf_counter() - t0:.2f} s")
    lesions = resampled_lesions(fit, args.lesions)
    seconds = time_score(fit, lesions)
    rate = args.lesions * draws / seconds
    print(
        f"{args.lesions:,} lesions x {draws:,} draws: {seconds:.2f} s "
        f"({rate:.3g} lesion x draw evaluations per second)"
    )


if __name__ == "__main__":
    main()
