"""How much the priors drive a fit: power-scaling sensitivity and a prior predictive check.

Power-scaling sensitivity (Kallioinen et al. 2024) asks how the posterior of each population
parameter moves when the prior, or the likelihood, is raised to a power alpha near 1. It needs, for
every posterior draw, the log-likelihood of each training patient and the log prior density:
:func:`log_densities` rebuilds the fit's PyMC model on its training cohort and evaluates both with
one compiled, vectorised PyTensor function; :func:`prior_sensitivity` hands them to ArviZ
(:func:`arviz_stats.psense_summary`) and attaches each parameter's prior and its source from the
parameter file.

The prior predictive check draws parameters from the priors (:func:`model.checks.simulation
.draw_parameters`), simulates cohorts of the observed size and center count
(:func:`model.checks.simulation.simulate`) and places the observed cohort's summary statistics
(perfusion and PET quantiles, share of recurrence among labelled lesions, early growth, symptom
rates) within the simulated ones.

The three layers follow :mod:`arviz_stats`: statistics of arrays and tables, then functions of a
``DataTree``, then the functions of a fit that the ``rnbayes prior-check`` command calls.

References
----------
.. [1] Kallioinen N, Paananen T, Buerkner P-C, Vehtari A. Detecting and diagnosing prior and
   likelihood sensitivity with power-scaling. Stat Comput 34, 57 (2024).
   https://doi.org/10.1007/s11222-023-10366-5
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from model.core.errors import InputError, Problem
from model.fitting.sampling import Fit, exact_numba, prepare_model
from model.inputs.parameters import Parameters, Prior, load_parameters
from model.inputs.schema import Cohort
from model.inputs.vocabulary import SYMPTOMS
from model.likelihood.draws import hyperparameters, parameter_variables
from model.likelihood.patients import PatientGroups
from model.modalities.registry import Registry
from model.scoring.predict import as_cohort

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

SAMPLE_DIMS = ("chain", "draw")
THRESHOLD = 0.05
"""ArviZ's default: a power-scaling sensitivity at or above it is flagged."""


CohortLike = Cohort | str | os.PathLike


# ---------------------------------------------------------------------------------------------
# Log-likelihood and log prior of every posterior draw
# ---------------------------------------------------------------------------------------------
def training_cohort(fit: Fit, cohort: CohortLike) -> Cohort:
    """The fit's training cohort, checked against the digest stored in the fit.

    Parameters
    ----------
    fit : Fit
    cohort : Cohort or path-like

    Returns
    -------
    Cohort

    Raises
    ------
    model.core.errors.InputError
        Naming the cohort file, if it is not the cohort the fit was trained on.
    """
    cohort = as_cohort(cohort, fit.registry)
    if cohort.digest != fit.provenance["cohort"]["digest"]:
        trained_on = fit.provenance["cohort"]["name"]
        raise InputError(
            [
                Problem(
                    cohort.source,
                    None,
                    None,
                    None,
                    f"the cohort the fit was trained on ({trained_on}); this fit was trained on "
                    "another cohort",
                )
            ]
        )
    return cohort


def fit_parameters(fit: Fit, parameters: Parameters | None = None) -> Parameters:
    """The priors the fit was sampled with (default those stored in the fit), checked by digest.

    Parameters
    ----------
    fit : Fit
    parameters : Parameters, optional

    Returns
    -------
    model.inputs.parameters.Parameters

    Raises
    ------
    model.core.errors.InputError
        If the parameter file is not the one the fit was sampled with.
    """
    parameters = parameters if parameters is not None else fit.parameters
    if parameters.digest != fit.provenance["parameters_digest"]:
        raise InputError(
            [
                Problem(
                    Path(parameters.path).name,
                    None,
                    None,
                    None,
                    "the parameter file the fit was sampled with (digest "
                    f"{fit.provenance['parameters_digest'][:12]}); pass that file",
                )
            ]
        )
    return parameters


