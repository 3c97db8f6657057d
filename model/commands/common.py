"""Helpers shared by the command modules: the console, argument problems, exit codes."""

from __future__ import annotations

from model.core.errors import Problem

EXIT_BAD_INPUT = 2
EXIT_GATE_FAILED = 1


def console(stderr: bool = False):
    """The CLI's rich console (imported lazily, so ``rnbayes --help`` stays fast)."""
    from model.core.console import console as make

    return make(stderr)


def argument_problem(option: str, value: str, expected: str) -> Problem:
    """A problem with a command-line option, for an :class:`~model.core.errors.InputError`."""
    return Problem("command line", None, option, value, expected)
