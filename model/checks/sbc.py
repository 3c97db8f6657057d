"""Simulation-based calibration and operating characteristics, run on Dask.

Each simulation draws the parameters from the priors, simulates a cohort (and held-out lesions)
from them, fits the model, and records (Talts S et al., arXiv:1804.06788, 2018):

- the rank of every true population parameter among thinned posterior draws: if the fit is
  calibrated, each rank is uniform on 0..L;
- on the held-out lesions, whether the interval for P(recurrence) covers the probability the true
  parameters give, and the predicted probabilities against the true classes.

Simulations are independent tasks on a Dask cluster (:mod:`model.core.studies`: resumable, one
JSON file per simulation). Each worker process compiles the model once and reuses it for its later
simulations (:func:`model.fitting.sampling.fit`).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from model.core.errors import InputError, Problem
from model.core.studies import STUDY_FILE, read_record, run_missing
from model.evaluation.metrics import brier_score, expected_calibration_error

COMMAND = "rnbayes sbc"


@dataclass(frozen=True)
class SBCSettings:
    """The shape of every simulation of a study.

    Parameters
    ----------
    n_lesions, n_centers : int
        Training cohort size.
    held_out : int
        Held-out lesions scored for the operating characteristics.
    draws, tune, chains : int
        Sampler settings of each fit.
    thin_to : int
        Posterior draws kept for the ranks (evenly thinned, to make them nearly independent); ranks
        run from 0 to ``thin_to``.
    seed : int
        Seed of the study: simulation i uses
        :func:`model.checks.simulation.simulation_seed` ``(seed, i)``.
    centered : tuple of str
        Families with centred group effects, fixed for the whole study so that every simulation
        reuses one compiled model (the automatic choice can differ between small cohorts).
    """

    n_lesions: int = 150
    n_centers: int = 4
    held_out: int = 300
    draws: int = 250
    tune: int = 300
    chains: int = 2
    thin_to: int = 99
    seed: int = 1
    centered: tuple[str, ...] = ("perfusion", "pet")


def _truth_values(parameters, truth) -> dict[str, float]:
    from model.likelihood.draws import parameter_variables

    variables = parameter_variables(parameters.registry)
    return {entry: float(truth.parameters[entry]) for entry, _, _ in variables}


def _posterior_draws(posterior, thin_to: int, registry) -> dict[str, np.ndarray]:
    from model.likelihood.draws import parameter_variables

    def flat(var, **selection):
        values = posterior[var].sel(**selection).to_numpy()  # (chain, draw)
        values = values.reshape(-1)
        return values[np.linspace(0, len(values) - 1, thin_to).round().astype(int)]

    return {
        entry: flat(var, **selection) for entry, var, selection in parameter_variables(registry)
    }


def run_simulation(index: int, settings: SBCSettings) -> dict:
    """One simulation: draw parameters, simulate, fit, rank the truth, score held-out lesions.

    Parameters
    ----------
    index : int
    settings : SBCSettings

    Returns
    -------
    dict
        JSON-ready: ``index``, ``seed``, ``ranks`` (parameter to rank), ``coverage`` (share of
        held-out lesions whose true-parameter probability lies in the 90% interval), ``predicted``
        and ``true_class`` summaries for calibration, the fit's gate, and timings.
    """
    from model.checks.simulation import (
        draw_parameters,
        simulate,
        simulation_seed,
        split_at_patient,
    )
    from model.fitting.sampling import SamplerSettings, fit
    from model.inputs.encode import encode
    from model.inputs.parameters import load_parameters
    from model.likelihood.draws import draws_from_values
    from model.likelihood.kernel import score
    from model.likelihood.tables import build_tables
    from model.scoring.predict import predict

    started = time.perf_counter()
    seed = simulation_seed(settings.seed, index)
    priors = load_parameters()
    truth_parameters = draw_parameters(priors, seed)
    cohort, truth = simulate(
        settings.n_lesions + settings.held_out,
        settings.n_centers,
        seed,
        truth_parameters,
        validate=False,
    )
    train, test = split_at_patient(cohort, settings.n_lesions)
    sampler = SamplerSettings(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=seed,
        cores=1,
        centered=tuple(settings.centered),
    )
    fitted = fit(train, priors, sampler, progress=False)

    values = _truth_values(priors, truth)
    draws = _posterior_draws(fitted.posterior, settings.thin_to, priors.registry)
    ranks = {name: int(np.sum(draws[name] < value)) for name, value in values.items()}

    predicted = predict(fitted, test, ci_prob=0.90)
    registry = priors.registry
    lesions = encode(test, [c.name for c in truth.centers], fitted.parameters)
    truth_draws = draws_from_values(truth_parameters, center_effects=truth.center_effects)
    exact = score(lesions, build_tables(truth_draws, registry), settings.n_centers, registry).p_mean
    covered = (predicted["ci_low"] <= exact) & (exact <= predicted["ci_high"])
    return {
        "index": index,
        "seed": seed,
        "ranks": ranks,
        "coverage": float(covered.mean()),
        "predicted": predicted["p_recurrence"].round(6).tolist(),
        "true_class": truth.latent_class[len(train) :].tolist(),
        "gate": fitted.provenance["diagnostics"],
        "model_spec_hash": fitted.provenance["model_spec_hash"],
        "seconds": round(time.perf_counter() - started, 2),
    }


def _result_path(folder: Path, index: int) -> Path:
    return folder / f"simulation_{index:05d}.json"


def _study_record(settings: SBCSettings) -> dict:
    """What a study folder is bound to: its settings and the model that fits every simulation."""
    from model.fitting.sampling import model_spec_hash
    from model.inputs.parameters import load_parameters

    return {"settings": asdict(settings), "model_spec_hash": model_spec_hash(load_parameters())}


def run_study(
    n_sims: int,
    folder: str | os.PathLike,
    settings: SBCSettings | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) a simulation-based calibration study on Dask.

    Parameters
    ----------
    n_sims : int
        Simulations wanted in total; those already in ``folder`` are not run again.
    folder : path-like
        Study folder: ``study.json`` (the settings and the model spec hash it is bound to) and one
        JSON file per simulation.
    settings : SBCSettings, optional
    scheduler, workers, progress
        Where the fits run, as for :func:`model.core.studies.run_tasks`.

    Returns
    -------
    dict
        ``computed`` (simulations run now), ``total`` (simulations in the folder).
    """
    settings = settings or SBCSettings()
    folder = Path(folder)
    computed = run_missing(
        folder,
        _study_record(settings),
        COMMAND,
        run_simulation,
        {i: (i, settings) for i in range(n_sims)},
        lambda index: _result_path(folder, index),
        label="SBC simulations",
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    return {"computed": computed, "total": len(list(folder.glob("simulation_*.json")))}


def load_study(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[dict], SBCSettings]:
    """The ranks (one row per simulation), the raw results and the settings of a study folder."""
    folder = Path(folder)
    recorded = read_record(folder / STUDY_FILE, COMMAND, ("settings",))["settings"]
    try:
        settings = SBCSettings(**{**recorded, "centered": tuple(recorded["centered"])})
    except (TypeError, KeyError):
        raise InputError(
            [Problem(str(folder / STUDY_FILE), None, "settings", str(recorded), "SBC settings")]
        ) from None
    results = [
        read_record(p, COMMAND, ("index", "ranks", "coverage", "predicted", "true_class", "gate"))
        for p in sorted(folder.glob("simulation_*.json"))
    ]
    ranks = pd.DataFrame([r["ranks"] for r in results], index=[r["index"] for r in results])
    return ranks, results, settings


def uniformity(
    ranks: pd.DataFrame, thin_to: int, bins: int = 10, alpha: float = 0.01
) -> pd.DataFrame:
    """Chi-square test of uniform ranks per parameter, with a Bonferroni-corrected verdict.

    Parameters
    ----------
    ranks : pandas.DataFrame
        One column per parameter, ranks in 0..thin_to.
    thin_to : int
    bins : int, default 10
    alpha : float, default 0.01
        Family-wise level; each parameter is tested at ``alpha / number of parameters``.

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``chi2``, ``p_value``, ``fails`` (p below the Bonferroni level); its
        ``attrs["too_few"]`` is true below five simulations per bin, where the chi-square
        approximation fails and the test has almost no power (no failure then says little).
    """
    edges = np.linspace(-0.5, thin_to + 0.5, bins + 1)
    level = alpha / ranks.shape[1]
    rows = []
    for name in ranks.columns:
        counts, _ = np.histogram(ranks[name], bins=edges)
        expected = np.diff(edges) / (thin_to + 1) * len(ranks)
        chi2, p = stats.chisquare(counts, expected)
        rows.append(
            {"parameter": name, "chi2": float(chi2), "p_value": float(p), "fails": bool(p < level)}
        )
    table = pd.DataFrame(rows).sort_values("p_value", ignore_index=True)
    table.attrs.update(
        {
            "alpha": alpha,
            "bonferroni_level": level,
            "simulations": len(ranks),
            "too_few": len(ranks) < 5 * bins,
        }
    )
    return table


def operating_characteristics(results: list[dict], bins: int = 10) -> dict:
    """Coverage of the P(recurrence) interval and calibration against true classes, over studies."""
    coverage = np.array([r["coverage"] for r in results])
    p = np.concatenate([r["predicted"] for r in results])
    z = np.concatenate([r["true_class"] for r in results]).astype(int)
    return {
        "simulations": len(results),
        "coverage_mean": float(coverage.mean()),
        "coverage_low": float(np.quantile(coverage, 0.05)),
        "coverage_high": float(np.quantile(coverage, 0.95)),
        "expected_calibration_error": expected_calibration_error(p, z, bins),
        "brier": brier_score(p, z),
        "lesions": int(len(p)),
        "gates_passed": int(sum(r["gate"]["passed"] for r in results)),
    }


def plot_ranks(ranks: pd.DataFrame, thin_to: int):
    """Plot each parameter's rank ECDF minus the uniform CDF.

    Parameters
    ----------
    ranks : pandas.DataFrame
        One column per parameter, one row per simulation; ranks in ``0 .. thin_to``.
    thin_to : int
        Number of posterior draws each rank was computed against.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter. The grey band is a 99% band for uniform ranks, Bonferroni-
        corrected over the 101 grid points (normal approximation), so it holds simultaneously,
        conservatively: a curve leaving it is evidence of miscalibration.
    """
    from matplotlib.figure import Figure

    columns = 6
    rows = int(np.ceil(ranks.shape[1] / columns))
    fig = Figure(figsize=(12, 1.6 * rows), layout="constrained")
    axes = fig.subplots(rows, columns).ravel()
    n = len(ranks)
    grid = np.linspace(0, 1, 101)
    band = stats.norm.ppf(1 - 0.005 / len(grid)) * np.sqrt(grid * (1 - grid) / n)
    for ax, name in zip(axes, ranks.columns, strict=False):
        u = (ranks[name].to_numpy() + 0.5) / (thin_to + 1)
        ecdf = (u[None, :] <= grid[:, None]).mean(axis=1)
        ax.fill_between(grid, -band, band, color="0.85")
        ax.plot(grid, ecdf - grid, lw=1.2)
        ax.set_title(name, fontsize=6)
        ax.tick_params(labelsize=5)
    for ax in axes[ranks.shape[1] :]:
        ax.set_visible(False)
    return fig
