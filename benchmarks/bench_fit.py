"""Sampler efficiency on the bundled cohort: the default fit (nutpie, low-rank adaptation) against
PyMC's own NUTS on the same model, both through ``model.fit``, in the same run.

ESS/s is the minimum bulk ESS over the population parameters (model.posterior.HYPERPARAMETERS)
divided by the sampling wall time including warm-up; compilation is reported separately.

    python benchmarks/bench_fit.py [--draws 1000] [--tune 1000] [--chains 4] [--seed 1]
"""

from __future__ import annotations

import argparse

import numpy as np

from model.files import bundled
from model.fitting import SamplerSettings, fit
from model.posterior import HYPERPARAMETERS
from model.schema import load_cohort


def min_ess(posterior) -> tuple[float, str]:
    import arviz as az

    ess = az.ess(posterior, var_names=list(HYPERPARAMETERS), method="bulk")
    values = {name: float(np.nanmin(v)) for name, v in ess.data_vars.items()}
    worst = min(values, key=values.get)
    return values[worst], worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = load_cohort(bundled("cohort.csv"))
    rows = []
    for label, sampler in (("nutpie (default)", "nutpie"), ("PyMC NUTS", "pymc")):
        settings = SamplerSettings(
            sampler=sampler, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed
        )
        result = fit(cohort, settings=settings, progress=False)
        timing = result.provenance["sampler"]
        ess, worst = min_ess(result.posterior)
        steps = float(result.sample_stats["n_steps"].mean())
        rows.append((label, timing, ess, worst, steps, result.gate.divergences))
    centred = ", ".join(rows[0][1]["centered"])
    print(
        f"Bundled cohort: {len(cohort)} lesions; {args.chains} chains x {args.draws} draws "
        f"(+{args.tune} warm-up); centred: {centred}"
    )
    print(
        f"{'sampler':18} {'compile s':>9} {'sample s':>8} {'min ESS':>8} {'ESS/draw':>8} "
        f"{'ESS/s':>7} {'steps/draw':>10} {'div':>4}  worst"
    )
    total = args.draws * args.chains
    rates = []
    for label, timing, ess, worst, steps, divergences in rows:
        rate = ess / timing["sampling_seconds"]
        rates.append(rate)
        print(
            f"{label:18} {timing['compile_seconds']:9.1f} {timing['sampling_seconds']:8.1f} "
            f"{ess:8.0f} {ess / total:8.2f} {rate:7.1f} {steps:10.1f} {divergences:4d}  {worst}"
        )
    print(f"ESS/s ratio nutpie / PyMC: {rates[0] / rates[1]:.1f}x")


if __name__ == "__main__":
    main()
