"""The benchmark suite: fit, scoring, decisions and front door, as ratios measured in one run.

    python -m benchmarks.run                     # everything, from the repository root
    python -m benchmarks.run --sizes 300 --skip-tests --json results.json
    python -m benchmarks.run --sections fit --sizes 600   # the bundled cohort's own fit

Fits use synthetic cohorts drawn with the bundled parameters (8 centers). PyMC's own NUTS runs
the same model on the same cohort up to ``--baseline-max`` lesions (10,000); above
``--baseline-full-below`` lesions it runs fewer draws (``--baseline-draws``), which leaves ESS per
second comparable. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import asdict

from benchmarks.fit_speed import FitRow, fit_row, simulated_cohort
from benchmarks.score_speed import file_row, posterior_predictive_row, scorer_row
from benchmarks.task_speed import (
    decision_tasks,
    report_tasks,
    serve_tasks,
    startup_tasks,
    test_suite_seconds,
)
from model.core.files import atomic_write_text, bundled
from model.fitting.sampling import load_fit


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,600,3000,30000", help="cohort sizes to fit")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, help="warm-up draws (default: the fit's default)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--baseline-draws", type=int, default=250)
    parser.add_argument("--baseline-full-below", type=int, default=10_000)
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=10_000,
        help="no PyMC baseline above this many lesions (default 10,000: PyMC's NUTS needs hours "
        "at 30,000)",
    )
    parser.add_argument("--score-sizes", default="1,1000,100000,1000000")
    parser.add_argument("--ppc-sizes", default="1,1000")
    parser.add_argument(
        "--file-sizes",
        default="1000000",
        help="patient-file sizes for rnbayes predict, file to written scores (default 10^6)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sections", default="fit,score,tasks", help="which of fit, score, tasks to run"
    )
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    return parser.parse_args()


def fit_section(args: argparse.Namespace) -> list[FitRow]:
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cohort = simulated_cohort(n, centers=8, seed=args.seed)
        draws = args.draws if n < args.baseline_full_below else args.baseline_draws
        baseline_tune = args.tune if n < args.baseline_full_below else draws
        runs = [("nutpie", args.draws, args.tune), ("pymc", draws, baseline_tune)]
        if args.baseline_max is not None and n > args.baseline_max:
            runs = runs[:1]
        for sampler, d, t in runs:
            row = fit_row(cohort, sampler, d, t, args.chains, args.seed)
            rows.append(row)
            print_fit_rows([row], header=not rows[:-1])
    return rows


def print_fit_rows(rows: list[FitRow], header: bool) -> None:
    if header:
        print(
            f"\nFit ({os.cpu_count()} cores; ESS = min bulk ESS over population parameters; "
            "wall time includes warm-up)"
        )
        print(
            f"{'lesions':>7} {'sampler':7} {'draws':>11} {'accept':>6} {'compile s':>9} "
            f"{'warm s':>6} {'wall s':>7} {'min ESS':>7} {'ESS/draw':>8} {'ESS/s':>7} {'steps':>5} "
            f"{'grad ms':>7} {'limit':>7} {'of limit':>8} {'div':>3}"
        )
    for r in rows:
        print(
            f"{r.lesions:7,d} {r.sampler:7} {f'{r.chains}x{r.draws}+{r.tune}':>11} "
            f"{r.target_accept:6.2f} "
            f"{r.compile_cold:9.1f} {r.compile_warm:6.2f} {r.sampling_seconds:7.1f} "
            f"{r.min_ess:7.0f} {r.ess_per_draw:8.2f} {r.ess_per_second:7.1f} "
            f"{r.steps_per_draw:5.1f} {1e3 * r.gradient_seconds:7.3f} {r.limit:7.0f} "
            f"{r.efficiency:8.0%} {r.divergences:3d}",
            flush=True,
        )


def print_fit_ratios(rows: list[FitRow]) -> list[dict]:
    ratios = []
    for nutpie in (r for r in rows if r.sampler == "nutpie"):
        pymc = next((r for r in rows if r.sampler == "pymc" and r.lesions == nutpie.lesions), None)
        ratio = nutpie.ess_per_second / pymc.ess_per_second if pymc else float("nan")
        ratios.append({"lesions": nutpie.lesions, "ess_per_second_ratio": ratio})
        print(
            f"{nutpie.lesions:7,d} lesions: nutpie / PyMC ESS/s = {ratio:.1f}x; "
            f"worst parameter {nutpie.worst} ({nutpie.ess_per_draw:.2f} ESS per draw); "
            f"nutpie fit wall time {nutpie.compile_cold + nutpie.sampling_seconds:.0f} s "
            "with compile"
        )
    return ratios


def score_section(args: argparse.Namespace, fit) -> list[dict]:
    print(f"\nScoring ({fit.draws.n_draws:,} posterior draws of the bundled fit)")
    print(f"{'route':32} {'lesions':>9} {'seconds':>9} {'lesion x draw / s':>17}")
    rows, scorer_means = [], {}
    for n in (int(s) for s in args.score_sizes.split(",")):
        row, means = scorer_row(fit, n)
        scorer_means[n] = means
        rows.append(row)
        print(f"{row.route:32} {n:9,d} {row.seconds:9.4f} {row.rate:17.3g}", flush=True)
    for n in (int(s) for s in args.ppc_sizes.split(",")):
        row, means = posterior_predictive_row(fit, n)
        scored = scorer_means.get(n)
        if scored is not None and not abs(means - scored).max() < 1e-6:
            raise RuntimeError("the scorer and the posterior-predictive route disagree")
        rows.append(row)
        speedup = ""
        match = [r for r in rows if r.route == "numba scorer" and r.lesions == n]
        if match:
            speedup = f"   scorer {match[0].rate / row.rate:,.0f}x faster"
        print(f"{row.route:32} {n:9,d} {row.seconds:9.4f} {row.rate:17.3g}{speedup}", flush=True)
    records = [{**asdict(r), "rate": r.rate} for r in rows]
    print(
        f"\n{'rnbayes predict FILE --out OUT':32} {'lesions':>9} {'MB':>6} {'seconds':>9} "
        f"{'peak MiB':>8} {'/ scorer':>8}"
    )
    for n in (int(s) for s in args.file_sizes.split(",") if s):
        row = file_row(bundled("fit.nc"), n)
        scorer = next((r for r in rows if r.route == "numba scorer" and r.lesions == n), None)
        ratio = f"{row.seconds / scorer.seconds:8.2f}" if scorer else f"{'':8}"
        print(
            f"{'file to written scores':32} {n:9,d} {row.megabytes:6.0f} {row.seconds:9.1f} "
            f"{row.peak_mib:8.0f} {ratio}",
            flush=True,
        )
        records.append({**asdict(row), "route": "rnbayes predict file"})
    return records


def task_section(args: argparse.Namespace, fit) -> list[dict]:
    print("\nDecisions, cutoffs and front door (best of repeats after a warm-up)")
    rows = decision_tasks(fit, args.repeats) + report_tasks(fit, args.repeats)
    rows += serve_tasks(fit, args.repeats)
    rows += startup_tasks(max(5, args.repeats))
    if not args.skip_tests:
        rows.append(("test suite (README test command)", test_suite_seconds(), "s"))
    for name, seconds, unit in rows:
        print(f"{name:78} {seconds:8.3f} {unit}", flush=True)
    return [{"task": name, "seconds": seconds, "unit": unit} for name, seconds, unit in rows]


def fit_record(row: FitRow) -> dict:
    derived = ("ess_per_second", "ess_per_draw", "limit", "efficiency")
    return {**asdict(row), **{name: getattr(row, name) for name in derived}}


def main() -> None:
    args = parse_arguments()
    logging.getLogger("pymc").setLevel(logging.ERROR)  # the table says what ran
    sections = set(args.sections.split(","))
    results: dict = {"cores": os.cpu_count()}
    if "fit" in sections:
        fits = fit_section(args)
        print()
        results["fit_ratios"] = print_fit_ratios(fits)
        results["fit"] = [fit_record(r) for r in fits]
    if sections & {"score", "tasks"}:
        fit = load_fit(bundled("fit.nc"))
        if "score" in sections:
            results["scoring"] = score_section(args, fit)
        if "tasks" in sections:
            results["tasks"] = task_section(args, fit)
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
