"""The cutoff commands: ``cutoffs`` (analyses of a fit) and ``dca`` (decision curves of a table)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import argument_problem, console
from model.core.errors import InputError
from model.core.numbers import parse_number, probability_option


def add_cutoffs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cutoffs",
        help="sensitivity, specificity, ROC, optimal and transported cutoffs, with posterior bands",
        description="From the fitted class-conditional distributions, per technique or tracer, per "
        "center, pooled and for a new center: accuracy at cutoffs, AUC, Youden- and "
        "utility-optimal cutoffs, how a center's cutoff transports to another, AND/OR rules of "
        "perfusion and PET and, with --cohort, the model against observed labelled data.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--modality",
        action="append",
        help="a marker kind of the fit: DSC, ASL, MET, FET, ... (repeatable; default all)",
    )
    p.add_argument("--center", action="append", help="centers to show (repeatable; default all)")
    p.add_argument(
        "--cutoffs", help="comma-separated cutoffs (default: the classic one per modality)"
    )
    p.add_argument(
        "--prevalence", type=probability_option, default=0.6, help="prevalence for PPV/NPV (0.6)"
    )
    p.add_argument("--params", help="decision parameters: the threshold of utility-optimal cutoffs")
    p.add_argument(
        "--cohort", help="a labelled cohort CSV for the empirical check and decision curves"
    )
    p.add_argument(
        "--ci-prob",
        type=probability_option,
        default=0.90,
        help="interval probability (default 0.90)",
    )
    p.add_argument("--out", metavar="DIR", help="write tables (CSV) and figures (PNG) there")
    p.set_defaults(run=run_cutoffs)


def run_cutoffs(args: argparse.Namespace) -> int:
    from model.cutoffs import analysis as an
    from model.decision.parameters import load_decision_parameters
    from model.decision.thresholds import parameter_thresholds
    from model.fitting.sampling import load_fit

    if not 0 < args.prevalence < 1 or not 0 < args.ci_prob < 1:
        raise InputError([argument_problem("--prevalence/--ci-prob", "", "numbers in (0, 1)")])
    extra = _parse_cutoffs(args.cutoffs)
    fit = load_fit(args.fit)
    known = an.kinds(fit)
    unknown = [m for m in args.modality or () if m not in known]
    if unknown:
        raise InputError(
            [
                argument_problem("--modality", m, f"one of the fit's kinds: {', '.join(known)}")
                for m in unknown
            ]
        )
    threshold = parameter_thresholds(load_decision_parameters(args.params)).treat
    tables: dict[str, list] = {
        k: [] for k in ("accuracy", "auc", "optimal", "transport", "empirical")
    }
    figures = {}
    for modality in args.modality or known:
        names = an.groups(fit, modality)
        if args.center:
            names = [g for g in names if g in args.center or g in (an.POOLED, an.NEW_CENTER)]
        cutoffs = extra or [an.classic_cutoff(fit, modality)]
        tables["accuracy"].append(
            an.accuracy_table(fit, modality, cutoffs, names, args.prevalence, args.ci_prob)
        )
        tables["auc"].append(an.auc_table(fit, modality, names, args.ci_prob))
        tables["optimal"].append(
            an.optimal_cutoff_table(fit, modality, names, threshold, args.prevalence, args.ci_prob)
        )
        if sum(g in fit.centers for g in names) > 1:
            tables["transport"].append(an.transport_table(fit, modality, args.ci_prob))
        if args.cohort:
            tables["empirical"].append(
                an.empirical_check(fit, args.cohort, modality, cutoffs, args.ci_prob)
            )
        if args.out:
            figures.update(_modality_figures(fit, modality, names, args))
    selected = set(args.modality or known)
    pairs = [("DSC", tracer) for tracer in ("MET", "FET") if {"DSC", tracer} <= selected]
    combined = [
        an.combined_table(
            fit,
            first,
            second,
            an.classic_cutoff(fit, first),
            an.classic_cutoff(fit, second),
            ci_prob=args.ci_prob,
        ).sort_values("rule", kind="stable")  # AND then OR, each over its groups
        for first, second in pairs
    ]
    import pandas as pd

    frames = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items() if parts}
    if combined:
        frames["combined"] = pd.concat(combined, ignore_index=True)
    if args.cohort:
        frames["decision_curve"] = an.labelled_decision_curves(
            fit, _labelled(fit, args.cohort), ci_prob=args.ci_prob
        )
    _print_cutoffs(frames, fit, threshold, args)
    if args.out:
        _write_outputs(frames, figures, Path(args.out), fit)
    return 0


def _labelled(fit, cohort):
    """The cohort's labelled predictions; in-sample ones with their leave-one-out correction."""
    from model.checks.loo import with_leave_one_out
    from model.evaluation.external import score_labelled

    made = score_labelled(fit, cohort)
    return with_leave_one_out(made, fit, cohort) if made.in_sample else made


