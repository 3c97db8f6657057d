"""Fit speed: the default sampler (nutpie) against PyMC's own NUTS on the same model and cohort.

For each sampler the row holds: compile time cold (first compile of this model structure in the
process) and warm (the structure compiled already: nutpie reuses its compiled model with the new
data; PyMC's C modules come from PyTensor's disk cache); sampling wall time including warm-up;
the minimum bulk ESS over the population parameters; leapfrog steps per draw; seconds per
log-density-and-gradient evaluation; and the sampler's efficiency against the limit

    limit ESS/s = parallel chains / (steps per draw x seconds per gradient),

the ESS/s of a sampler whose every draw were independent and which spent all its time in
gradients. Efficiency is measured ESS/s (wall time with warm-up) over that limit.
"""

from __future__ import annotations

import ctypes
import os
import time
from dataclasses import dataclass

import numpy as np

from model.checks.simulation import simulate
from model.fitting import sampling as fitting
from model.fitting.sampling import SamplerSettings, prepare_model
from model.inputs.parameters import load_parameters
from model.likelihood.draws import hyperparameters


@dataclass(frozen=True)
class FitRow:
    """One sampler's measurements on one cohort."""

    lesions: int
    sampler: str
    chains: int
    draws: int
    tune: int
    target_accept: float
    compile_cold: float
    compile_warm: float
    sampling_seconds: float
    min_ess: float
    worst: str
    steps_per_draw: float
    gradient_seconds: float
    divergences: int

    @property
    def ess_per_second(self) -> float:
        return self.min_ess / self.sampling_seconds

    @property
    def ess_per_draw(self) -> float:
        return self.min_ess / (self.chains * self.draws)

    @property
    def limit(self) -> float:
        parallel = min(self.chains, os.cpu_count() or 1)
        return parallel / (self.steps_per_draw * self.gradient_seconds)

    @property
    def efficiency(self) -> float:
        return self.ess_per_second / self.limit


def min_ess(posterior) -> tuple[float, str]:
    """Smallest bulk ESS over the population parameters, and the parameter it belongs to."""
    import arviz as az

    names = [n for n in hyperparameters(load_parameters().registry) if n in posterior]
    ess = az.ess(posterior, var_names=names, method="bulk")
    values = {name: float(np.nanmin(v)) for name, v in ess.data_vars.items()}
    worst = min(values, key=values.get)
    return values[worst], worst


def simulated_cohort(n: int, centers: int, seed: int):
    """A synthetic cohort of ``n`` lesions drawn with the bundled parameters."""
    return simulate(n, centers, seed, load_parameters(), validate=False)[0]


def time_calls(call, repeats: int) -> float:
    """Seconds per call, best of three batches of ``repeats`` calls."""
    call()
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def nutpie_gradient(compiled, repeats: int) -> float:
    """Seconds per nutpie log-density-and-gradient call (the compiled numba function itself)."""
    function = compiled.compiled_logp_func.ctypes
    x = np.zeros(compiled.n_dim)  # the unconstrained origin: a valid point of every parameter
    gradient, logp = np.empty_like(x), np.empty(())
    pointer = ctypes.POINTER(ctypes.c_double)
    args = (
        compiled.n_dim,
        x.ctypes.data_as(pointer),
        gradient.ctypes.data_as(pointer),
        logp.ctypes.data_as(pointer),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    if function(*args) != 0:
        raise RuntimeError("nutpie's log density failed at the origin")
    return time_calls(lambda: function(*args), repeats)


def pymc_gradient(step, model, repeats: int) -> float:
    """Seconds per PyMC log-density-and-gradient call (the function its NUTS integrator uses)."""
    from pymc.blocking import DictToArrayBijection

    point = model.initial_point(0)
    values = {v.name: point[v.name] for v in model.continuous_value_vars}
    q = DictToArrayBijection.map(values).data
    function = step._logp_dlogp_func
    return time_calls(lambda: function(q), repeats)


def compile_and_gradient(cohort, sampler: str, centered, repeats: int) -> tuple[float, float]:
    """Warm compile time and gradient cost for the cohort's model (after a fit compiled it)."""
    import pymc as pm

    prepared = prepare_model(cohort, load_parameters(), centered)
    start = time.perf_counter()
    if sampler == "nutpie":
        compiled, reused = fitting._compiled_nutpie(prepared.graph, prepared.structure)
        assert reused, "the fit should have compiled this structure already"
        warm = time.perf_counter() - start
        return warm, nutpie_gradient(compiled, repeats)
    step = pm.NUTS(model=prepared.graph.model)
    warm = time.perf_counter() - start
    return warm, pymc_gradient(step, prepared.graph.model, repeats)


def fit_row(cohort, sampler: str, draws: int, tune: int | None, chains: int, seed: int) -> FitRow:
    """Fit the cohort with one sampler and measure it."""
    fitting._COMPILED.clear()  # the first compile of each row is cold
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed)
    result = fitting.fit(cohort, settings=settings, progress=False)
    timing = result.provenance["sampler"]
    repeats = max(20, 20_000 // len(cohort))
    warm, gradient = compile_and_gradient(cohort, sampler, timing["centered"], repeats)
    ess, worst = min_ess(result.posterior)
    return FitRow(
        lesions=len(cohort),
        sampler=sampler,
        chains=chains,
        draws=draws,
        tune=settings.tune,
        target_accept=timing["target_accept"],
        compile_cold=timing["compile_seconds"],
        compile_warm=warm,
        sampling_seconds=timing["sampling_seconds"],
        min_ess=ess,
        worst=worst,
        steps_per_draw=float(result.sample_stats["n_steps"].mean()),
        gradient_seconds=gradient,
        divergences=result.gate.divergences,
    )
