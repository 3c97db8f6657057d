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


def add_fhir_option(parser: argparse.ArgumentParser) -> None:
    """``--fhir DIR``: also write one HL7 FHIR R4 Bundle per lesion."""
    parser.add_argument(
        "--fhir",
        metavar="DIR",
        help="also write one HL7 FHIR R4 Bundle per lesion there (RiskAssessment, "
        "DiagnosticReport with the HTML report, input Observations; data/README.md)",
    )


def write_fhir(args: argparse.Namespace, fit, report=None) -> None:
    """Write the Bundles of ``--fhir`` for the command's patients, and say where."""
    from model.core.console import markup_value
    from model.decision.parameters import load_decision_parameters
    from model.report.fhir import write_bundles

    params = load_decision_parameters(getattr(args, "params", None))
    paths = write_bundles(
        fit,
        args.patients,
        args.fhir,
        params,
        report=report,
        force=getattr(args, "force", False),
        allow_bevacizumab=args.allow_bevacizumab,
    )
    console(stderr=True).print(f"Wrote {len(paths)} FHIR Bundles to {markup_value(args.fhir)}")


def add_sampler_options(parser: argparse.ArgumentParser) -> None:
    """Draws, warm-up, chains, seed and priors of a fit (``fit``, every fold of ``crossval``)."""
    from model.core.numbers import count_option, whole_option

    parser.add_argument(
        "--draws", type=count_option, default=1000, help="draws per chain (default 1000)"
    )
    parser.add_argument(
        "--tune",
        type=whole_option,
        help="warm-up draws per chain (default 300 with nutpie, 1000 with pymc)",
    )
    parser.add_argument("--chains", type=count_option, default=4, help="chains (default 4)")
    parser.add_argument("--seed", type=whole_option, default=1, help="random seed (default 1)")
    parser.add_argument("--params", help="parameter file with the priors (default: bundled)")


def add_study_options(parser: argparse.ArgumentParser) -> None:
    """Where a resumable study's fits run: a Dask scheduler, local processes, or this process."""
    from model.core.numbers import whole_option

    parser.add_argument(
        "--scheduler", help="address of a running Dask scheduler (default: a local cluster)"
    )
    parser.add_argument(
        "--workers",
        type=whole_option,
        help="local cluster processes (default: the CPUs); 0 runs the fits one after another in "
        "this process, without Dask",
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
