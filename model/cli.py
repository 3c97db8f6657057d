"""The ``rnbayes`` command.

Each subcommand imports what it needs when it runs, so ``rnbayes --help`` starts fast. Bad input
(an :class:`~model.errors.InputError`) is printed as a list of problems with exit code 2, never as
a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from model.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_GATE_FAILED = 1


def _console(stderr: bool = False):
    from model.console import console

    return console(stderr)


# --------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------
def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="draw a synthetic multi-center cohort from the model",
        description="Draw a synthetic cohort from the generative model with the parameters of "
        "data/parameters.toml (or --params). The bundled data/cohort.csv is "
        "'--n 600 --centers 8 --seed 1'.",
    )
    p.add_argument("--n", type=int, default=600, help="number of lesions (default 600)")
    p.add_argument("--centers", type=int, default=8, help="number of centers (default 8)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--params", help="parameter file (default: the bundled data/parameters.toml)")
    p.add_argument("--out", required=True, help="cohort CSV to write")
    p.add_argument("--truth", help="also write the true parameters and classes as JSON")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from model.parameters import load_parameters
    from model.simulation import simulate

    if args.n < 1 or args.centers < 1:
        raise InputError(
            [_argument_problem("--n/--centers", f"{args.n}/{args.centers}", "positive integers")]
        )
    parameters = load_parameters(args.params)
    cohort, truth = simulate(args.n, args.centers, args.seed, parameters)
    cohort.write_csv(args.out)
    if args.truth:
        truth.write_json(args.truth)
    _console().print(
        f"Wrote {len(cohort)} synthetic lesions from {args.centers} centers to {args.out}"
        + (f" (truth: {args.truth})" if args.truth else "")
    )
    return 0


def _argument_problem(option: str, value: str, expected: str):
    from model.errors import Problem

    return Problem("command line", None, option, value, expected)


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------
def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a cohort CSV or patient JSON and summarise it",
        description="Validate a cohort CSV (or a single-patient .json). Exit 0 with a summary, or "
        "exit 2 listing every problem with its row and column.",
    )
    p.add_argument("path", help="cohort CSV or patient JSON")
    p.set_defaults(run=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from model.schema import load_cohort, load_patient, summarize

    loader = load_patient if args.path.lower().endswith(".json") else load_cohort
    cohort = loader(args.path)
    console = _console()
    console.print(
        f"[bold green]OK[/] {args.path}: {len(cohort)} lesions, {len(cohort.centers)} centers"
    )
    from model.console import frame_table

    for title, frame in summarize(cohort).items():
        console.print(frame_table(title.replace("_", " ").capitalize(), frame))
    return 0


# --------------------------------------------------------------------------------------------
# fit, predict, summary, demo
# --------------------------------------------------------------------------------------------
def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit the model to a cohort with NUTS and write the fit file",
        description="Fit the hierarchical latent-class model with NUTS (nutpie by default) and "
        "write one netCDF fit file with provenance and diagnostics. Exit 1 if the convergence "
        "gate fails (the file is still written, marked as failed).",
    )
    p.add_argument("cohort", help="cohort CSV")
    p.add_argument("--out", required=True, help="fit file to write (.nc)")
    p.add_argument("--draws", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--tune", type=int, default=1000, help="warm-up draws per chain (default 1000)")
    p.add_argument("--chains", type=int, default=4, help="chains (default 4)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--sampler", choices=("nutpie", "pymc"), default="nutpie")
    p.add_argument("--params", help="parameter file with the priors (default: bundled)")
    p.add_argument("--store-data", action="store_true", help="keep the training rows in the fit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_fit)


def _run_fit(args: argparse.Namespace) -> int:
    from model.console import gate_banner
    from model.fitting import SamplerSettings, fit
    from model.parameters import load_parameters
    from model.schema import load_cohort

    cohort = load_cohort(args.cohort)
    parameters = load_parameters(args.params)
    try:
        settings = SamplerSettings(
            sampler=args.sampler,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
        )
    except ValueError as error:
        raise InputError([_argument_problem("--draws/--tune/--chains", "", str(error))]) from None
    _console().print(
        f"Fitting {len(cohort)} lesions from {len(cohort.centers)} centers with {args.sampler}"
    )
    result = fit(
        cohort, parameters, settings, progress=not args.quiet, store_training_data=args.store_data
    )
    result.save(args.out)
    timing = result.provenance["sampler"]
    _console().print(
        f"Wrote {args.out} ({result.provenance['elapsed_seconds']:.0f} s; sampling "
        f"{timing['sampling_seconds']:.0f} s)"
    )
    gate_banner(result.gate, stderr=not result.gate.passed)
    return 0 if result.gate.passed else EXIT_GATE_FAILED


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="posterior probability of recurrence for patients",
        description="Score lesions with a fit: P(recurrence) (mean over posterior draws), its "
        "equal-tailed interval, and each modality's log likelihood ratio.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("patients", help="patients CSV (cohort format) or single-patient JSON")
    p.add_argument(
        "--ci-prob", type=float, default=0.90, help="interval probability (default 0.90)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", help="also write the table as CSV")
    p.set_defaults(run=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from model.fitting import load_fit
    from model.score import predict

    if not 0 < args.ci_prob < 1:
        raise InputError([_argument_problem("--ci-prob", str(args.ci_prob), "a number in (0, 1)")])
    fit = load_fit(args.fit)
    table = predict(fit, args.patients, ci_prob=args.ci_prob)
    if args.out:
        from model.files import atomic_write_text

        atomic_write_text(args.out, table.to_csv(index=False))
    if args.json:
        import json

        document = {**table.attrs, "predictions": table.to_dict(orient="records")}
        print(json.dumps(document, indent=1))
    else:
        _print_predictions(table, fit)
    if not fit.gate.passed:
        from model.console import gate_banner

        gate_banner(fit.gate)
    return 0


def _print_predictions(table, fit) -> None:
    from model.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table

    level = round(100 * table.attrs["ci_prob"])
    shown = table.set_index("patient_id")[[]].copy()
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
        "llr_perfusion": "perfusion",
        "llr_pet": "PET",
        "llr_symptoms": "symptoms",
        "llr_growth": "growth",
        "log_odds": "= log-odds",
    }
    for column, label in names.items():
        shown[label] = table[column].to_numpy()
    out = _console()
    out.print(
        frame_table(
            f"Posterior P(recurrence) with its {level}% equal-tailed interval over posterior "
            "draws; "
            "log-odds = prior + log likelihood ratios (PET given perfusion), averaged over draws",
            shown,
            {label: "+.2f" for label in names.values()},
        )
    )
    out.print(f"Model fitted to: {fit.provenance['cohort']['name']}")
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT)


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="parameters with intervals, diagnostics and provenance")
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--ci-prob", type=float, default=0.90, help="interval probability (default 0.90)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_summary)


def _run_summary(args: argparse.Namespace) -> int:
    from model.diagnostics import parameter_summary
    from model.fitting import load_fit
    from model.posterior import HYPERPARAMETERS

    fit = load_fit(args.fit)
    table = parameter_summary(fit.posterior, HYPERPARAMETERS, ci_prob=args.ci_prob)
    if args.json:
        import json

        print(
            json.dumps(
                {"provenance": fit.provenance, "parameters": table.to_dict(orient="index")},
                indent=1,
            )
        )
        return 0
    from model.console import frame_table, gate_banner

    out = _console()
    p = fit.provenance
    out.print(
        f"Fit of {p['cohort']['name']}: {p['cohort']['n_lesions']} lesions, "
        f"{len(p['cohort']['centers'])} centers, {p['cohort']['n_labelled']} labelled"
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


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="score the example patients with the bundled fit of the synthetic cohort",
        description="Load the bundled fit of the synthetic cohort (or refit it with --refit) and "
        "print the example patients' posteriors.",
    )
    p.add_argument(
        "--refit", action="store_true", help="fit the bundled cohort again (about 1-2 min)"
    )
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from model.console import SYNTHETIC_NOTE
    from model.files import bundled
    from model.fitting import fit, load_fit
    from model.schema import load_cohort
    from model.score import predict

    out = _console()
    out.print(f"[bold]rnbayes demo[/]. {SYNTHETIC_NOTE}")
    if args.refit:
        out.print("Fitting the bundled synthetic cohort (600 lesions, 8 centers)...")
        result = fit(load_cohort(bundled("cohort.csv")))
    else:
        result = load_fit(bundled("fit.nc"))
        out.print(
            f"Loaded the bundled fit (created {result.provenance['created']}); --refit to refit."
        )
    table = predict(result, bundled("patients_example.csv"))
    _print_predictions(table, result)
    from model.console import gate_banner

    gate_banner(result.gate, stderr=False)
    return 0


# --------------------------------------------------------------------------------------------
# decisions: thresholds, decide, policy
# --------------------------------------------------------------------------------------------
def _add_thresholds(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "thresholds",
        help="treatment, testing and test-treatment thresholds, with sensitivity analyses",
        description="Pauker-Kassirer thresholds (biopsy as the test) from the decision parameters, "
        "their probabilistic sensitivity over the parameters' ranges and a one-way (tornado) "
        "table.",
    )
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="DIR", help="write thresholds.png, tornado.png and psa.png")
    p.set_defaults(run=_run_thresholds)


def _run_thresholds(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.sensitivity import probabilistic_sensitivity, summarize_psa, tornado
    from model.decision.thresholds import parameter_thresholds

    params = load_decision_parameters(args.params)
    t = parameter_thresholds(params)
    samples = probabilistic_sensitivity(params)
    psa, one_way = summarize_psa(samples), tornado(params)
    if args.json:
        import json

        document = {
            "parameters": params.values(),
            "thresholds": t._asdict(),
            "biopsy_ever_best": t.biopsy_ever_best,
            "psa": psa.to_dict(orient="index"),
            "tornado": one_way.to_dict(orient="records"),
        }
        print(json.dumps(document, indent=1))
    else:
        from model.console import frame_table

        out = _console()
        out.print(f"Treat above P(recurrence) = {t.treat:.3f} (no biopsy)")
        if t.biopsy_ever_best:
            out.print(
                f"Manage below {t.test:.3f}; biopsy between {t.test:.3f} and {t.test_treat:.3f}; "
                f"treat above {t.test_treat:.3f}"
            )
        else:
            out.print("Biopsy is never the best immediate action with these parameters.")
        out.print(
            frame_table(
                "Probabilistic sensitivity (90% equal-tailed intervals)",
                psa,
                {c: ".3f" for c in psa.columns},
            )
        )
        shown = one_way.set_index(["threshold", "parameter"])[
            ["low", "high", "at_low", "at_high", "swing"]
        ]
        out.print(frame_table("One-way sensitivity", shown, {c: ".3f" for c in shown.columns}))
    if args.plot:
        from pathlib import Path

        from model.decision.plots import plot_psa, plot_thresholds, plot_tornado
        from model.files import save_figure

        folder = Path(args.plot)
        save_figure(plot_thresholds(params), folder / "thresholds.png")
        save_figure(plot_tornado(one_way), folder / "tornado.png")
        save_figure(plot_psa(samples), folder / "psa.png")
    return 0


def _add_decide(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decide",
        help="recommendation, expected utilities and value of information per patient",
        description="For each lesion: expected utility of managing, biopsying, treating, one "
        "rescan "
        "and (without PET) a PET referral; the recommendation and its margin; EVPI; EVSI of PET, "
        "perfusion and a rescan; and the PET or growth result that would change the decision.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("patients", help="patients CSV or single-patient JSON")
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--pet-tracer", choices=("MET", "FET", "DOPA"), default="FET")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="DIR", help="write one threshold figure per lesion")
    p.set_defaults(run=_run_decide)


def _run_decide(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.value import decide
    from model.fitting import load_fit

    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    table = decide(fit, args.patients, params, pet_tracer=args.pet_tracer)
    if args.json:
        import json

        print(json.dumps({**table.attrs, "decisions": table.to_dict(orient="records")}, indent=1))
    else:
        _print_decisions(table, fit)
    if args.plot:
        import re
        from pathlib import Path

        from model.decision.plots import plot_thresholds
        from model.files import save_figure

        for row in table.itertuples():
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(row.patient_id))
            save_figure(
                plot_thresholds(params, row.p_recurrence), Path(args.plot) / f"decide_{name}.png"
            )
    if not fit.gate.passed:
        from model.console import gate_banner

        gate_banner(fit.gate)
    return 0


def _print_decisions(table, fit) -> None:
    from model.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table

    shown = table.set_index("patient_id")
    columns = {
        "p_recurrence": "P(R)",
        "recommendation": "recommend",
        "margin": "margin",
        "eu_manage": "manage",
        "eu_rescan": "rescan",
        "eu_biopsy": "biopsy",
        "eu_treat": "treat",
        "eu_pet": "PET",
        "evpi": "EVPI",
        "evsi_pet": "EVSI PET",
        "evsi_rescan": "EVSI rescan",
    }
    out = _console()
    out.print(
        frame_table(
            "Expected utility of each action (quality-adjusted life-weeks)",
            shown[list(columns)].rename(columns=columns),
            {label: ".2f" for label in columns.values() if label != "recommend"},
        )
    )
    flips = shown[
        ["tbr_manage_below", "tbr_treat_at", "growth_manage_below", "growth_treat_at"]
    ].copy()
    for column in ("growth_manage_below", "growth_treat_at"):
        flips[column] = flips[column] * 100
    flips.columns = [
        "manage if TBR <=",
        "treat if TBR >=",
        "manage if growth <= %",
        "treat if growth >= %",
    ]
    out.print(
        frame_table(
            f"What would change the decision ({table.attrs['pet_tracer']} PET; one "
            "rescan); blank: no plausible result does",
            flips,
            {c: ".2f" if "TBR" in c else "+.0f" for c in flips.columns},
        )
    )
    out.print(f"Model fitted to: {fit.provenance['cohort']['name']}")
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(DECISION_SUPPORT + " The utilities are editable defaults (data/decision.toml).")


def _add_policy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy",
        help="the rescan policy: best action by probability for each number of rescans left",
        description="Backward induction over up to --rounds rescans, with the fit's growth "
        "likelihood (averaged over posterior draws) as the information a rescan gives.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("--rounds", type=int, default=3, help="most rescans allowed (default 3)")
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE", help="write the policy figure (e.g. policy.png)")
    p.set_defaults(run=_run_policy)


def _run_policy(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.policy import growth_likelihood, rescan_policy
    from model.fitting import load_fit

    if not 0 <= args.rounds <= 10:
        raise InputError(
            [_argument_problem("--rounds", str(args.rounds), "an integer from 0 to 10")]
        )
    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    policy = rescan_policy(
        growth_likelihood(fit.draws, params.rescan_weeks), params, rounds=args.rounds
    )
    if args.json:
        import json

        print(
            json.dumps(
                {"parameters": params.values(), "bands": policy.bands.to_dict(orient="records")},
                indent=1,
            )
        )
    else:
        from model.console import frame_table

        bands = policy.bands.set_index(["rescans_left", "action"])
        _console().print(
            frame_table(
                f"Rescan policy ({params.rescan_weeks:g}-week rescans; utilities from the decision "
                "parameters)",
                bands,
                {"p_from": ".3f", "p_to": ".3f"},
            )
        )
    if args.plot:
        from model.decision.plots import plot_policy
        from model.files import save_figure

        save_figure(plot_policy(policy), args.plot)
    return 0


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
_COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_demo,
    _add_fit,
    _add_predict,
    _add_summary,
    _add_decide,
    _add_policy,
    _add_thresholds,
    _add_validate,
    _add_simulate,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rnbayes",
        description="Bayesian decision support: tumour recurrence vs radiation necrosis after "
        "glioma chemoradiotherapy. Decision support, not a diagnosis.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rnbayes`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as error:
        _console(stderr=True).print(str(error), markup=False)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
