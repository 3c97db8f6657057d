"""The study command: ``sbc`` (simulation-based calibration and operating characteristics)."""

from __future__ import annotations

import argparse

from model.commands.common import add_study_options, argument_problem, console
from model.core.errors import InputError
from model.core.numbers import count_option, whole_option


def add_sbc(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sbc",
        help="simulation-based calibration of the fit, on Dask (resumable)",
        description="Draw parameters from the priors, simulate a cohort, fit, and record the rank "
        "of every true parameter among the posterior draws; on held-out lesions, the coverage of "
        "the P(recurrence) interval and the calibration. Runs on a local Dask cluster or "
        "--scheduler; a study folder already holding results is resumed.",
    )
    p.add_argument("--n-sims", type=count_option, required=True, help="simulations wanted in total")
    p.add_argument("--out", default="sbc", help="study folder (default ./sbc)")
    add_study_options(p)
    p.add_argument(
        "--lesions", type=count_option, default=150, help="training lesions per simulation (150)"
    )
    p.add_argument("--centers", type=count_option, default=4, help="centers per simulation (4)")
    p.add_argument("--draws", type=count_option, default=250, help="draws per chain (250)")
    p.add_argument("--seed", type=whole_option, default=1, help="study seed (1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_sbc)


def run_sbc(args: argparse.Namespace) -> int:
    from pathlib import Path

    from model.checks.sbc import (
        SBCSettings,
        load_study,
        operating_characteristics,
        plot_ranks,
        run_study,
        uniformity,
    )
    from model.core.files import atomic_write_text, save_figure
    from model.core.outputs import json_text

    if min(args.n_sims, args.lesions, args.centers, args.draws) < 1:
        raise InputError(
            [argument_problem("--n-sims/--lesions/--centers/--draws", "", "positive integers")]
        )
    settings = SBCSettings(
        n_lesions=args.lesions, n_centers=args.centers, draws=args.draws, seed=args.seed
    )
    done = run_study(
        args.n_sims, args.out, settings, args.scheduler, args.workers, progress=not args.quiet
    )
    ranks, results, settings = load_study(args.out)
    table = uniformity(ranks, settings.thin_to)
    characteristics = operating_characteristics(results)
    folder = Path(args.out)
    summary = {
        "uniformity": table.to_dict(orient="records"),
        "operating_characteristics": characteristics,
        "bonferroni_level": table.attrs["bonferroni_level"],
    }
    atomic_write_text(folder / "summary.json", json_text(summary, indent=1))
    save_figure(plot_ranks(ranks, settings.thin_to), folder / "ranks.png")
    out = console()
    out.print(f"{done['computed']} simulations run now, {done['total']} in {folder}")
    failing = table[table["fails"]]
    level, smallest = table.attrs["bonferroni_level"], table["p_value"].min()
    out.print(
        f"Uniformity of ranks (chi-square, Bonferroni level {level:.2g}): {len(failing)} of "
        f"{len(table)} parameters fail; smallest p = {smallest:.3g} ({table['parameter'].iloc[0]})"
    )
    if table.attrs["too_few"]:
        out.print(
            f"Caution: {len(ranks)} simulations are too few for this test (fewer than five per "
            "rank bin): it can hardly detect a miscalibrated parameter, so few failures say "
            "little. Run 200 or more (--n-sims; finished ones are kept)."
        )
    c = characteristics
    out.print(
        f"Held-out lesions: 90% interval covers the true-parameter P(recurrence) for "
        f"{c['coverage_mean']:.3f} of lesions (5-95% over simulations {c['coverage_low']:.3f}-"
        f"{c['coverage_high']:.3f}); calibration error {c['expected_calibration_error']:.3f}, "
        f"Brier {c['brier']:.3f} over {c['lesions']} lesions"
    )
    return 0 if failing.empty else 1


COMMANDS = (add_sbc,)
