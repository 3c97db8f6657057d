"""External validation commands: ``evaluate`` and ``crossval``.

``evaluate`` scores a fixed fit against a labelled cohort; ``crossval`` predicts each center by a
fit to the others (leave-one-center-out) and scores the held-out predictions the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import (
    add_bevacizumab_option,
    add_sampler_options,
    add_study_options,
    console,
)
from model.core.console import terminal_text
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
    _add_score_options(p)
    p.add_argument("--seed", type=whole_option, default=1, help="resampling seed (1)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write the scores (evaluation.csv, .json), the reliability curve (reliability.csv, "
        ".png), decision curves against the classic DSC rule (decision_curve.csv, .png) and "
        "one self-contained page of them all (evaluation.html)",
    )
    add_bevacizumab_option(p)
    p.set_defaults(run=run_evaluate)


def _add_score_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ci-prob", type=probability_option, default=0.90, help="interval probability (0.90)"
    )
    p.add_argument("--bootstrap", type=count_option, default=1000, help="patient resamples (1000)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")


def add_crossval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crossval",
        help="leave-one-center-out validation: each center predicted by a fit to the others",
        description="For every center, fit the model to the other centers and score the held-out "
        "center's lesions as a new center's; then score all held-out predictions against their "
        "histopathology labels, per held-out center and pooled (the scores of rnbayes evaluate). "
        "Folds run on a local Dask cluster or --scheduler; a study folder already holding folds "
        "is resumed.",
    )
    p.add_argument("cohort", help="labelled multi-center cohort (CSV)")
    p.add_argument(
        "--by",
        choices=("center",),
        default="center",
        help="what a fold holds out (center, the only choice)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="study folder (resumable)")
    add_sampler_options(p)
    add_study_options(p)
    _add_score_options(p)
    p.add_argument("--markdown", action="store_true", help="print the scores as a Markdown table")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_crossval)


def run_crossval(args: argparse.Namespace) -> int:
    from model.core.files import atomic_write_text
    from model.core.outputs import json_text
    from model.evaluation import crossval
    from model.evaluation.external import evaluate
    from model.fitting.sampling import is_bundled_cohort
    from model.inputs.parameters import load_parameters
    from model.inputs.reading import load_cohort

    parameters = load_parameters(args.params)
    cohort = load_cohort(args.cohort, parameters.registry)
    settings = crossval.CrossvalSettings(
        draws=args.draws, chains=args.chains, tune=args.tune, seed=args.seed
    )
    done = crossval.run_crossval(
        cohort,
        args.out,
        parameters,
        settings,
        args.scheduler,
        args.workers,
        progress=not (args.quiet or args.json),
    )
    try:
        made, folds, _ = crossval.load_crossval(args.out)
    except InputError:
        raise
    except ValueError as error:
        raise _labels_problem(args.cohort, error) from None
    table = evaluate(made, ci_prob=args.ci_prob, bootstrap=args.bootstrap)
    failed = [f["center"] for f in folds if not f["gate"]["passed"]]
    document = _document(
        table,
        cohort=Path(args.cohort).name,
        cohort_digest=cohort.digest,  # binds the scores to fits of this cohort (model-card)
        held_out=[
            {k: f[k] for k in ("center", "training_lesions", "gate", "seconds")} for f in folds
        ],
        failed_gate=failed,
    )
    folder = Path(args.out)
    synthetic = is_bundled_cohort(cohort)
    band = _write_scores(folder, "crossval", table, made, synthetic, args)
    atomic_write_text(folder / "crossval.json", json_text(document))
    _write_page(
        folder,
        "crossval",
        table,
        band,
        made,
        synthetic,
        title="Leave-one-center-out validation",
        context=[
            f"Cohort: {Path(args.cohort).name}. Each of its {len(folds)} centers is scored as a "
            f"new center by a fit to the other {len(folds) - 1} (its own fold); "
            f"'{table['group'].iloc[0]}' pools every held-out prediction.",
            *(
                ["Folds whose fit failed the convergence gate: " + ", ".join(failed)]
                if failed
                else []
            ),
        ],
    )
    if args.json:
        _print_json(document)
        return 0
    if args.markdown:
        console().print(markdown_scores(table), markup=False, highlight=False, soft_wrap=True)
        return 0
    out = console()
    out.print(f"Folds fitted now: {done['computed']}; in the study folder: {done['total']}")
    _print_scores(table, args.ci_prob, "Leave-one-center-out. " + HISTOPATHOLOGY_TITLE)
    _print_labels(table.attrs["labels"], None)
    out.print(
        f"Each center is scored as a new center by a fit to the other {len(folds) - 1}; "
        f"'{table['group'].iloc[0]}' pools every held-out prediction."
    )
    if failed:
        out.print(
            terminal_text(
                "Caution: these folds' fits failed the convergence gate (more draws or tuning "
                "may help; see crossval.json): " + ", ".join(failed)
            ),
            markup=False,
        )
    _print_closing(f"Cohort: {Path(args.cohort).name}", synthetic)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from model.core.files import atomic_write_text
    from model.core.outputs import json_text, write_csv
    from model.evaluation.external import evaluate, labelled_by_reference, require_both_classes
    from model.fitting.sampling import load_fit
    from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY

    fit = load_fit(args.fit)
    try:
        by_reference = labelled_by_reference(
            fit, args.cohort, allow_bevacizumab=args.allow_bevacizumab
        )
        made = by_reference[HISTOPATHOLOGY]
        require_both_classes(made.y)
    except InputError:  # a bad cell: already names its file, row and column
        raise
    except ValueError as error:
        raise _labels_problem(args.cohort, error) from None
    table = evaluate(made, ci_prob=args.ci_prob, bootstrap=args.bootstrap, seed=args.seed)
    follow = _follow_up_scores(by_reference[FOLLOW_UP], args)
    if made.in_sample and args.out:  # the decision curves get a leave-one-out correction
        from model.checks.loo import with_leave_one_out

        made = with_leave_one_out(made, fit, args.cohort)
    reference = {
        "sensitivity": float(fit.draws.sensitivity.mean()),
        "specificity": float(fit.draws.specificity.mean()),
    }
    document = _document(
        table,
        cohort=Path(args.cohort).name,
        fit_trained_on=fit.provenance["cohort"]["name"],
        fit_checksum=fit.provenance["checksum"],  # binds the scores to the fit (model-card)
        follow_up_reference=reference,
        follow_up_scores=[] if follow is None else follow.to_dict(orient="records"),
    )
    synthetic = bool(fit.provenance["cohort"].get("synthetic"))
    if args.out:
        folder = Path(args.out)
        band = _write_scores(folder, "evaluation", table, made, synthetic, args, args.seed)
        curves = _write_decision_curves(folder, made, fit, synthetic, args)
        atomic_write_text(folder / "evaluation.json", json_text(document))
        if follow is not None:
            write_csv(folder / "evaluation_follow_up.csv", follow)
        _write_page(
            folder,
            "evaluation",
            table,
            band,
            made,
            synthetic,
            title="External validation",
            context=[
                f"Cohort: {Path(args.cohort).name}. Fit trained on "
                f"{fit.provenance['cohort']['name']} (checksum "
                f"{fit.provenance['checksum'][:16]}...)."
            ],
            curves=curves,
            follow_up=follow,
            reference=reference,
        )
    if args.json:
        _print_json(document)
        return 0
    _print_scores(table, args.ci_prob, HISTOPATHOLOGY_TITLE)
    _print_labels(table.attrs["labels"], reference if follow is not None else None)
    if follow is not None:
        _print_scores(follow, args.ci_prob, FOLLOW_UP_TITLE.format(**reference))
    if table.attrs["unseen_centers"]:
        console().print(
            terminal_text("Scored as new centers: " + ", ".join(table.attrs["unseen_centers"])),
            markup=False,
        )
    if table.attrs["in_sample"]:
        console().print(
            "Caution: this is the cohort the fit was trained on; in-sample scores are optimistic. "
            "Score a cohort the fit has not seen, or use leave-one-center-out cross-validation "
            "(rnbayes crossval)."
        )
    _print_closing(f"Model fitted to: {fit.provenance['cohort']['name']}", synthetic)
    return 0


def _labels_problem(cohort, error: ValueError) -> InputError:
    return InputError([Problem(Path(cohort).name, None, "reference_diagnosis", None, str(error))])


def _document(table, **context) -> dict:
    from model.core.outputs import strict_json_value

    return strict_json_value({**context, **table.attrs, "scores": table.to_dict(orient="records")})


def _print_json(document: dict) -> None:
    from model.core.outputs import json_text

    console().print(json_text(document), markup=False, highlight=False, soft_wrap=True)


def _write_scores(
    folder: Path, stem: str, table, made, synthetic: bool, args, seed: int = 1
) -> object:
    """The scores (STEM.csv) and the reliability curve with its band (reliability.csv, .png).

    Returns the band, for the page.
    """
    from model.core.files import save_figure
    from model.core.outputs import write_csv
    from model.cutoffs.plots import SYNTHETIC_CAPTION
    from model.evaluation.external import reliability_band
    from model.evaluation.plots import plot_reliability

    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / f"{stem}.csv", table)
    band = reliability_band(made, bootstrap=args.bootstrap, ci_prob=args.ci_prob, seed=seed)
    write_csv(folder / "reliability.csv", band)
    caption = SYNTHETIC_CAPTION if synthetic else None
    save_figure(plot_reliability(band, made.p, caption), folder / "reliability.png")
    return band


def _write_decision_curves(folder: Path, made, fit, synthetic: bool, args):
    """Decision curves against the classic DSC rule, where DSC lesions of both classes exist.

    Returns the curves, or None when there are none.
    """
    from model.core.files import save_figure
    from model.core.outputs import write_csv
    from model.cutoffs.analysis import labelled_decision_curves
    from model.cutoffs.plots import SYNTHETIC_CAPTION, plot_decision_curves

    try:
        curves = labelled_decision_curves(fit, made, ci_prob=args.ci_prob)
    except ValueError:  # fewer than one labelled DSC lesion of each class: no classic rule
        return None
    write_csv(folder / "decision_curve.csv", curves)
    caption = SYNTHETIC_CAPTION if synthetic else None
    save_figure(plot_decision_curves(curves, caption), folder / "decision_curve.png")
    return curves


def _write_page(folder: Path, stem: str, table, band, made, synthetic: bool, **page) -> None:
    """The self-contained page of the scores and figures (STEM.html)."""
    from model.core.files import atomic_write_text
    from model.report.evaluation_page import evaluation_page

    html = evaluation_page(table, band, made.p, synthetic=synthetic, **page)
    atomic_write_text(folder / f"{stem}.html", html)


HISTOPATHOLOGY_TITLE = "External validation on histopathology-labelled lesions"

FOLLOW_UP_TITLE = (
    "Against follow-up labels (an imperfect reference: sensitivity {sensitivity:.2f}, "
    "specificity {specificity:.2f}), each prediction carried to the label's scale through them"
)


def _follow_up_scores(made, args):
    """The scores against follow-up labels, or None without two lesions of each class."""
    from model.evaluation.external import evaluate

    if (made.y == 1).sum() < 2 or (made.y == 0).sum() < 2:
        return None
    return evaluate(made, ci_prob=args.ci_prob, bootstrap=args.bootstrap, seed=args.seed)


def _print_scores(table, ci_prob: float, title: str) -> None:
    """The score table and its flagged groups."""
    from model.core.console import frame_table
    from model.evaluation.display import score_text

    out = console()
    level = round(100 * ci_prob)
    shown = table.assign(score=[score_text(r) for r in table.itertuples()]).pivot_table(
        index=["group", "n", "n_recurrence"],
        columns="metric",
        values="score",
        aggfunc="first",
        sort=False,
    )
    out.print(
        frame_table(
            f"{title}: value [{level}% bootstrap interval over patients]; ! = calibration interval "
            "excludes the calibrated value; - = undefined (one class, perfect separation, or "
            "most resamples without the score)",
            shown,
        )
    )
    flagged = sorted({r.group for r in table.itertuples() if r.flagged})
    if flagged:
        out.print(
            terminal_text(
                "Miscalibrated (an interval excludes the calibrated value): " + ", ".join(flagged)
            ),
            markup=False,
        )


def _print_labels(labels: dict, reference: dict | None) -> None:
    """What was scored against which reference, and what was not."""
    follow_up = labels["follow_up"]
    if reference is None:
        said = (
            f"{follow_up} follow-up labels are an imperfect reference and are not scored as truth"
        )
    else:
        scans = labels["follow_up_scans"]
        said = (
            f"{follow_up - scans} follow-up labels are scored apart, through the reference's "
            f"accuracy; {scans} labels made from the lesions' own recorded scans are not scored "
            "(the model counts that growth as evidence already)"
        )
    console().print(
        f"{labels['histopathology']} lesions labelled by histopathology are scored as truth; "
        f"{said}; {labels['none']} lesions have no usable label. Posterior intervals are in "
        "--json and --out."
    )


def _print_closing(trained_on: str, synthetic: bool) -> None:
    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE

    out = console()
    out.print(terminal_text(trained_on), markup=False)
    if synthetic:
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


MARKDOWN_METRICS = ("c_statistic", "calibration_intercept", "calibration_slope", "brier")
"""The scores of the README's leave-one-center-out table."""


def markdown_scores(table) -> str:
    """The scores per group as a Markdown table (values with their bootstrap intervals)."""
    from model.core.console import markdown_cell
    from model.evaluation.display import METRIC_LABELS, score_text, scores_by_group

    labels = [METRIC_LABELS[name] for name in MARKDOWN_METRICS]
    header = "| held-out center | lesions (recurrences) | " + " | ".join(labels)
    lines = [header + " |", "|---" * (len(MARKDOWN_METRICS) + 2) + "|"]
    for group, first, by_metric in scores_by_group(table):
        cells = [
            markdown_cell(group),
            f"{first.n} ({first.n_recurrence})",
            *(score_text(by_metric[name]) for name in MARKDOWN_METRICS),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


COMMANDS = (add_evaluate, add_crossval)
