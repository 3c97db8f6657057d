"""The decision commands: ``thresholds``, ``decide``, ``policy``."""

from __future__ import annotations

import argparse

from model.commands.common import (
    add_bevacizumab_option,
    add_fhir_option,
    add_gate_force_option,
    argument_problem,
    console,
    gate_exit_code,
    warn_bevacizumab,
    write_fhir,
)
from model.core.errors import InputError
from model.core.numbers import count_option


def add_thresholds(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "thresholds",
        help="treatment, testing and test-treatment thresholds, with sensitivity analyses",
        description="Surveillance-aware thresholds (managing as necrosis is continued "
        "surveillance; biopsy as the test) after and within the early window, the classic "
        "Pauker-Kassirer thresholds for reference, their probabilistic sensitivity over the "
        "parameters' ranges and a one-way (tornado) table.",
    )
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="write thresholds.png, threshold_shift.png, tornado.png and psa.png",
    )
    p.set_defaults(run=run_thresholds)


def run_thresholds(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.sensitivity import probabilistic_sensitivity, summarize_psa, tornado
    from model.decision.thresholds import classic_thresholds, parameter_thresholds
    from model.decision.utilities import surveillance_loss

    params = load_decision_parameters(args.params)
    late, early, classic = (
        parameter_thresholds(params),
        parameter_thresholds(params, early=True),
        classic_thresholds(params),
    )
    samples = probabilistic_sensitivity(params)
    psa, one_way = summarize_psa(samples), tornado(params)
    if args.json:
        from model.core.outputs import json_text

        document = {
            "parameters": params.values(),
            "surveillance_loss": surveillance_loss(params),
            "thresholds": late._asdict(),
            "biopsy_ever_best": late.biopsy_ever_best,
            "thresholds_early": early._asdict(),
            "classic_thresholds": classic._asdict(),
            "psa": psa.to_dict(orient="index"),
            "tornado": one_way.to_dict(orient="records"),
        }
        print(json_text(document, indent=1))
    else:
        from model.core.console import frame_table

        out = console()
        out.print(
            f"Surveillance loss L = {surveillance_loss(params):.2f} QALW: what managing a "
            f"recurrence as necrosis, under surveillance, costs it (the classic model: all of "
            f"B = {params.benefit:g})."
        )
        for label, t in (
            ("After the early window", late),
            ("Within the early window", early),
            ("Classic Pauker-Kassirer (a managed recurrence is never treated)", classic),
        ):
            out.print(f"{label}: {_bands_sentence(t)}")
        out.print(
            frame_table(
                "Probabilistic sensitivity, after the early window (90% equal-tailed intervals)",
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

        from model.core.files import save_figure
        from model.decision.plots import (
            plot_psa,
            plot_threshold_shift,
            plot_thresholds,
            plot_tornado,
        )

        folder = Path(args.plot)
        save_figure(plot_thresholds(params), folder / "thresholds.png")
        save_figure(plot_threshold_shift(params), folder / "threshold_shift.png")
        save_figure(plot_tornado(one_way), folder / "tornado.png")
        save_figure(plot_psa(samples), folder / "psa.png")
    return 0


def _bands_sentence(t) -> str:
    if t.biopsy_ever_best:
        return (
            f"manage below P(recurrence) = {t.test:.3f}; biopsy between {t.test:.3f} and "
            f"{t.test_treat:.3f}; treat above {t.test_treat:.3f} (without biopsy: {t.treat:.3f})"
        )
    return f"manage below P(recurrence) = {t.treat:.3f}, treat above; biopsy is never best"


def add_decide(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decide",
        help="recommendation, expected utilities and value of information per patient",
        description="For each lesion, in its context (symptoms, time since radiotherapy): "
        "expected utility of managing as necrosis under surveillance, biopsying, treating, "
        "re-resecting, treating a symptomatic necrosis, one rescan (at the best of 4, 6, 8 and 12 "
        "weeks) and (without PET) a PET referral; the recommendation and its margin; EVPI; EVSI "
        "of PET, perfusion and a rescan; and the PET or growth result that would change the "
        "decision.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("patients", help="patients CSV or single-patient JSON")
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--pet-tracer", choices=("MET", "FET", "DOPA"), default="FET")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="DIR", help="write one threshold figure per lesion")
    add_fhir_option(p)
    add_bevacizumab_option(p)
    add_gate_force_option(p)
    p.set_defaults(run=run_decide)


def run_decide(args: argparse.Namespace) -> int:
    from model.categories import CATEGORY_COLUMNS
    from model.decision.parameters import load_decision_parameters
    from model.decision.value import decide
    from model.fitting.sampling import load_fit
    from model.scoring.predict import predict

    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    table = decide(
        fit,
        args.patients,
        params,
        pet_tracer=args.pet_tracer,
        allow_bevacizumab=args.allow_bevacizumab,
    )
    predictions = predict(fit, args.patients, allow_bevacizumab=args.allow_bevacizumab)
    for column in (*CATEGORY_COLUMNS, "category_flag"):  # beside each decision, as predict's
        table[column] = predictions[column].to_numpy()
    if args.fhir:
        write_fhir(args, fit)
    if args.json:
        from model.core.outputs import json_text

        print(json_text({**table.attrs, "decisions": table.to_dict(orient="records")}, indent=1))
    else:
        warn_bevacizumab(table["patient_id"][table["under_bevacizumab"]])
        _print_decisions(table, fit)
    if args.plot:
        from pathlib import Path

        from model.core.files import safe_file_stem, save_figure
        from model.decision.plots import plot_thresholds
        from model.decision.utilities import LesionContext
        from model.inputs.schema import lesion_name

        for row in table.itertuples():
            name = safe_file_stem(lesion_name(row.patient_id, row.lesion_id))
            situation = LesionContext(bool(row.symptomatic), bool(row.early_window))
            save_figure(
                plot_thresholds(params, row.p_recurrence, situation),
                Path(args.plot) / f"decide_{name}.png",
            )
    return gate_exit_code(fit, args.force)


def _print_decisions(table, fit) -> None:
    import pandas as pd

    from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE, frame_table
    from model.inputs.schema import lesion_name

    names = map(lesion_name, table["patient_id"], table["lesion_id"])
    shown = table.set_index(pd.Index(list(names), name="lesion"))
    columns = {
        "p_recurrence": "P(R)",
        "recommendation": "recommend",
        "margin": "margin",
        "eu_manage": "manage",
        "eu_rescan": "rescan",
        "rescan_weeks": "weeks",
        "eu_pet": "PET",
        "eu_biopsy": "biopsy",
        "eu_treat_necrosis": "treat necrosis",
        "eu_resect": "resect",
        "eu_treat": "treat",
    }
    information = {
        "evpi": "EVPI",
        "evsi_pet": "EVSI PET",
        "evsi_perfusion": "EVSI perfusion",
        "evsi_rescan": "EVSI rescan",
    }
    robustness = {
        "recommendation": "recommend",
        "p_best": "P(best)",
        "expected_loss": "expected loss",
        "sensitive_to": "most sensitive to (action taking over at that end)",
    }
    out = console()
    out.print(
        frame_table(
            "Expected utility of each action (quality-adjusted life-weeks; manage: as necrosis, "
            "under surveillance; rescan at its best interval, in weeks)",
            shown[list(columns)].rename(columns=columns),
            {
                label: ".0f" if label == "weeks" else ".2f"
                for label in columns.values()
                if label != "recommend"
            },
        )
    )
    out.print(
        frame_table(
            "Value of information, gross of its costs (quality-adjusted life-weeks)",
            shown[list(information)].rename(columns=information),
            {label: ".2f" for label in information.values()},
        )
    )
    out.print(
        frame_table(
            "How far to lean on it: over the utilities' plausible ranges and the posterior",
            shown[list(robustness)].rename(columns=robustness),
            {"P(best)": ".2f", "expected loss": ".2f"},
        )
    )
    categories = {
        "recommendation": "recommend",
        "btrads": "BT-RADS",
        "rano": "RANO 2.0",
        "category_flag": "disagreement with the model",
    }
    out.print(
        frame_table(
            "Beside the radiology categories at each lesion's latest scan (by their published "
            "rules; shown, never counted in the model)",
            shown[list(categories)].rename(columns=categories),
            {},
        )
    )
    flips = shown[
        ["tbr_manage_below", "tbr_treat_at", "growth_manage_below", "growth_treat_at"]
    ].copy()
    for column in ("growth_manage_below", "growth_treat_at"):
        flips[column] = flips[column] * 100
    flips.columns = [
        "necrosis if TBR <=",
        "treat if TBR >=",
        "necrosis if growth <= %",
        "treat if growth >= %",
    ]
    out.print(
        frame_table(
            f"What would change the decision ({table.attrs['pet_tracer']} PET; one "
            "rescan at its interval; necrosis: managed as necrosis); blank: no plausible result "
            "does",
            flips,
            {c: ".2f" if "TBR" in c else "+.0f" for c in flips.columns},
        )
    )
    out.print(f"Model fitted to: {fit.provenance['cohort']['name']}")
    if fit.provenance["cohort"].get("synthetic"):
        out.print(SYNTHETIC_NOTE)
    out.print(
        "Managing as necrosis means continued surveillance: a recurrence found at a later scan "
        "is treated then."
    )
    out.print(DECISION_SUPPORT + " The utilities are editable defaults (data/decision.toml).")


def add_policy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy",
        help="the rescan policy: best action by probability for each number of rescans left",
        description="Backward induction over up to --rounds rescans, each at one of the "
        "offered intervals, with the fit's growth likelihood at that interval (averaged over "
        "posterior draws) as the information a rescan gives.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--rounds", type=count_option, default=3, help="most rescans allowed (default 3)"
    )
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--weeks",
        default="4,6,8,12",
        help="rescan intervals offered, in weeks, comma-separated (default 4,6,8,12)",
    )
    p.add_argument("--symptomatic", action="store_true", help="a lesion with symptoms")
    p.add_argument("--early", action="store_true", help="within the early window after RT")
    p.add_argument("--plot", metavar="FILE", help="write the policy figure (e.g. policy.png)")
    p.add_argument(
        "--shift-plot",
        metavar="FILE",
        help="write how the one-rescan policy moves with the delay loss (e.g. policy_shift.png)",
    )
    p.set_defaults(run=run_policy)


def run_policy(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.policy import growth_likelihood, rescan_policy
    from model.decision.utilities import LesionContext
    from model.fitting.sampling import load_fit

    if not 0 <= args.rounds <= 10:
        raise InputError(
            [argument_problem("--rounds", str(args.rounds), "an integer from 0 to 10")]
        )
    weeks = _weeks_option(args.weeks)
    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    situation = LesionContext(args.symptomatic, args.early)
    likelihoods = [growth_likelihood(fit.draws, w) for w in weeks]
    policy = rescan_policy(likelihoods, params, rounds=args.rounds, context=situation)
    if args.json:
        from model.core.outputs import json_text

        document = {
            "parameters": params.values(),
            "context": {"symptomatic": situation.symptomatic, "early": situation.early},
            "bands": policy.bands.to_dict(orient="records"),
        }
        print(json_text(document, indent=1))
    else:
        from model.core.console import frame_table

        bands = policy.bands.set_index(["rescans_left", "action"])
        console().print(
            frame_table(
                f"Rescan policy (rescans at {args.weeks} weeks; "
                f"{'symptomatic' if args.symptomatic else 'asymptomatic'}, "
                f"{'within' if args.early else 'after'} the early window; utilities from the "
                "decision parameters)",
                bands,
                {"weeks": ".0f", "p_from": ".3f", "p_to": ".3f"},
            )
        )
    if args.plot or args.shift_plot:
        from model.core.files import save_figure
        from model.decision.plots import plot_policy, plot_policy_shift
        from model.decision.policy import policy_by_delay

        if args.plot:
            save_figure(plot_policy(policy), args.plot)
        if args.shift_plot:
            shift = policy_by_delay(likelihoods, params, context=situation)
            save_figure(plot_policy_shift(shift, params), args.shift_plot)
    return 0


def _weeks_option(text: str) -> tuple[float, ...]:
    """Parse ``--weeks``: whole numbers of weeks from 1 to 26, comma-separated."""
    import re

    items = text.split(",")
    if not all(re.fullmatch(r"[0-9]{1,2}", item.strip()) for item in items) or not all(
        1 <= int(item) <= 26 for item in items
    ):
        raise InputError(
            [
                argument_problem(
                    "--weeks", text, "whole numbers of weeks from 1 to 26, comma-separated"
                )
            ]
        )
    return tuple(sorted({float(int(item)) for item in items}))


COMMANDS = (add_decide, add_policy, add_thresholds)
