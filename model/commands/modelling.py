"""The modelling commands: ``demo``, ``fit``, ``predict``, ``summary``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from model.commands.common import (
    EXIT_GATE_FAILED,
    add_bevacizumab_option,
    add_fhir_option,
    add_gate_force_option,
    add_sampler_options,
    argument_problem,
    console,
    gate_exit_code,
    warn_bevacizumab,
    write_fhir,
)
from model.core.errors import InputError
from model.core.numbers import number_option, probability_option


def add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit the model to a cohort with NUTS and write the fit file",
        description="Fit the hierarchical latent-class model with NUTS (nutpie by default) and "
        "write one netCDF fit file with provenance and diagnostics. Exit 3 if the convergence "
        "gate fails (the file is still written, marked as failed).",
    )
    p.add_argument("cohort", help="cohort CSV")
    p.add_argument("--out", required=True, help="fit file to write (.nc)")
    add_sampler_options(p)
    p.add_argument(
        "--target-accept",
        type=number_option,
        help="NUTS target acceptance (default 0.9 below 2,000 lesions, 0.8 from there)",
    )
    p.add_argument("--sampler", choices=("nutpie", "pymc"), default="nutpie")
    p.add_argument("--store-data", action="store_true", help="keep the training rows in the fit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_fit)


def run_fit(args: argparse.Namespace) -> int:
    from model.core.console import gate_banner
    from model.fitting.sampling import SamplerSettings, fit
    from model.inputs.parameters import load_parameters
    from model.inputs.reading import load_cohort

    parameters = load_parameters(args.params)
    cohort = load_cohort(args.cohort, parameters.registry)
    try:
        settings = SamplerSettings(
            sampler=args.sampler,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            target_accept=args.target_accept,
        )
    except ValueError as error:
        raise InputError(
            [argument_problem("--draws/--tune/--chains/--target-accept", "", str(error))]
        ) from None
    console().print(
        f"Fitting {len(cohort)} lesions from {len(cohort.centers)} centers with {args.sampler}"
    )
    result = fit(
        cohort, parameters, settings, progress=not args.quiet, store_training_data=args.store_data
    )
    result.save(args.out)
    timing = result.provenance["sampler"]
    console().print(
        f"Wrote {args.out} ({result.provenance['elapsed_seconds']:.0f} s; sampling "
        f"{timing['sampling_seconds']:.0f} s)"
    )
    gate_banner(result.gate, stderr=not result.gate.passed)
    return 0 if result.gate.passed else EXIT_GATE_FAILED


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="posterior probability of recurrence for patients",
        description="Score lesions with a fit: P(recurrence) (mean over posterior draws), its "
        "equal-tailed interval, and each modality's log likelihood ratio. Up to 40 lesions are "
        "shown as a table; more are summarised, and --out writes them all, reading and scoring "
        "the file a block of rows at a time.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "patients",
        nargs="?",
        help="patients CSV (cohort format) or single-patient JSON (or give --fhir-in)",
    )
    p.add_argument(
        "--fhir-in",
        action="append",
        default=[],
        metavar="BUNDLE",
        help="read the lesion from a FHIR Bundle of input Observations instead (repeat for the "
        "lesions of one patient)",
    )
    add_fhir_option(p)
    p.add_argument(
        "--ci-prob",
        type=probability_option,
        default=0.90,
        help="interval probability (default 0.90)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", help="also write the table as CSV")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_bevacizumab_option(p)
    add_gate_force_option(p)
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from model.fitting.sampling import load_fit
    from model.scoring.predict import predict
    from model.scoring.stream import summarize_predictions, write_predictions

    if not 0 < args.ci_prob < 1:
        raise InputError([argument_problem("--ci-prob", str(args.ci_prob), "a number in (0, 1)")])
    if (args.patients is None) == (not args.fhir_in):
        found = "both" if args.patients else "neither"
        expected = "either a patients file or --fhir-in BUNDLE"
        raise InputError([argument_problem("patients", found, expected)])
    fit = load_fit(args.fit)
    if args.fhir_in:
        from model.inputs.fhir import load_fhir_bundles

        args.patients = load_fhir_bundles(args.fhir_in, fit.registry)
        args.quiet = True
    if args.fhir:
        write_fhir(args, fit)
    if args.json:
        from model.core.outputs import json_text, write_csv

        table = predict(
            fit, args.patients, ci_prob=args.ci_prob, allow_bevacizumab=args.allow_bevacizumab
        )
        if args.out:
            write_csv(args.out, table)
        document = {**table.attrs, "predictions": table.to_dict(orient="records")}
        print(json_text(document, indent=1))
    elif args.out:
        with _lesion_progress(args.patients, disable=args.quiet) as advance:
            summary = write_predictions(
                fit,
                args.patients,
                args.out,
                ci_prob=args.ci_prob,
                progress=advance,
                allow_bevacizumab=args.allow_bevacizumab,
            )
        _print_predictions(summary, fit, args.out)
    else:
        table = predict(fit, args.patients, args.ci_prob, allow_bevacizumab=args.allow_bevacizumab)
        _print_predictions(summarize_predictions(table), fit)
    return gate_exit_code(fit, args.force)


@contextmanager
def _lesion_progress(patients: str, disable: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over a patient file's lines, on stderr, for files of many blocks."""
    from rich.progress import Progress

    from model.commands.common import console
    from model.inputs.reading import BLOCK_ROWS

    lines = 0 if disable else _count_lines(patients)  # a second read only to size the bar
    with Progress(console=console(stderr=True), transient=True, disable=disable) as bar:
        task = bar.add_task("Scoring lesions", total=max(lines - 1, 1), visible=lines > BLOCK_ROWS)
        yield lambda lesions: bar.advance(task, lesions)


