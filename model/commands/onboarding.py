"""The new-center command: ``onboard`` (a center's effects from its own lesions, no refit)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands.common import console
from model.core.console import terminal_text
from model.core.numbers import count_option, whole_option


def add_onboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "onboard",
        help="calibrate the fit to a new center from a few of its lesions, without refitting",
        description="Estimate a center's calibration shifts and prevalence offset from its own "
        "lesions (labelled or not), with the fitted population as the prior, and write a fit "
        "that scores that center with them. The population draws are not refitted; the new "
        "fit's provenance records the onboarding.",
    )
    p.add_argument("fit", help="fit file that never saw the center")
    p.add_argument("cohort", help="the new center's lesions (cohort format, one center)")
    p.add_argument("--out", required=True, help="fit file to write (.nc)")
    p.add_argument(
        "--candidates",
        type=count_option,
        default=None,
        help="proposed center effects per posterior draw (64); more if the effective number "
        "reported is low",
    )
    p.add_argument("--seed", type=whole_option, default=1, help="random seed (1)")
    p.add_argument("--json", action="store_true", help="print the estimated effects as JSON")
    p.set_defaults(run=run_onboard)


def run_onboard(args: argparse.Namespace) -> int:
    import numpy as np

    from model.core.outputs import json_text, strict_json_value
    from model.fitting.onboarding import DEFAULT_CANDIDATES, LOW_ESS, onboard
    from model.fitting.sampling import load_fit
    from model.inputs.reading import load_cohort

    fit = load_fit(args.fit)
    local = load_cohort(args.cohort, fit.registry)
    candidates = args.candidates or DEFAULT_CANDIDATES
    updated, summary = onboard(fit, local, candidates=candidates, seed=args.seed)
    updated.save(args.out)
    if args.json:
        document = strict_json_value(
            {
                "center": summary.center,
                "lesions": summary.lesions,
                "median_ess": summary.median_ess,
                "low_ess_share": summary.low_ess_share,
                "effects": summary.effects.to_dict(orient="records"),
                "fit": Path(args.out).name,
            }
        )
        console().print(json_text(document), markup=False, highlight=False, soft_wrap=True)
        return 0
    from model.core.console import DECISION_SUPPORT, frame_table

    out = console()
    shown = summary.effects.assign(
        estimate=[
            f"{r.mean:+.2f} [{r.low:+.2f}, {r.high:+.2f}]" for r in summary.effects.itertuples()
        ],
        reads=[
            "-" if r.effect == "prevalence" else f"x{np.exp(r.mean):.2f}"
            for r in summary.effects.itertuples()
        ],
        prior_spread=[f"{r.prior_sd:.2f}" for r in summary.effects.itertuples()],
        informed=["yes" if r.informed else "no (prior)" for r in summary.effects.itertuples()],
    )[["effect", "informed", "estimate", "reads", "prior_spread"]]
    counts = summary.lesions
    out.print(
        frame_table(
            terminal_text(
                f"Center {summary.center}: effects learned from {sum(counts.values())} lesions "
                f"({counts['histopathology']} by histopathology, {counts['follow_up']} by "
                f"follow-up, {counts['unlabelled']} unlabelled); log scale, posterior mean [90% "
                "interval]; 'reads' is the marker's values at this center against the population"
                " (prevalence: log-odds offset)"
            ),
            shown.set_index("effect"),
        )
    )
    out.print(
        f"Effective candidates per draw: median {summary.median_ess:.1f} of {candidates}; "
        f"{100 * summary.low_ess_share:.0f}% of draws below {LOW_ESS:g}."
    )
    if summary.median_ess < LOW_ESS:
        out.print(
            f"Caution: few effective candidates; rerun with --candidates {4 * candidates}. With "
            "hundreds of local lesions, refit the cohort with this center instead."
        )
    out.print(
        terminal_text(
            f"Wrote {Path(args.out).name}: it scores lesions of {summary.center} with these "
            "effects (rnbayes predict, decide, report); other new centers are scored as before."
        ),
        markup=False,
    )
    out.print(DECISION_SUPPORT)
    return 0


COMMANDS = (add_onboard,)
