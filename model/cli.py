"""The ``rnbayes`` command.

Each subcommand imports what it needs when it runs, so ``rnbayes --help`` starts fast. Bad input
(an :class:`~model.errors.InputError`) is printed as a list of problems with exit code 2, never as
a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from model.errors import InputError

EXIT_BAD_INPUT = 2

SYNTHETIC_NOTE = (
    "The bundled cohort is synthetic: drawn from the model with parameters calibrated to published "
    "figures (data/parameters.toml). It is not patient data."
)


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------
def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="draw a synthetic multi-center cohort from the model",
        description="Draw a synthetic cohort from the generative model with the parameters of "
        "data/parameters.toml (or --params). The bundled data/cohort.csv is "
        "'--n 600 --centers 8 --seed 1'.",
    )
    p.add_argument("--n", type=int, default=600, help="number of lesions (default 600)")
    p.add_argument("--centers", type=int, default=8, help="number of centers (default 8)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--params", help="parameter file (default: the bundled data/parameters.toml)")
    p.add_argument("--out", required=True, help="cohort CSV to write")
    p.add_argument("--truth", help="also write the true parameters and classes as JSON")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from model.parameters import load_parameters
    from model.simulate import simulate

    if args.n < 1 or args.centers < 1:
        raise InputError(
            [_argument_problem("--n/--centers", f"{args.n}/{args.centers}", "positive integers")]
        )
    parameters = load_parameters(args.params)
    cohort, truth = simulate(args.n, args.centers, args.seed, parameters)
    cohort.write_csv(args.out)
    if args.truth:
        truth.write_json(args.truth)
    _console().print(
        f"Wrote {len(cohort)} synthetic lesions from {args.centers} centers to {args.out}"
        + (f" (truth: {args.truth})" if args.truth else "")
    )
    return 0


def _argument_problem(option: str, value: str, expected: str):
    from model.errors import Problem

    return Problem("command line", None, option, value, expected)


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------
def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a cohort CSV or patient JSON and summarise it",
        description="Validate a cohort CSV (or a single-patient .json). Exit 0 with a summary, or "
        "exit 2 listing every problem with its row and column.",
    )
    p.add_argument("path", help="cohort CSV or patient JSON")
    p.set_defaults(run=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from model.schema import load_cohort, load_patient, summarize

    loader = load_patient if args.path.lower().endswith(".json") else load_cohort
    cohort = loader(args.path)
    console = _console()
    console.print(
        f"[bold green]OK[/] {args.path}: {len(cohort)} lesions, {len(cohort.centers)} centers"
    )
    for title, frame in summarize(cohort).items():
        console.print(_rich_table(title.replace("_", " ").capitalize(), frame))
    return 0


def _rich_table(title: str, frame):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    index_name = " / ".join(str(n) for n in frame.index.names if n) or ""
    table.add_column(index_name)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for label, row in frame.iterrows():
        table.add_row(str(label), *(_cell(v) for v in row))
    return table


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
_COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_simulate,
    _add_validate,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rnbayes",
        description="Bayesian decision support: tumour recurrence vs radiation necrosis after "
        "glioma chemoradiotherapy. Decision support, not a diagnosis.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rnbayes`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as error:
        _console(stderr=True).print(str(error), markup=False)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
