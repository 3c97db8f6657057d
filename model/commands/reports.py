"""The report commands: ``report`` (tumor-board pages per lesion) and ``fit-report``."""

from __future__ import annotations

import argparse

from model.commands.common import add_bevacizumab_option, console, warn_bevacizumab


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML page (and PDF) per lesion, with an index",
        description="Tumor-board pages: inputs, P(recurrence) with its interval, the evidence "
        "waterfall, the lesion on its center's class densities, the recommendation with expected "
        "utilities, the value of PET or a rescan, what would change the decision, and provenance.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("patients", help="patients CSV or single-patient JSON")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the pages")
    p.add_argument(
        "--pdf", action="store_true", help="also print each page to PDF (needs Chromium)"
    )
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument(
        "--force", action="store_true", help="report a fit that failed its convergence gate"
    )
    add_bevacizumab_option(p)
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.report.patient import lesion_reports

    params = load_decision_parameters(args.params)
    files = lesion_reports(
        args.fit,
        args.patients,
        args.out,
        params,
        pdf=args.pdf,
        force=args.force,
        allow_bevacizumab=args.allow_bevacizumab,
    )
    warn_bevacizumab(files.under_bevacizumab)
    extra = f" and {len(files.pdfs)} PDFs" if files.pdfs else ""
    console().print(f"Wrote {len(files.pages)} lesion pages{extra} and {files.index}")
    return 0


def add_fit_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-report",
        help="convergence, priors, predictive checks, calibration and LOO of a fit",
        description="One self-contained HTML page about a fit. The checks on data need the "
        "training lesions: stored in the fit (fit --store-data) or given with --cohort.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--cohort", help="the training cohort CSV (if the fit does not store it)")
    p.add_argument(
        "--force", action="store_true", help="report a fit that failed its convergence gate"
    )
    p.set_defaults(run=run_fit_report)


def run_fit_report(args: argparse.Namespace) -> int:
    from model.report.fit_report import fit_report

    console().print(f"Wrote {fit_report(args.fit, args.out, cohort=args.cohort, force=args.force)}")
    return 0


COMMANDS = (add_report, add_fit_report)
