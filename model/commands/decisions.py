"""The decision commands: ``thresholds``, ``decide``, ``policy``."""

from __future__ import annotations

import argparse

from model.commands.common import (
    add_bevacizumab_option,
    add_gate_force_option,
    argument_problem,
    console,
    gate_exit_code,
    warn_bevacizumab,
)
from model.core.errors import InputError
from model.core.numbers import count_option


def add_thresholds(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(run=run_thresholds)


def run_thresholds(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.sensitivity import probabilistic_sensitivity, summarize_psa, tornado
    from model.decision.thresholds import parameter_thresholds

    params = load_decision_parameters(args.params)
    t = parameter_thresholds(params)
    samples = probabilistic_sensitivity(params)
    psa, one_way = summarize_psa(samples), tornado(params)
    if args.json:
        from model.core.outputs import json_text

        document = {
            "parameters": params.values(),
            "thresholds": t._asdict(),
            "biopsy_ever_best": t.biopsy_ever_best,
            "psa": psa.to_dict(orient="index"),
            "tornado": one_way.to_dict(orient="records"),
        }
        print(json_text(document, indent=1))
    else:
        from model.core.console import frame_table

        out = console()
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

        from model.core.files import save_figure
        from model.decision.plots import plot_psa, plot_thresholds, plot_tornado

        folder = Path(args.plot)
        save_figure(plot_thresholds(params), folder / "thresholds.png")
        save_figure(plot_tornado(one_way), folder / "tornado.png")
        save_figure(plot_psa(samples), folder / "psa.png")
    return 0


def add_decide(sub: argparse._SubParsersAction) -> None:
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
    add_bevacizumab_option(p)
    add_gate_force_option(p)
    p.set_defaults(run=run_decide)


def run_decide(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.value import decide
    from model.fitting.sampling import load_fit

    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    table = decide(
        fit,
        args.patients,
        params,
        pet_tracer=args.pet_tracer,
        allow_bevacizumab=args.allow_bevacizumab,
    )
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
        from model.inputs.schema import lesion_name

        for row in table.itertuples():
            name = safe_file_stem(lesion_name(row.patient_id, row.lesion_id))
            save_figure(
                plot_thresholds(params, row.p_recurrence), Path(args.plot) / f"decide_{name}.png"
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
        "eu_biopsy": "biopsy",
        "eu_treat": "treat",
        "eu_pet": "PET",
        "evpi": "EVPI",
        "evsi_pet": "EVSI PET",
        "evsi_perfusion": "EVSI perfusion",
        "evsi_rescan": "EVSI rescan",
    }
    out = console()
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


def add_policy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy",
        help="the rescan policy: best action by probability for each number of rescans left",
        description="Backward induction over up to --rounds rescans, with the fit's growth "
        "likelihood (averaged over posterior draws) as the information a rescan gives.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument(
        "--rounds", type=count_option, default=3, help="most rescans allowed (default 3)"
    )
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE", help="write the policy figure (e.g. policy.png)")
    p.set_defaults(run=run_policy)


def run_policy(args: argparse.Namespace) -> int:
    from model.decision.parameters import load_decision_parameters
    from model.decision.policy import growth_likelihood, rescan_policy
    from model.fitting.sampling import load_fit

    if not 0 <= args.rounds <= 10:
        raise InputError(
            [argument_problem("--rounds", str(args.rounds), "an integer from 0 to 10")]
        )
    params = load_decision_parameters(args.params)
    fit = load_fit(args.fit)
    policy = rescan_policy(
        growth_likelihood(fit.draws, params.rescan_weeks), params, rounds=args.rounds
    )
    if args.json:
        from model.core.outputs import json_text

        print(
            json_text(
                {"parameters": params.values(), "bands": policy.bands.to_dict(orient="records")},
                indent=1,
            )
        )
    else:
        from model.core.console import frame_table

        bands = policy.bands.set_index(["rescans_left", "action"])
        console().print(
            frame_table(
                f"Rescan policy ({params.rescan_weeks:g}-week rescans; utilities from the decision "
                "parameters)",
                bands,
                {"p_from": ".3f", "p_to": ".3f"},
            )
        )
    if args.plot:
        from model.core.files import save_figure
        from model.decision.plots import plot_policy

        save_figure(plot_policy(policy), args.plot)
    return 0


COMMANDS = (add_decide, add_policy, add_thresholds)
