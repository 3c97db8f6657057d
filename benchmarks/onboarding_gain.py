"""How many local lesions onboarding needs: calibration recovered and time, by sample size.

An external center is drawn from the bundled parameters (as the bundled cohort was) and its
scanner made to read perfusion 2.5 times high. The bundled fit scores it as a new center; then it
is onboarded (:func:`model.fitting.onboarding.onboard`) from its first N lesions, in several
replicates (different lesions each time), and every version scores the same held-out lesions.
The truth-implied probabilities (the generating parameters with the center's true effects) give
the calibration a perfect model would show on those lesions.

    python -m benchmarks.onboarding_gain [--sizes 10,30,100] [--replicates 3]

prints a Markdown table: the share of the calibration intercept's distance to the truth-implied
one that onboarding closes, the calibration slope over the truth-implied slope, the estimated
perfusion shift against the true one, the median effective candidates per draw, and seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SHIFT = 2.5
HELD_OUT_FROM = 600
"""Lesions after this one are held out; local samples come from those before it."""


def _external(seed: int):
    from model.checks.simulation import simulate, split_at_patient

    cohort, truth = simulate(4000, 1, seed=seed)
    table = cohort.table.copy()
    table["center"] = "EXT"
    measured = table["perfusion_ratio"].notna()
    shifted = np.minimum(table.loc[measured, "perfusion_ratio"] * SHIFT, 20).round(2)
    table.loc[measured, "perfusion_ratio"] = shifted
    pool, held_out = split_at_patient(cohort.with_table(table), HELD_OUT_FROM)
    effects = {name: np.asarray(v, float) for name, v in truth.center_effects.items()}
    effects["perfusion"] = effects["perfusion"] + np.log(SHIFT)
    return pool, held_out, effects


def _calibration(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from model.evaluation.metrics import calibration_intercept, calibration_slope

    return calibration_intercept(p, y), calibration_slope(p, y)


def _truth_implied(held_out, effects) -> tuple[float, float]:
    from model.inputs.encode import HISTOPATHOLOGY, encode
    from model.inputs.parameters import load_parameters
    from model.likelihood.draws import draws_from_values
    from model.likelihood.kernel import score
    from model.likelihood.tables import build_tables

    parameters = load_parameters()
    lesions = encode(held_out, ["EXT"], parameters)
    draws = draws_from_values(parameters, center_effects=effects)
    p = score(lesions, build_tables(draws, parameters.registry), 1, parameters.registry).p_mean
    labelled = lesions.label_source == HISTOPATHOLOGY
    return _calibration(p[labelled], lesions.label[labelled])


def run(sizes: list[int], replicates: int, seed: int = 21) -> str:
    """The Markdown table of the module docstring."""
    from model import bundled
    from model.checks.simulation import split_at_patient
    from model.evaluation.external import labelled_predictions
    from model.fitting.onboarding import onboard
    from model.fitting.sampling import load_fit

    fit = load_fit(bundled("fit.nc"))
    pool, held_out, effects = _external(seed)
    truth = _truth_implied(held_out, effects)
    before = labelled_predictions(fit, held_out)
    intercept, slope = _calibration(before.p, before.y)
    lines = [
        f"Truth-implied calibration on {len(before.y)} held-out labelled lesions: intercept "
        f"{truth[0]:+.2f}, slope {truth[1]:.2f}; the bundled fit, scoring the center as new: "
        f"intercept {intercept:+.2f}, slope {slope:.2f}. True perfusion shift "
        f"{effects['perfusion'][0]:+.2f}.",
        "",
        "| local lesions | intercept gap closed | slope / truth-implied | perfusion shift "
        "[90% interval] | effective candidates per draw (median of 64) | seconds |",
        "|---|---|---|---|---|---|",
    ]
    gap_before = abs(intercept - truth[0])
    for n in sizes:
        closed, ratio, shift, ess, seconds = [], [], [], [], []
        for r in range(replicates):
            start = r * (HELD_OUT_FROM // replicates)
            local, _ = split_at_patient(pool.subset(np.arange(start, len(pool))), n)
            started = time.perf_counter()
            updated, summary = onboard(fit, local, seed=r + 1)
            seconds.append(time.perf_counter() - started)
            after = labelled_predictions(updated, held_out)
            a_intercept, a_slope = _calibration(after.p, after.y)
            closed.append(1 - abs(a_intercept - truth[0]) / gap_before)
            ratio.append(a_slope / truth[1])
            shift.append(summary.effects.set_index("effect").loc["perfusion"])
            ess.append(summary.median_ess)
        lines.append(
            f"| {n} | {_spread(closed, '.0%')} | {_spread(ratio, '.2f')} | "
            + ", ".join(f"{s['mean']:+.2f} [{s['low']:+.2f}, {s['high']:+.2f}]" for s in shift)
            + f" | {_spread(ess, '.1f')} | {_spread(seconds, '.1f')} |"
        )
    return "\n".join(lines)


def _spread(values: list[float], spec: str) -> str:
    """The replicates' mean, with their range."""
    return f"{np.mean(values):{spec}} ({min(values):{spec}} to {max(values):{spec}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,30,100", help="local sample sizes (10,30,100)")
    parser.add_argument("--replicates", type=int, default=3, help="local samples per size (3)")
    args = parser.parse_args()
    print(run([int(n) for n in args.sizes.split(",")], args.replicates))


if __name__ == "__main__":
    main()
