"""The external validation command: ``evaluate`` (a fixed fit against a labelled cohort)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import add_bevacizumab_option, console
from model.core.errors import InputError, Problem
from model.core.numbers import count_option, probability_option, whole_option


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="external validation: discrimination and calibration on a labelled cohort",
        description="Score a labelled cohort with a fixed fit (a center the fit never saw is a "
        "new center) and compare the predictions with the histopathology labels, overall and "
        "per center: c-statistic, calibration intercept and slope, Brier score and binned "
        "calibration error, each with a posterior interval (parameter uncertainty) and a "
        "bootstrap interval over patients (sampling uncertainty). A calibration score whose "
        "bootstrap interval excludes the calibrated value is flagged.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("cohort", help="labelled cohort (CSV or JSON, the cohort format)")
    p.add_argument(
        "--ci-prob", type=probability_option, default=0.90, help="interval probability (0.90)"
    )
    p.add_argument("--bootstrap", type=count_option, default=1000, help="patient resamples (1000)")
    p.add_argument("--seed", type=whole_option, default=1, help="resampling seed (1)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write the scores (evaluation.csv, .json), the reliability curve (reliability.csv, "
        ".png) and decision curves against the classic DSC rule (decision_curve.csv, .png)",
    )
    add_bevacizumab_option(p)
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from model.core.files import atomic_write_text
    from model.core.outputs import json_text, strict_json_value
    from model.evaluation.external import evaluate, labelled_predictions
    from model.fitting.sampling import load_fit

    fit = load_fit(args.fit)
    try:
        made = labelled_predictions(fit, args.cohort, allow_bevacizumab=args.allow_bevacizumab)
    except InputError:  # a bad cell: already names its file, row and column
        raise
    except ValueError as error:
        raise InputError(
            [Problem(Path(args.cohort).name, None, "reference_diagnosis", None, str(error))]
        ) from None
    table = evaluate(made, ci_prob=args.ci_prob, bootstrap=args.bootstrap, seed=args.seed)
    document = strict_json_value(
        {
            "cohort": Path(args.cohort).name,
            "fit_trained_on": fit.provenance["cohort"]["name"],
            **table.attrs,
            "scores": table.to_dict(orient="records"),
        }
    )
    if args.out:
        _write_outputs(Path(args.out), table, made, fit, args)
        atomic_write_text(Path(args.out) / "evaluation.json", json_text(document))
    if args.json:
        console().print(json_text(document), markup=False, highlight=False, soft_wrap=True)
    else:
        _print_evaluation(table, fit, args)
    return 0


def _write_outputs(folder: Path, table, made, fit, args) -> None:
    """The scores, the reliability curve and, where DSC lesions are labelled, decision curves."""
    from model.core.files import save_figure
    from model.core.outputs import write_csv
    from model.cutoffs.analysis import labelled_decision_curves
    from model.cutoffs.plots import SYNTHETIC_CAPTION, plot_decision_curves
    from model.evaluation.external import reliability_band
    from model.evaluation.plots import plot_reliability

    caption = SYNTHETIC_CAPTION if fit.provenance["cohort"].get("synthetic") else None
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "evaluation.csv", table)
    band = reliability_band(made, bootstrap=args.bootstrap, ci_prob=args.ci_prob, seed=args.seed)
    write_csv(folder / "reliability.csv", band)
    save_figure(plot_reliability(band, made.p, caption), folder / "reliability.png")
    try:
        curves = labelled_decision_curves(fit, made, ci_prob=args.ci_prob)
    except ValueError:  # fewer than one labelled DSC lesion of each class: no classic rule
        return
    write_csv(folder / "decision_curve.csv", curves)
    save_figure(plot_decision_curves(curves, caption), folder / "decision_curve.png")


def _print_evaluation(table, fit, args) -> None:
    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table, terminal_text

    out = console()
    level = round(100 * args.ci_prob)
    shown = table.assign(score=[_score_text(r) for r in table.itertuples()]).pivot_table(
        index=["group", "n", "n_recurrence"],
        columns="metric",
        values="score",
        aggfunc="first",
        sort=False,
    )
    out.print(
        frame_table(
            f"External validation on histopathology-labelled lesions: value [{level}% bootstrap "
            "interval over patients]; ! = calibration interval excludes the calibrated value; - = "
            "undefined (one class, perfect separation, or most resamples without the score)",
            shown,
        )
    )
    labels = table.attrs["labels"]
    out.print(
        f"{labels['histopathology']} lesions labelled by histopathology are scored; "
        f"{labels['follow_up']} follow-up labels are an imperfect reference and are not scored "
        f"as truth; {labels['none']} lesions have no usable label. Posterior intervals are in "
        "--json and --out."
    )
    flagged = sorted({r.group for r in table.itertuples() if r.flagged})
    if flagged:
        out.print(
            terminal_text(
                "Miscalibrated (an interval excludes the calibrated value): " + ", ".join(flagged)
            ),
            markup=False,
        )
    if table.attrs["unseen_centers"]:
        out.print(
            terminal_text("Scored as new centers: " + ", ".join(table.attrs["unseen_centers"])),
            markup=False,
        )
    if table.attrs["in_sample"]:
        out.print(
            "Caution: this is the cohort the fit was trained on; in-sample scores are optimistic. "
            "Score a cohort the fit has not seen, or use leave-one-center-out cross-validation."
        )
    out.print(terminal_text(f"Model fitted to: {fit.provenance['cohort']['name']}"), markup=False)
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


def _score_text(row) -> str:
    """'value [low, high]', '-' for an undefined score or interval, '!' when flagged."""
    if row.value != row.value:  # NaN: one class, or perfect separation
        return "-"
    interval = (
        "[-]"
        if row.bootstrap_low != row.bootstrap_low
        else f"[{row.bootstrap_low:.3f}, {row.bootstrap_high:.3f}]"
    )
    return f"{row.value:.3f} {interval}" + (" !" if row.flagged else "")


COMMANDS = (add_evaluate,)