def _count_lines(path: str) -> int:
    """Lines in a file (an upper bound on its records), read in 1 MiB pieces; 0 if unreadable."""
    try:
        with open(path, "rb") as handle:
            return sum(piece.count(b"\n") for piece in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0  # the reader reports the file


def _print_predictions(summary, fit, out_path: str | None = None) -> None:
    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table

    out = console()
    table = summary.head
    level = round(100 * table.attrs["ci_prob"])
    warn_bevacizumab(table["patient_id"][table["under_bevacizumab"]], summary.under_bevacizumab)
    if summary.complete:
        out.print(_predictions_table(table, fit, level))
        out.print(_categories_table(table, level))
    else:
        out.print(
            f"{summary.lesions:,} lesions scored ({summary.unseen_center:,} from centers the fit "
            f"has not seen), by posterior P(recurrence), the mean over posterior draws:"
        )
        out.print(
            frame_table(
                "Lesions per band of P(recurrence)",
                summary.bands(),
                {"lesions": ",.0f", "share": ".1%"},
            )
        )
        out.print(
            f"{summary.flagged:,} lesions where a radiology category (BT-RADS, RANO 2.0) and the "
            "model lean opposite ways (category_flag)."
        )
    if out_path is not None:
        out.print(f"All {summary.lesions:,} predictions, with {level}% intervals: {out_path}")
    elif not summary.complete:
        out.print("Give --out FILE to write every prediction, with its interval, as CSV.")
    out.print(f"Model fitted to: {fit.provenance['cohort']['name']}")
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


def _predictions_table(table, fit, level: int):
    """The predictions with their intervals and evidence breakdown, one lesion a row."""
    import pandas as pd

    from model.core.console import frame_table
    from model.inputs.schema import lesion_name

    names = list(map(lesion_name, table["patient_id"], table["lesion_id"]))
    shown = pd.DataFrame(index=pd.Index(names, name="lesion"))
    shown["center"] = [
        c if seen else f"{c} (unseen)"
        for c, seen in zip(table["center"], table["center_seen"], strict=True)
    ]
    shown[f"P(recurrence) [{level}% interval]"] = [
        f"{p:.3f} [{lo:.3f}, {hi:.3f}]"
        for p, lo, hi in zip(table["p_recurrence"], table["ci_low"], table["ci_high"], strict=True)
    ]
    names = {
        "prior_log_odds": "prior",
        **{f"llr_{m.name}": m.name for m in fit.registry},
        "llr_symptoms": "symptoms",
        "llr_growth": "growth",
        **({"llr_other_lesions": "other lesions"} if table["llr_other_lesions"].any() else {}),
        "log_odds": "= log-odds",
    }
    for column, label in names.items():
        shown[label] = table[column].to_numpy()
    return frame_table(
        f"Posterior P(recurrence) with its {level}% equal-tailed interval over posterior draws; "
        "log-odds = prior + log likelihood ratios, averaged over draws",
        shown,
        {label: "+.2f" for label in names.values()},
    )


def _categories_table(table, level: int):
    """P(recurrence) beside the radiology categories at each lesion's latest scan."""
    import pandas as pd

    from model.core.console import frame_table
    from model.inputs.schema import lesion_name

    names = list(map(lesion_name, table["patient_id"], table["lesion_id"]))
    shown = pd.DataFrame(index=pd.Index(names, name="lesion"))
    shown[f"P(recurrence) [{level}%]"] = [
        f"{p:.2f} [{lo:.2f}, {hi:.2f}]"
        for p, lo, hi in zip(table["p_recurrence"], table["ci_low"], table["ci_high"], strict=True)
    ]
    shown["BT-RADS"] = table["btrads"].to_numpy()
    if table["btrads_read"].notna().any():
        shown["BT-RADS (report)"] = table["btrads_read"].fillna("").to_numpy()
    shown["RANO 2.0"] = table["rano"].to_numpy()
    shown["disagreement"] = table["category_flag"].to_numpy()
    return frame_table(
        "Radiology categories at each lesion's latest scan, by their published rules (BT-RADS "
        "flowchart, RANO 2.0); shown beside the model, never counted in it",
        shown,
        {},
    )


def add_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="parameters with intervals, diagnostics and provenance")
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--ci-prob",
        type=probability_option,
        default=0.90,
        help="interval probability (default 0.90)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_summary)


