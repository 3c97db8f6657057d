"""The prior command: ``prior-check`` (power-scaling sensitivity and prior predictive check)."""

from __future__ import annotations

import argparse

from model.commands.common import argument_problem, console
from model.core.errors import InputError
from model.core.numbers import count_option, whole_option


def add_prior_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prior-check",
        help="how much the priors drive a fit: power-scaling sensitivity, prior predictive check",
        description="Power-scaling sensitivity of the fit's population parameters (ArviZ "
        "psense: prior and likelihood sensitivity, flagged at 0.05, with each prior's source), "
        "and a prior predictive check: cohorts simulated from parameters drawn from the priors, "
        "compared with the training cohort's summary statistics (flagged outside the central 99%% "
        "interval).",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--cohort",
        help="the fit's training cohort CSV (default: the bundled cohort, if the fit was "
        "trained on it)",
    )
    p.add_argument("--params", help="parameter file the fit was sampled with (default: bundled)")
    p.add_argument(
        "--n-sims",
        type=count_option,
        default=500,
        help="prior predictive simulations (default 500)",
    )
    p.add_argument(
        "--seed", type=whole_option, default=1, help="seed of the simulations (default 1)"
    )
    p.add_argument("--out", help="folder for the tables (CSV) and plots (PNG)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(run=run_prior_check)


def run_prior_check(args: argparse.Namespace) -> int:
    from model.checks.prior_sensitivity import (
        fit_parameters,
        prior_predictive_check,
        prior_sensitivity,
        training_cohort,
    )
    from model.fitting.sampling import load_fit
    from model.inputs.parameters import load_parameters

    if args.n_sims < 1:
        raise InputError([argument_problem("--n-sims", str(args.n_sims), "a positive integer")])
    fit = load_fit(args.fit)
    parameters = fit_parameters(fit, load_parameters(args.params) if args.params else None)
    cohort = training_cohort(fit, args.cohort if args.cohort else _bundled_cohort(fit))
    sensitivity = prior_sensitivity(fit, cohort, parameters)
    check = prior_predictive_check(parameters, cohort, n_sims=args.n_sims, seed=args.seed)
    if args.out:
        _write_outputs(args.out, sensitivity, check)
    if args.json:
        from model.core.outputs import json_text

        print(json_text(_document(args, fit, sensitivity, check), indent=1))
        return 0
    _print_tables(sensitivity, check, fit)
    if args.out:
        console().print(f"Tables and plots written to {args.out}")
    return 0


def _bundled_cohort(fit):
    """The bundled cohort, when the fit was trained on it."""
    from model.core.files import bundled
    from model.inputs.reading import load_cohort

    cohort = load_cohort(bundled("cohort.csv"), fit.registry)
    if cohort.digest != fit.provenance["cohort"]["digest"]:
        raise InputError(
            [
                argument_problem(
                    "--cohort",
                    "",
                    f"the fit's training cohort CSV ({fit.provenance['cohort']['name']}): this "
                    "fit was not trained on the bundled cohort",
                )
            ]
        )
    return cohort


def _records(frame) -> list[dict]:
    """Rows as JSON-ready dictionaries (NaN as null), index included."""
    shown = frame.reset_index()
    return shown.astype(object).where(shown.notna(), None).to_dict(orient="records")


def _document(args: argparse.Namespace, fit, sensitivity, check) -> dict:
    return {
        "fit": args.fit,
        "cohort": fit.provenance["cohort"]["name"],
        "synthetic": bool(fit.provenance["cohort"].get("synthetic")),
        "psense": {
            "threshold": sensitivity.attrs["threshold"],
            "parameters": _records(sensitivity),
        },
        "prior_predictive": {
            "n_sims": check.attrs["n_sims"],
            "seed": check.attrs["seed"],
            "ci_prob": check.attrs["ci_prob"],
            "statistics": _records(check),
        },
    }


def _write_outputs(folder: str, sensitivity, check) -> None:
    from pathlib import Path

    import pandas as pd

    from model.checks.prior_sensitivity import plot_prior_predictive, plot_prior_sensitivity
    from model.core.files import save_figure
    from model.core.outputs import write_csv

    out = Path(folder)
    simulated = pd.DataFrame(check.attrs["simulated"])
    write_csv(out / "psense.csv", sensitivity, index=True)
    write_csv(out / "prior_predictive.csv", check, index=True)
    write_csv(out / "prior_predictive_simulations.csv", simulated)
    save_figure(
        plot_prior_sensitivity(sensitivity, sensitivity.attrs["threshold"]), out / "psense.png"
    )
    save_figure(plot_prior_predictive(check), out / "prior_predictive.png")


def _print_tables(sensitivity, check, fit) -> None:
    from rich.markup import escape

    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table

    out = console()
    threshold = sensitivity.attrs["threshold"]
    shown = sensitivity[["prior_sensitivity", "likelihood_sensitivity", "diagnosis", "prior"]]
    shown = shown.rename(
        index=escape,
        columns={"prior_sensitivity": "prior sens.", "likelihood_sensitivity": "likelihood sens."},
    )
    flagged = sensitivity[sensitivity["flagged"]]
    out.print(
        frame_table(
            f"Power-scaling sensitivity (ArviZ psense; flagged at {threshold:g}): {len(flagged)} "
            f"of {len(sensitivity)} population parameters flagged",
            shown,
            {"prior sens.": ".3f", "likelihood sens.": ".3f"},
        )
    )
    out.print(
        "Prior sensitivity >= the threshold: the prior still shapes that posterior; with "
        "likelihood sensitivity also >= it, ArviZ reports a potential prior-data conflict, "
        "otherwise a strong prior / weak likelihood."
    )
    for entry, row in flagged.groupby("entry", sort=False):
        out.print(f"- {entry} ({row['prior'].iloc[0]}): {row['source'].iloc[0]}", markup=False)
    level = round(100 * check.attrs["ci_prob"])
    table = check[["description", "observed", "median"]].copy()
    table[f"{level}% interval"] = [
        f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(check["eti_low"], check["eti_high"], strict=True)
    ]
    table["quantile"] = check["quantile"]
    table["outside"] = ["yes" if f else "" for f in check["flagged"]]
    out.print(
        frame_table(
            f"Prior predictive check: the cohort against {check.attrs['n_sims']} cohorts "
            f"simulated from the priors (seed {check.attrs['seed']}); quantile = share of "
            "simulations below the observed value",
            table,
            {"observed": ".3f", "median": ".3f", "quantile": ".3f"},
        )
    )
    out.print(f"Model fitted to: {fit.provenance['cohort']['name']}")
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


COMMANDS = (add_prior_check,)