def _parse_cutoffs(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise InputError([argument_problem("--cutoffs", text, "comma-separated positive numbers")])
    return values


def _modality_figures(fit, modality, names, args) -> dict:

    from model.cutoffs import analysis as an
    from model.cutoffs import plots
    from model.scoring.curves import natural_grid

    caption = plots.SYNTHETIC_CAPTION if fit.provenance["cohort"].get("synthetic") else None
    shown = [g for g in names if g in (an.POOLED, an.NEW_CENTER)] or names[:2]
    rocs = [an.roc_table(fit, modality, g, args.ci_prob) for g in shown]
    grid = natural_grid(an.lookup(fit, modality)[1], 80)
    curve = an.accuracy_table(fit, modality, grid, shown, args.prevalence, args.ci_prob)
    optimal = {g: an.optimal_cutoff_draws(fit, modality, g) for g in names}
    figures = {
        f"roc_{modality}.png": plots.plot_roc(rocs, caption),
        f"accuracy_{modality}.png": plots.plot_accuracy(curve),
        f"optimal_{modality}.png": plots.plot_optimal(optimal, modality),
    }
    if sum(g in fit.centers for g in names) > 1:
        figures[f"transport_{modality}.png"] = plots.plot_transport(
            an.transport_table(fit, modality, args.ci_prob)
        )
    return figures


def _print_cutoffs(frames: dict, fit, threshold: float, args) -> None:
    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table

    out = console()
    level = round(100 * args.ci_prob)
    accuracy = frames["accuracy"]
    wide = accuracy[accuracy["metric"].isin(["sensitivity", "specificity", "ppv", "npv"])].copy()
    wide["value"] = _interval_text(wide["mean"], wide["eti_low"], wide["eti_high"])
    table = wide.pivot_table(
        index=["modality", "cutoff", "group"],
        columns="metric",
        values="value",
        aggfunc="first",
        sort=False,
    )
    out.print(
        frame_table(
            f"Accuracy at cutoffs (posterior mean [{level}% interval]; PPV/NPV at "
            f"prevalence {args.prevalence:g})",
            table,
        )
    )
    auc = frames["auc"].set_index(["modality", "group"])
    out.print(frame_table("AUC", auc, {c: ".3f" for c in auc.columns}))
    if _same_auc_at_every_center(frames["auc"]):
        out.print(
            "The AUC is the same at every training center: a center's offset moves both classes "
            "together, which changes the accuracy at a fixed cutoff but not how well the marker "
            "separates the classes. Pooled and new-center AUCs are lower, since there the offsets "
            "blur the two classes."
        )
    optimal = frames["optimal"].set_index(["modality", "group", "method"])
    out.print(
        frame_table(
            f"Optimal cutoffs (Youden; utility at the treatment threshold {threshold:.3f})",
            optimal,
            {c: ".2f" for c in optimal.columns},
        )
    )
    if "transport" in frames:
        t = frames["transport"]
        worst = t.loc[t.groupby("modality")["youden_loss_mean"].idxmax()]
        shown = worst.set_index("modality")[
            ["from_center", "to_center", "youden_loss_mean", "youden_loss_eti_high"]
        ]
        out.print(
            frame_table(
                "Worst transport of a center's optimal cutoff (loss in Youden index)",
                shown,
                {"youden_loss_mean": ".3f", "youden_loss_eti_high": ".3f"},
            )
        )
    if "combined" in frames:
        combined = frames["combined"].set_index(["rule", "group"])
        shown = combined[[]].copy()
        for name in ("sensitivity", "specificity"):
            shown[name] = _interval_text(
                combined[f"{name}_mean"], combined[f"{name}_eti_low"], combined[f"{name}_eti_high"]
            )
        out.print(frame_table("Two-modality rules (independent given the class and center)", shown))
    if "empirical" in frames:
        e = frames["empirical"].set_index(["modality", "cutoff", "metric"])
        out.print(
            frame_table(
                "Model against observed (histopathology-labelled lesions)",
                e,
                {c: ".3f" for c in e.columns if c != "n"},
            )
        )
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


def _same_auc_at_every_center(auc) -> bool:
    """Whether each modality's per-center AUCs agree (they do when centers only shift)."""
    from model.cutoffs.analysis import NEW_CENTER, POOLED

    centers = auc[~auc["group"].isin([POOLED, NEW_CENTER])]
    spread = centers.groupby("modality")["mean"].agg(lambda m: m.max() - m.min())
    return bool(len(centers) > len(spread)) and bool((spread < 5e-4).all())


def _interval_text(mean, low, high) -> list[str]:
    return [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(mean, low, high, strict=True)]


def _write_outputs(frames: dict, figures: dict, folder: Path, fit) -> None:
    from model.core.files import save_figure
    from model.core.outputs import write_csv

    for name, frame in frames.items():
        write_csv(folder / f"{name}.csv", frame)
    for name, figure in figures.items():
        save_figure(figure, folder / name)
    if "decision_curve" in frames:
        from model.cutoffs.plots import SYNTHETIC_CAPTION, plot_decision_curves

        caption = SYNTHETIC_CAPTION if fit.provenance["cohort"].get("synthetic") else None
        save_figure(
            plot_decision_curves(frames["decision_curve"], caption), folder / "decision_curve.png"
        )


def add_dca(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dca",
        help="decision curves for a table of outcomes and predicted probabilities (dcurves format)",
        description="Net benefit and net interventions avoided by threshold for each probability "
        "column, treat-all and treat-none, in the long format of the dcurves package.",
    )
    p.add_argument("data", help="CSV with an outcome column and probability columns")
    p.add_argument("--outcome", required=True, help="outcome column (1/true = recurrence)")
    p.add_argument(
        "--model", action="append", required=True, help="probability column (repeatable)"
    )
    p.add_argument(
        "--harm", action="append", default=[], metavar="COL=VALUE", help="harm of a strategy"
    )
    p.add_argument(
        "--prevalence", type=probability_option, help="population prevalence (case-control data)"
    )
    p.add_argument(
        "--thresholds",
        default="0:1:0.01",
        metavar="START:STOP:STEP",
        help="threshold grid, STOP excluded (default 0:1:0.01)",
    )
    p.add_argument("--out", required=True, help="CSV to write")
    p.set_defaults(run=run_dca)


def _threshold_grid(text: str):
    """START:STOP:STEP as a grid that excludes STOP (as dcurves does), or None if invalid."""
    import numpy as np

    bounds = [parse_number(x.strip()) for x in text.split(":")]
    if len(bounds) != 3 or None in bounds:
        return None
    start, stop, step = bounds
    if not (step > 0 and 0 <= start < stop <= 1):
        return None
    count = int(np.ceil((stop - step / 2 - start) / step))  # STOP excluded, as np.arange
    # start + k * step, not a running sum, and rounded: 0.3 is written 0.3, not 0.30000000000000004
    grid = np.round(start + step * np.arange(max(count, 0)), 12)
    return grid if len(grid) else None


def run_dca(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from model.core.errors import Problem
    from model.core.outputs import write_csv
    from model.decision.curves import decision_curve

    harm, problems = {}, []
    for item in args.harm:
        name, _, value = item.partition("=")
        number = parse_number(value.strip())
        if number is None:
            problems.append(argument_problem("--harm", item, "COLUMN=NUMBER"))
        else:
            harm[name] = number
    thresholds = _threshold_grid(args.thresholds)
    if thresholds is None:
        problems.append(
            argument_problem(
                "--thresholds",
                args.thresholds,
                "START:STOP:STEP with 0 <= START < STOP <= 1, STEP > 0 and at least one threshold",
            )
        )
    try:
        data = pd.read_csv(args.data)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        problems.append(
            Problem(Path(args.data).name, None, None, None, f"a readable CSV ({error})")
        )
    if problems:
        raise InputError(problems)
    try:
        table = decision_curve(
            data, args.outcome, args.model, thresholds, harm or None, args.prevalence
        )
    except InputError as error:
        name = Path(args.data).name
        rows = [
            Problem(name, None if p.row is None else int(p.row) + 2, p.column, p.value, p.expected)
            for p in error.problems
        ]
        raise InputError(rows) from None
    write_csv(args.out, table)
    best = table.loc[table.groupby("threshold")["net_benefit"].idxmax()]
    console().print(
        f"Wrote {len(table)} rows to {args.out}. Strategy with the highest net benefit:"
    )
    for t in (0.1, 0.2, 0.3, 0.4, 0.5):
        row = best[np.isclose(best["threshold"], t)]
        if len(row):
            console().print(
                f"  threshold {t:.2f}: {row['model'].iloc[0]} ({row['net_benefit'].iloc[0]:.3f})"
            )
    return 0


COMMANDS = (add_cutoffs, add_dca)