def population_priors(model, registry: Registry) -> list:
    """The free random variables that carry a prior from the parameter file.

    These are the population parameters (:func:`model.likelihood.draws.hyperparameters`). Center
    offsets are group-level effects, whose distribution given their spread is part of the model's
    structure: they are not power-scaled, whichever parameterisation (centred or not) the fit
    used.
    """
    names = set(hyperparameters(registry))
    return [rv for rv in model.free_RVs if rv.name in names]


def _compile(graph, registry: Registry):
    """Compile the log densities as one function of every free variable, batched over draws.

    Its outputs are the patients' log-likelihoods and the elementwise log prior density of each
    population parameter.
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc import logp
    from pytensor.graph.replace import graph_replace, vectorize_graph

    rvs = list(graph.model.free_RVs)
    priors = population_priors(graph.model, registry)
    core = {rv: rv.type(name=rv.name) for rv in rvs}
    outputs = [graph.patient_log_likelihood, *(logp(rv, core[rv]) for rv in priors)]
    outputs = graph_replace(outputs, core, strict=False)
    batched = {
        x: pt.tensor(name=x.name, shape=(None, *x.type.shape), dtype=x.dtype) for x in core.values()
    }
    # Numba: PyTensor's C backend loops over the batch in Python (minutes instead of seconds).
    with exact_numba():
        function = pytensor.function(
            list(batched.values()), vectorize_graph(outputs, batched), mode="NUMBA"
        )
    return function, rvs, priors


def _thin(posterior: xr.Dataset, draws: int | None) -> xr.Dataset:
    if draws is None or draws >= posterior.sizes["draw"]:
        return posterior
    if draws < 1:
        raise ValueError("draws must be positive")
    index = np.linspace(0, posterior.sizes["draw"] - 1, draws).round().astype(int)
    return posterior.isel(draw=index)


def log_densities(
    fit: Fit,
    cohort: CohortLike,
    parameters: Parameters | None = None,
    *,
    draws: int | None = None,
) -> xr.DataTree:
    """Pointwise log-likelihood and log prior density of every posterior draw of a fit.

    Parameters
    ----------
    fit : Fit
    cohort : Cohort or path-like
        The fit's training cohort (checked by digest).
    parameters : Parameters, optional
        The priors the fit was sampled with; default the bundled parameter file (checked by
        digest).
    draws : int, optional
        Keep at most this many draws per chain, evenly spaced (for quick checks).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` (the fit's draws), ``log_likelihood`` (variable ``patients``, dims
        ``chain, draw, patient``; patients in cohort row order, labelled by patient id) and
        ``log_prior`` (one variable per population parameter, elementwise, with the posterior's
        dims): what :func:`arviz_stats.psense` reads.

    Raises
    ------
    model.core.errors.InputError
        If ``cohort`` is not the fit's training cohort, or ``parameters`` not its priors.

    Notes
    -----
    The log prior is the density of each population parameter on the scale it is reported on
    (its constrained value: a standard deviation, a probability, a correlation), without the
    Jacobian of the sampler's unconstraining transforms, as in ``pymc.compute_log_prior`` and
    the ``lprior`` of Stan/brms: power-scaling the prior means raising the density as written in
    the parameter file to a power. Only the population parameters' priors are included (see
    :func:`population_priors`), as in brms's ``lprior`` (what priorsense power-scales for brms
    models), so the result does not depend on the centred or non-centred form the fit used. A
    correlation's density is that of its Beta-distributed ``(x + 1) / 2``: a constant factor
    apart, which power-scaling ignores.
    """
    import xarray as xr

    cohort = training_cohort(fit, cohort)
    parameters = fit_parameters(fit, parameters)
    prepared = prepare_model(cohort, parameters, tuple(fit.provenance["sampler"]["centered"]))
    function, rvs, priors = _compile(prepared.graph, parameters.registry)
    posterior = _thin(fit.posterior, draws)
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    dims = {
        rv.name: (*SAMPLE_DIMS, *prepared.graph.model.named_vars_to_dims.get(rv.name, ()))
        for rv in rvs
    }
    values = [posterior[rv.name].transpose(*dims[rv.name]).to_numpy() for rv in rvs]
    log_lik, *log_prior = function(*(v.reshape(-1, *v.shape[2:]) for v in values))
    first = PatientGroups.of(prepared.lesions.patient).first
    patient = cohort.table["patient_id"].to_numpy(dtype=str)[first]
    likelihood = xr.Dataset(
        {"patients": ((*SAMPLE_DIMS, "patient"), log_lik.reshape(*shape, -1))},
        coords={**{d: posterior[d] for d in SAMPLE_DIMS}, "patient": patient},
    )
    prior = xr.Dataset(
        {
            rv.name: (dims[rv.name], term.reshape(*shape, *term.shape[1:]))
            for rv, term in zip(priors, log_prior, strict=True)
        },
        coords=posterior.coords,
    )
    return xr.DataTree.from_dict(
        {"posterior": posterior, "log_likelihood": likelihood, "log_prior": prior}
    )


# ---------------------------------------------------------------------------------------------
# Power-scaling sensitivity
# ---------------------------------------------------------------------------------------------
def _entries_by_label(posterior: xr.Dataset, registry: Registry) -> dict[str, str]:
    """Parameter-file entry of each scalar element, keyed by ArviZ's flat label."""
    from arviz_base import xarray_sel_iter
    from arviz_base.labels import BaseLabeller

    known = {
        (var, frozenset(sel.items())): entry for entry, var, sel in parameter_variables(registry)
    }
    labeller = BaseLabeller()
    out = {}
    for var, sel, isel in xarray_sel_iter(posterior, skip_dims=set(SAMPLE_DIMS)):
        entry = known.get((var, frozenset((k, str(v)) for k, v in sel.items())))
        if entry is not None:
            out[labeller.make_label_flat(var, sel, isel)] = entry
    return out


def describe_prior(prior: Prior) -> str:
    """A prior in the words of the parameter file, e.g. ``"LogNormal(log 0.4, 0.5)"``.

    Parameters
    ----------
    prior : Prior

    Returns
    -------
    str
    """
    center = "centre from item rates" if prior.center is None else f"{prior.center:g}"
    if prior.kind == "normal":
        return f"Normal({center}, {prior.scale:g})"
    if prior.kind == "lognormal":
        return f"LogNormal(log {center}, {prior.scale:g})"
    if prior.kind == "halfnormal":
        return f"HalfNormal({prior.scale:g})"
    if prior.kind == "beta":
        return f"Beta({prior.center * prior.scale:.3g}, {(1 - prior.center) * prior.scale:.3g})"
    return f"fixed at {center}"


def sensitivity_table(
    tree: xr.DataTree,
    var_names: Sequence[str],
    parameters: Parameters | None = None,
    threshold: float = THRESHOLD,
) -> pd.DataFrame:
    """ArviZ's power-scaling sensitivity of some posterior variables, with their priors.

    Parameters
    ----------
    tree : xarray.DataTree
        With ``posterior``, ``log_likelihood`` and ``log_prior`` groups (:func:`log_densities`).
    var_names : sequence of str
        Posterior variables to diagnose; each element of a vector variable is one row.
    parameters : Parameters, optional
        Where to read each parameter's prior and source
        (:func:`model.likelihood.draws.parameter_variables`); without it those columns are empty.
    threshold : float, default 0.05

    Returns
    -------
    pandas.DataFrame
        Indexed by ArviZ's label (``"pet_sigma[DOPA, recurrence]"``): ``prior_sensitivity`` and
        ``likelihood_sensitivity`` (cumulative Jensen-Shannon distance per unit of log2 alpha),
        ``diagnosis`` (ArviZ's: "potential prior-data conflict" when both are at or above the
        threshold, "potential strong prior / weak likelihood" when only the prior's is, empty
        otherwise), ``flagged``, ``entry``, ``prior`` and ``source``. Flagged rows first, then by
        prior sensitivity.
    """
    from arviz_stats import psense_summary

    summary = psense_summary(tree, var_names=list(var_names), threshold=threshold)
    registry = parameters.registry if parameters is not None else Registry(())
    entries = _entries_by_label(tree["posterior"].to_dataset()[list(var_names)], registry)
    table = pd.DataFrame(
        {
            "prior_sensitivity": summary["prior"].astype(float),
            "likelihood_sensitivity": summary["likelihood"].astype(float),
            "diagnosis": summary["diagnosis"].replace("✓", ""),
        }
    )
    table["flagged"] = table["diagnosis"] != ""
    table["entry"] = [entries.get(label, "") for label in table.index]
    table["prior"] = [
        describe_prior(parameters.prior(e)) if parameters is not None and e else ""
        for e in table["entry"]
    ]
    table["source"] = [
        parameters.source(e) if parameters is not None and e else "" for e in table["entry"]
    ]
    table.index.name = "parameter"
    table.attrs["threshold"] = threshold
    return table.sort_values(
        ["flagged", "prior_sensitivity"], ascending=[False, False], kind="stable"
    )


def prior_sensitivity(
    fit: Fit,
    cohort: CohortLike,
    parameters: Parameters | None = None,
    *,
    draws: int | None = None,
    threshold: float = THRESHOLD,
) -> pd.DataFrame:
    """Power-scaling prior and likelihood sensitivity of a fit's population parameters.

    Parameters
    ----------
    fit : Fit
    cohort : Cohort or path-like
        The fit's training cohort.
    parameters : Parameters, optional
        The priors the fit was sampled with; default the bundled parameter file.
    draws : int, optional
        At most this many draws per chain (default all).
    threshold : float, default 0.05

    Returns
    -------
    pandas.DataFrame
        As :func:`sensitivity_table`, for :func:`model.likelihood.draws.hyperparameters`.

    Notes
    -----
    A prior sensitivity at or above the threshold means the prior still shapes that posterior;
    with a likelihood sensitivity also above it, ArviZ calls it a potential prior-data conflict
    (a small change of the prior moves the posterior although the data are informative); with a
    weak likelihood sensitivity, a strong prior. Between-group spreads estimated from a few
    centers are expected to be prior-sensitive. See [1]_ in the module notes.
    """
    parameters = fit_parameters(fit, parameters)
    tree = log_densities(fit, cohort, parameters, draws=draws)
    return sensitivity_table(tree, hyperparameters(parameters.registry), parameters, threshold)


def plot_prior_sensitivity(table: pd.DataFrame, threshold: float = THRESHOLD) -> Figure:
    """Bar chart of each parameter's prior and likelihood sensitivity.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`prior_sensitivity` or :func:`sensitivity_table`.
    threshold : float, default 0.05
        Drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    shown = table.iloc[::-1]
    y = np.arange(len(shown))
    fig = Figure(figsize=(7, 1.0 + 0.22 * len(shown)), layout="constrained")
    ax = fig.subplots()
    ax.barh(y + 0.2, shown["prior_sensitivity"], height=0.4, label="prior", color="C0")
    ax.barh(y - 0.2, shown["likelihood_sensitivity"], height=0.4, label="likelihood", color="C1")
    ax.axvline(threshold, color="0.3", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_yticks(
        y, [f"{'* ' if f else ''}{p}" for p, f in zip(shown.index, shown["flagged"], strict=True)]
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("power-scaling sensitivity (CJS distance per log2 alpha)")
    ax.set_title("Prior and likelihood sensitivity (* flagged)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig


# ---------------------------------------------------------------------------------------------
# Prior predictive check
# ---------------------------------------------------------------------------------------------
_QUANTILES = {"q10": "10% quantile", "median": "median", "q90": "90% quantile"}


def statistics(registry: Registry) -> dict[str, str]:
    """Summary statistics compared with their prior predictive distribution, and their labels.

    Quantiles of every marker kind's log values, the share of recurrence among labelled lesions,
    of growth by the first follow-up, of each symptom, and of positive binary test results.
    """
    out = {
        f"log_{kind.name.lower()}_{q}": f"log {kind.label}, {label}"
        for marker in registry.markers
        for kind in marker.kinds
        for q, label in _QUANTILES.items()
    }
    out |= {
        "labelled_recurrence": "share of recurrence among labelled lesions",
        "growth_over_25pct_fu1": "share growing > 25% by the first follow-up",
        **{f"symptom_{s}": f"share with {s.replace('_', ' ')} (of known)" for s in SYMPTOMS},
        **{
            f"positive_{t.name}": f"share of positive {t.label} results"
            for t in registry.binary_tests
        },
    }
    return out


def _quantiles(values: pd.Series) -> list[float]:
    values = values.to_numpy(dtype=float)
    if len(values) == 0:
        return [np.nan] * 3
    return list(np.quantile(values, [0.1, 0.5, 0.9]))


def _share(flags: pd.Series) -> float:
    flags = flags.dropna()
    return float(flags.astype(float).mean()) if len(flags) else np.nan


def cohort_statistics(cohort: Cohort) -> dict[str, float]:
    """The summary statistics of :func:`statistics` for one cohort.

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    dict of str to float
        NaN where a statistic has no lesions to be computed from.
    """
    table, registry = cohort.table, cohort.registry
    values = []
    for marker in registry.markers:
        for kind in marker.kinds:
            mask = (
                table[marker.kind_column] == kind.name
                if marker.kind_column
                else pd.Series(True, index=table.index)
            )
            values += _quantiles(np.log(table.loc[mask, marker.value_column].dropna()))
    labelled = table["reference_diagnosis"].dropna()
    growth = (table["volume_fu1_ml"] / table["volume_baseline_ml"]).dropna()
    values += [
        _share(labelled == "recurrence"),
        _share(growth > 1.25),
        *(_share(table[s]) for s in SYMPTOMS),
        *(_share(table[t.column].dropna() == "positive") for t in registry.binary_tests),
    ]
    return dict(zip(statistics(registry), values, strict=True))


def prior_predictive_statistics(
    parameters: Parameters, n_lesions: int, n_centers: int, n_sims: int, seed: int
) -> pd.DataFrame:
    """Summary statistics of cohorts simulated from parameters drawn from the priors.

    Simulation i draws its parameters and its cohort with seed
    :func:`model.checks.simulation.simulation_seed` ``(seed, i)``, as :mod:`model.checks.sbc` does.
    The cohorts
    follow the parameter file's ``cohort_design`` (techniques, tracers, missingness, follow-up):
    only the model parameters vary.

    Parameters
    ----------
    parameters : Parameters
        The priors.
    n_lesions, n_centers : int
        Size of each simulated cohort.
    n_sims : int
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per simulation, one column per statistic of :func:`statistics`.
    """
    from model.checks.simulation import draw_parameters, simulate, simulation_seed

    rows = []
    for i in range(n_sims):
        s = simulation_seed(seed, i)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            cohort, _ = simulate(
                n_lesions, n_centers, s, draw_parameters(parameters, s), validate=False
            )
            rows.append(cohort_statistics(cohort))
    return pd.DataFrame(rows, columns=list(statistics(parameters.registry)))


def compare_statistics(
    observed: dict[str, float],
    simulated: pd.DataFrame,
    ci_prob: float = 0.99,
    descriptions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Where each observed statistic falls in its prior predictive distribution.

    Parameters
    ----------
    observed : dict of str to float
    simulated : pandas.DataFrame
        One row per simulation (:func:`prior_predictive_statistics`).
    ci_prob : float, default 0.99
        Probability of the central interval outside which a statistic is flagged.
    descriptions : dict of str to str, optional
        Each statistic's description (:func:`statistics`).

    Returns
    -------
    pandas.DataFrame
        Indexed by statistic: ``description``, ``observed``, ``median`` of the simulations, the
        central interval ``eti_low``/``eti_high``, ``quantile`` (share of simulations below the
        observed value, ties counted half) and ``flagged`` (observed outside the interval).
    """
    tail = (1 - ci_prob) / 2
    rows = []
    for name in simulated.columns:
        sims = simulated[name].dropna().to_numpy(dtype=float)
        value = float(observed[name])
        if len(sims) == 0 or np.isnan(value):
            low = median = high = position = np.nan
        else:
            low, median, high = np.quantile(sims, [tail, 0.5, 1 - tail])
            position = float(np.mean(sims < value) + 0.5 * np.mean(sims == value))
        rows.append(
            {
                "statistic": name,
                "description": (descriptions or {}).get(name, name),
                "observed": value,
                "median": median,
                "eti_low": low,
                "eti_high": high,
                "quantile": position,
                "flagged": bool(value < low or value > high),
            }
        )
    table = pd.DataFrame(rows).set_index("statistic")
    table.attrs.update({"ci_prob": ci_prob, "n_sims": len(simulated)})
    return table


def prior_predictive_check(
    parameters: Parameters | None,
    cohort: CohortLike,
    n_sims: int = 500,
    seed: int = 1,
    ci_prob: float = 0.99,
) -> pd.DataFrame:
    """Compare a cohort's summary statistics with the priors' predictive distribution.

    Parameters
    ----------
    parameters : Parameters or None
        The priors; ``None`` for the bundled parameter file.
    cohort : Cohort or path-like
        The observed cohort; simulated cohorts have its number of lesions and centers.
    n_sims : int, default 500
    seed : int, default 1
    ci_prob : float, default 0.99

    Returns
    -------
    pandas.DataFrame
        As :func:`compare_statistics`; ``attrs["simulated"]`` holds the simulated statistics as
        lists by statistic (for :func:`plot_prior_predictive`), ``attrs["seed"]`` the seed.
    """
    if n_sims < 1:
        raise ValueError("n_sims must be positive")
    parameters = parameters if parameters is not None else load_parameters()
    cohort = as_cohort(cohort, parameters.registry)
    simulated = prior_predictive_statistics(
        parameters, len(cohort), len(cohort.centers), n_sims, seed
    )
    table = compare_statistics(
        cohort_statistics(cohort), simulated, ci_prob, statistics(parameters.registry)
    )
    table.attrs.update({"seed": seed, "simulated": simulated.to_dict(orient="list")})
    return table


def plot_prior_predictive(table: pd.DataFrame) -> Figure:
    """Histograms of the prior predictive statistics, with the observed values marked.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`prior_predictive_check` (its ``attrs["simulated"]`` is read).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per statistic: the simulations, their central interval (grey) and the observed
        value (red when flagged).
    """
    from matplotlib.figure import Figure

    simulated = pd.DataFrame(table.attrs["simulated"])
    columns = 4
    rows = int(np.ceil(len(table) / columns))
    fig = Figure(figsize=(11, 2.0 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (name, row) in zip(axes, table.iterrows(), strict=False):
        _histogram(ax, simulated[name].dropna().to_numpy(dtype=float), row)
    for ax in axes[len(table) :]:
        ax.set_visible(False)
    level = round(100 * table.attrs["ci_prob"])
    fig.suptitle(
        f"Prior predictive statistics ({len(simulated)} simulated cohorts; grey: central "
        f"{level}% interval; line: observed)",
        fontsize=9,
    )
    return fig


def _histogram(ax: Any, sims: np.ndarray, row: pd.Series) -> None:
    finite = sims[np.isfinite(sims)]
    if len(finite):
        ax.hist(finite, bins=30, color="0.6")
    if np.isfinite(row["eti_low"]):
        ax.axvspan(row["eti_low"], row["eti_high"], color="0.85", zorder=0)
    if np.isfinite(row["observed"]):
        ax.axvline(row["observed"], color="C3" if row["flagged"] else "k", lw=1.5)
    ax.set_title(row["description"], fontsize=7)
    ax.tick_params(labelsize=6)