def run_summary(args: argparse.Namespace) -> int:
    from model.fitting.diagnostics import parameter_summary
    from model.fitting.sampling import load_fit
    from model.likelihood.draws import hyperparameters

    fit = load_fit(args.fit)
    table = parameter_summary(fit.posterior, hyperparameters(fit.registry), ci_prob=args.ci_prob)
    if args.json:
        from model.core.outputs import json_text

        print(
            json_text(
                {"provenance": fit.provenance, "parameters": table.to_dict(orient="index")},
                indent=1,
            )
        )
        return 0
    from model.core.console import frame_table, gate_banner, terminal_text

    out = console()
    p = fit.provenance
    onboarded = p.get("onboarded", [])
    out.print(
        f"Fit of {p['cohort']['name']}: {p['cohort']['n_lesions']} lesions, "
        f"{len(p['cohort']['centers']) - len(onboarded)} centers, "
        f"{p['cohort']['n_labelled']} labelled"
    )
    for record in onboarded:  # centers added later from their own lesions (rnbayes onboard)
        out.print(
            terminal_text(
                f"Onboarded without refitting: center {record['center']}, from "
                f"{record['lesions']} of its lesions ({record['created']})"
            ),
            markup=False,
        )
    s = p["sampler"]
    out.print(
        f"Sampler {s['sampler']}: {s['chains']} chains x {s['draws']} draws "
        f"(+{s['tune']} warm-up), "
        f"seed {s['seed']}; centred families: {', '.join(s['centered']) or 'none'}"
    )
    out.print(
        f"rnbayes {p['package_version']}, model version {p['model_version']}, "
        f"created {p['created']}"
    )
    level = round(100 * args.ci_prob)
    columns = ["mean", "sd", "eti_low", "eti_high", "ess_bulk", "ess_tail", "r_hat"]
    formats = {c: ".3f" for c in columns}
    formats.update({"ess_bulk": ".0f", "ess_tail": ".0f"})
    out.print(
        frame_table(
            f"Population parameters ({level}% equal-tailed intervals)", table[columns], formats
        )
    )
    gate_banner(fit.gate, stderr=False)
    return 0


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="score the example patients with the bundled fit of the synthetic cohort",
        description="Load the bundled fit of the synthetic cohort (or refit it with --refit) and "
        "print the example patients' posteriors.",
    )
    p.add_argument(
        "--refit", action="store_true", help="fit the bundled cohort again (about 1-2 min)"
    )
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from model.core.console import SYNTHETIC_NOTE
    from model.core.files import bundled
    from model.fitting.sampling import fit, load_fit
    from model.inputs.reading import load_cohort
    from model.scoring.predict import predict

    out = console()
    out.print(f"[bold]rnbayes demo[/]. {SYNTHETIC_NOTE}", markup=True)
    if args.refit:
        out.print("Fitting the bundled synthetic cohort (600 lesions, 8 centers)...")
        result = fit(load_cohort(bundled("cohort.csv")))
    else:
        result = load_fit(bundled("fit.nc"))
        out.print(
            f"Loaded the bundled fit (created {result.provenance['created']}); --refit to refit."
        )
    from model.scoring.stream import summarize_predictions

    _print_predictions(
        summarize_predictions(predict(result, bundled("patients_example.csv"))), result
    )
    from model.core.console import gate_banner

    gate_banner(result.gate, stderr=False)
    return 0


COMMANDS = (add_demo, add_fit, add_predict, add_summary)
