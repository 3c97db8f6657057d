"""The ``rnbayes`` command.

Each subcommand lives in :mod:`model.commands` and imports what it needs when it runs, so
``rnbayes --help`` starts fast. Bad input (an :class:`~model.core.errors.InputError`) is printed as
a list of problems with exit code 2, never as a traceback; so is a file or folder that cannot be
read or written (an existing folder where a file is wanted, a read-only place, a full disk).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from model import __version__
from model.commands import (
    cutoffs,
    data,
    decisions,
    evaluation,
    evidence,
    modelling,
    onboarding,
    priors,
    reports,
    serving,
    studies,
)
from model.commands.common import EXIT_BAD_INPUT, console
from model.core.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rnbayes",
        description="Bayesian decision support: tumour recurrence vs radiation necrosis after "
        "glioma chemoradiotherapy. Decision support, not a diagnosis.",
    )
    parser.add_argument("--version", action="version", version=f"rnbayes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        modelling,
        decisions,
        cutoffs,
        reports,
        studies,
        evaluation,
        onboarding,
        evidence,
        priors,
        data,
        serving,
    ):
        for add in module.COMMANDS:
            add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rnbayes`` command; returns the exit code (2 for a bad option, as argparse)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a bad option already explained by argparse
        return done.code if isinstance(done.code, int) else 2
    try:
        return args.run(args)
    except InputError as error:
        console(stderr=True).print(str(error), markup=False)
        return EXIT_BAD_INPUT
    except OSError as error:  # where an output or input cannot be written or read
        place = error.filename if error.filename is not None else "a file"
        reason = error.strerror or str(error)
        console(stderr=True).print(f"Could not use {place}: {reason}", markup=False)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
