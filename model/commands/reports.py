"""The report commands: ``report`` (tumor-board pages per lesion) and ``fit-report``."""

from __future__ import annotations

import argparse

from model.commands.common import (
    add_bevacizumab_option,
    add_fhir_option,
    console,
    warn_bevacizumab,
    write_fhir,
)


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
    add_fhir_option(p)
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
    if args.fhir:
        write_fhir(args, args.fit, report=files)
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


def add_model_card(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "model-card",
        help="a TRIPOD+AI appendix and model card (Markdown and HTML) for a fit",
        description="Fill the TRIPOD+AI checklist (Collins et al., BMJ 2024;385:e078378) from what "
        "the fit records, its training cohort and an evaluation of it; the items only the "
        "authors can answer are listed for them. Writes model_card.md and model_card.html.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the two files")
    p.add_argument(
        "--evaluation",
        metavar="DIR",
        help="a folder written by 'rnbayes evaluate --out' or 'rnbayes crossval --out' "
        "for this fit",
    )
    p.add_argument(
        "--cohort",
        help="the training cohort, for patients and labels per center (default: the rows the fit "
        "stores, or the bundled cohort for a fit of it)",
    )
    p.set_defaults(run=run_model_card)


def run_model_card(args: argparse.Namespace) -> int:
    from model.core.console import SYNTHETIC_NOTE, terminal_text
    from model.report.model_card import AUTHORS, PARTLY, model_card
    from model.report.model_card_files import status_counts, write_model_card

    card = model_card(args.fit, cohort=args.cohort, evaluation=args.evaluation)
    markdown, html = write_model_card(card, args.out)
    counts = status_counts(card)
    out = console()
    out.print(terminal_text(f"Wrote {markdown} and {html}"), markup=False)
    out.print(
        ", ".join(f"{n} {status}" for status, n in counts.items())
        + f" of {len(card.items)} TRIPOD+AI items."
    )
    todo = [i.item.item for i in card.items if i.status in (AUTHORS, PARTLY)]
    out.print("For the authors to complete: " + ", ".join(todo))
    if card.synthetic:
        out.print(SYNTHETIC_NOTE)
    if card.evaluation is None:
        out.print(
            "No evaluation given: performance (items 23a, 23b) needs a folder from rnbayes "
            "evaluate --out or rnbayes crossval --out (--evaluation)."
        )
    return 0


COMMANDS = (add_report, add_fit_report, add_model_card)
