"""The data commands: ``simulate`` and ``validate``."""

from __future__ import annotations

import argparse

from model.commands.common import argument_problem, console
from model.core.console import markup_value
from model.core.errors import InputError
from model.core.numbers import count_option, whole_option


def add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="draw a synthetic multi-center cohort from the model",
        description="Draw a synthetic cohort from the generative model with the parameters of "
        "data/parameters.toml (or --params). The bundled data/cohort.csv is "
        "'--n 600 --centers 8 --seed 1'.",
    )
    p.add_argument("--n", type=count_option, default=600, help="number of lesions (default 600)")
    p.add_argument("--centers", type=count_option, default=8, help="number of centers (default 8)")
    p.add_argument("--seed", type=whole_option, default=1, help="random seed (default 1)")
    p.add_argument("--params", help="parameter file (default: the bundled data/parameters.toml)")
    p.add_argument("--out", required=True, help="cohort CSV to write")
    p.add_argument("--truth", help="also write the true parameters and classes as JSON")
    p.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from model.checks.simulation import simulate
    from model.inputs.parameters import load_parameters

    if args.n < 1 or args.centers < 1:
        raise InputError(
            [argument_problem("--n/--centers", f"{args.n}/{args.centers}", "positive integers")]
        )
    parameters = load_parameters(args.params)
    cohort, truth = simulate(args.n, args.centers, args.seed, parameters)
    cohort.write_csv(args.out)
    if args.truth:
        truth.write_json(args.truth)
    console().print(
        f"Wrote {len(cohort)} synthetic lesions from {args.centers} centers to {args.out}"
        + (f" (truth: {args.truth})" if args.truth else "")
    )
    return 0


def add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a cohort CSV or patient JSON and summarise it",
        description="Validate a cohort CSV (or a single-patient .json). Exit 0 with a summary, or "
        "exit 2 listing every problem with its row and column.",
    )
    p.add_argument("path", help="cohort CSV or patient JSON")
    p.add_argument(
        "--params", help="parameter file whose modalities define the columns (default: bundled)"
    )
    p.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from model.inputs.parameters import load_parameters
    from model.inputs.reading import load_cohort, load_patient
    from model.inputs.schema import summarize
    from model.inputs.treatment import WINDOW_ENTRY, under_bevacizumab

    parameters = load_parameters(args.params)
    loader = load_patient if args.path.lower().endswith(".json") else load_cohort
    cohort = loader(args.path, parameters.registry)
    out = console()
    out.print(
        f"[bold green]OK[/] {markup_value(args.path)}: {len(cohort)} lesions of "
        f"{cohort.patient_index[-1] + 1} patients, "
        f"{len(cohort.centers)} centers",
        markup=True,
    )
    window = parameters.value(WINDOW_ENTRY)
    treated = int(under_bevacizumab(cohort, window).sum())
    if treated:
        out.print(
            f"Note: {treated} lesion{'s were' if treated != 1 else ' was'} scanned within "
            f"{window:g} weeks of bevacizumab; predict, decide and report refuse "
            f"{'them' if treated != 1 else 'it'} unless given --allow-bevacizumab, and fit "
            "refuses them."
        )
    from model.core.console import frame_table

    for title, frame in summarize(cohort).items():
        out.print(frame_table(title.replace("_", " ").capitalize(), frame))
    return 0


def add_modalities(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "modalities",
        help="the declared modalities: columns, ranges, bounds, and the literature comparison",
        description="List every modality the parameter file declares (its columns, units, "
        "direction, misread bound and published accuracy); with --fit, compare each kind's "
        "generating and fitted within-center AUC with the published pooled AUC.",
    )
    p.add_argument("--params", help="parameter file (default: bundled)")
    p.add_argument("--fit", help="a fit file: its modalities, with the fitted AUC")
    p.add_argument("--markdown", action="store_true", help="print Markdown (for documentation)")
    p.set_defaults(run=run_modalities)


def run_modalities(args: argparse.Namespace) -> int:
    import pandas as pd

    from model.checks.literature import literature_comparison, markdown_table
    from model.core.console import frame_table
    from model.inputs.parameters import load_parameters
    from model.inputs.schema import modality_columns_markdown

    if args.fit:
        from model.fitting.sampling import load_fit

        fit = load_fit(args.fit)
        parameters, draws = fit.parameters, fit.draws
    else:
        parameters, draws = load_parameters(args.params), None
    comparison = literature_comparison(parameters, draws)
    if args.markdown:
        print(
            markdown_table(comparison)
            if args.fit
            else modality_columns_markdown(parameters.registry)
        )
        return 0
    out = console()
    rows = []
    for modality in parameters.registry:
        misread = f"modality.{modality.name}.misread"
        bound = (
            f"{modality.llr_bound(parameters.value(misread)):.2f}"
            if hasattr(modality, "llr_bound")
            else "Se/Sp"
        )
        direction = {1: "higher", -1: "lower"}.get(getattr(modality, "direction", 0), "positive")
        rows.append(
            {
                "modality": modality.name,
                "label": modality.label,
                "columns": ", ".join(modality.columns),
                "points to recurrence": direction,
                "max |log LR| of one result": bound,
            }
        )
    out.print(frame_table("Declared modalities", pd.DataFrame(rows).set_index("modality")))
    shown = comparison.set_index("kind")[
        [
            c
            for c in comparison.columns
            if c.endswith("auc") or c in ("published_low", "published_high")
        ]
    ]
    out.print(
        frame_table(
            "Within-center AUC against the published pooled AUC",
            shown,
            {c: ".3f" for c in shown.columns},
        )
    )
    return 0


COMMANDS = (add_simulate, add_validate, add_modalities)
