"""Helpers shared by the command modules: the console, argument problems, exit codes."""

from __future__ import annotations

import argparse

from model.core.errors import Problem

EXIT_BAD_INPUT = 2
#: ``fit`` wrote a fit that failed its convergence gate, or ``predict``/``decide`` answered from
#: one without ``--force``. Distinct from 1, which a crash would give.
EXIT_GATE_FAILED = 3


def add_gate_force_option(parser: argparse.ArgumentParser) -> None:
    """``--force``: accept answers from a fit that failed its convergence gate (exit 0)."""
    parser.add_argument(
        "--force",
        action="store_true",
        help="exit 0 even if the fit failed its convergence gate (the output still says so); "
        f"otherwise such a fit's answers end with exit code {EXIT_GATE_FAILED}",
    )


def gate_exit_code(fit, force: bool) -> int:
    """Warn about a fit that failed its convergence gate; the exit code its answers get."""
    if fit.gate.passed:
        return 0
    from model.core.console import gate_banner

    gate_banner(fit.gate)
    return 0 if force else EXIT_GATE_FAILED


def console(stderr: bool = False):
    """The CLI's rich console (imported lazily, so ``rnbayes --help`` stays fast)."""
    from model.core.console import console as make

    return make(stderr)


def argument_problem(option: str, value: str, expected: str) -> Problem:
    """A problem with a command-line option, for an :class:`~model.core.errors.InputError`."""
    return Problem("command line", None, option, value, expected)


def add_bevacizumab_option(parser: argparse.ArgumentParser) -> None:
    """The explicit override for lesions scanned under bevacizumab."""
    parser.add_argument(
        "--allow-bevacizumab",
        action="store_true",
        help="score lesions scanned within the bevacizumab window (12 weeks by default) as if "
        "untreated; refused otherwise. Every output then names them",
    )


def warn_bevacizumab(ids, count: int | None = None) -> None:
    """Say, at the top of the output, which lesions were scored under the override.

    ``ids``: those to name (at most ten are); ``count``: how many there are in all, if more.
    """
    ids = [str(i) for i in ids]
    count = len(ids) if count is None else count
    if count:
        named = ", ".join(ids[:10]) + (" ..." if count > min(len(ids), 10) else "")
        console().print(
            f"SCORED UNDER BEVACIZUMAB BY EXPLICIT OVERRIDE ({count:,} lesion"
            f"{'s' if count != 1 else ''}: {named}): their images were read as if untreated, "
            "though bevacizumab suppresses enhancement and perfusion."
        )
