"""Figures of the fit report: convergence, priors, predictive checks, calibration.

Drawn page-wide (10.4 inches, the report's width) under :data:`~model.report.figures.STYLE`, so
that their text is as large as the page's small print; parameters go by the parameter file's dotted
names (``modality.perfusion.DSC.sigma``) throughout.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from model.evaluation.metrics import bin_index, brier_score, expected_calibration_error
from model.inputs.encode import VALUE, Lesions
from model.inputs.parameters import Parameters
from model.inputs.vocabulary import GROWTH_WEEKS, SYMPTOMS
from model.likelihood.draws import PosteriorDraws, parameter_variables
from model.likelihood.kernel import class_log_priors
from model.likelihood.symptoms import decline_probability
from model.likelihood.tables import ScoreTables
from model.modalities.forms import misread_log_density, numpy_backend
from model.modalities.registry import Registry
from model.report.figures import plain_log_ticks, styled
from model.scoring.curves import growth_llr_curve, llr_curve, natural_grid

WIDTH = 10.4
"""Inches: the fit report's width, so that its figures show at their natural size."""


def _wrap(name: str, width: int) -> str:
    """A dotted name broken after its dots into lines of about ``width`` characters."""
    return "\n".join(textwrap.wrap(name.replace(".", ". "), width)).replace(". ", ".")


@styled
def diagnostics_figure(summary: pd.DataFrame) -> Figure:
    """Bulk and tail ESS and R-hat of every population parameter, with the gate's limits.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`~model.fitting.diagnostics.parameter_summary`, one row per parameter by name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(WIDTH, 1.4 + 0.17 * len(summary)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(summary))
    left.barh(y - 0.2, summary["ess_bulk"], height=0.4, label="bulk ESS")
    left.barh(y + 0.2, summary["ess_tail"], height=0.4, label="tail ESS")
    left.axvline(400, color="#cf222e", ls="--", lw=1, label="gate: 400")
    left.set(yticks=y, xlabel="effective sample size", ylim=(len(summary) - 0.5, -0.5))
    left.set_yticklabels(summary.index)
    right.barh(y, summary["r_hat"] - 1, color="0.5", label="R-hat - 1")
    right.axvline(0.01, color="#cf222e", ls="--", lw=1, label="gate: R-hat 1.01")
    right.set(xlabel="R-hat - 1")
    for ax in (left, right):
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncols=3, frameon=False)
    return fig


@styled
def rank_figure(posterior, names: list[tuple[str, str, dict]]) -> Figure:
    """Rank histograms per chain for a few parameters (flat when chains agree).

    Parameters
    ----------
    posterior : xarray.Dataset
    names : list of (str, str, dict)
        Each parameter's dotted name, posterior variable and coordinates.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(WIDTH, 2.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, (name, var, selection) in zip(axes, names, strict=True):
        values = posterior[var].sel(**selection).to_numpy()  # (chain, draw)
        ranks = stats.rankdata(values.ravel()).reshape(values.shape)
        bins = np.linspace(0, ranks.size, 21)
        for chain in ranks:
            ax.hist(chain, bins=bins, histtype="step", lw=1.2)
        ax.set_title(_wrap(name, 36))
        ax.set_yticks([])
        ax.set_xticks([])
    return fig


def _prior_density(kind: str, center: float | None, scale: float, x: np.ndarray) -> np.ndarray:
    if kind == "normal":
        return stats.norm.pdf(x, center, scale)
    if kind == "lognormal":
        return stats.lognorm.pdf(x, s=scale, scale=center)
    if kind == "halfnormal":
        return stats.halfnorm.pdf(x, scale=scale)
    return stats.beta.pdf(x, center * scale, (1 - center) * scale)


@styled
def prior_posterior_figure(posterior, parameters: Parameters) -> Figure:
    """Prior density (line) against posterior draws (histogram) for every population parameter.

    Parameters
    ----------
    posterior : xarray.Dataset
    parameters : Parameters
        The parameter file the fit was made with (its priors).

    Returns
    -------
    matplotlib.figure.Figure
    """
    entries = parameter_variables(parameters.registry)
    columns = 5
    rows = int(np.ceil(len(entries) / columns))
    fig = Figure(figsize=(WIDTH, 1.9 * rows), layout="constrained")
    axes = fig.subplots(rows, columns).ravel()
    for ax, (entry, var, selection) in zip(axes, entries, strict=False):
        draws = posterior[var].sel(**selection).to_numpy().ravel()
        prior = parameters.prior(entry)
        low, high = np.quantile(draws, [0.0005, 0.9995])
        span = high - low
        x = np.linspace(low - span, high + span, 400)
        if prior.kind in {"lognormal", "halfnormal"}:
            x = x[x > 0]
        elif prior.kind == "beta":
            x = x[(x > 0) & (x < 1)]
        ax.hist(draws, bins=40, density=True, color="#3b73b9", alpha=0.6)
        ax.plot(x, _prior_density(prior.kind, prior.center, prior.scale, x), color="black", lw=1)
        ax.set_title(_wrap(entry, 26))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_yticks([])
    for ax in axes[len(entries) :]:
        ax.set_visible(False)
    return fig


def _class_probabilities(tables: ScoreTables, lesions: Lesions, n_centers: int) -> np.ndarray:
    """P(class | center, covariates) per lesion and draw, before any evidence: (n, S, 2)."""
    return np.exp(class_log_priors(lesions, tables, n_centers))


@styled
def predictive_check_figure(
    tables: ScoreTables,
    draws: PosteriorDraws,
    lesions: Lesions,
    n_centers: int,
    ci_prob: float,
    registry: Registry,
) -> Figure:
    """Observed values against the posterior predictive, per marker kind and for growth.

    Parameters
    ----------
    tables : ScoreTables
    draws : PosteriorDraws
    lesions : Lesions
        The training lesions, encoded.
    n_centers : int
    ci_prob : float
        Probability of the predictive band.
    registry : Registry

    Returns
    -------
    matplotlib.figure.Figure
        One panel per marker kind with at least five values, one for growth, one for symptoms.
    """
    prior = _class_probabilities(tables, lesions, n_centers)  # (n, S, 2)
    m = tables.moments
    panels = []
    for slot, marker in enumerate(registry):
        if marker.name not in draws.markers:
            continue
        evidence = lesions.evidence[marker.name]
        for index, name in enumerate(marker.kind_names):
            use = (evidence.state == VALUE) & (evidence.kind == index) & (lesions.center >= 0)
            if use.sum() < 5:
                continue
            mean, sd = m.at(slot, index, lesions.center[use], lesions.early_weight[use])
            mean = mean.transpose(1, 0, 2)  # (2, n_use, S)
            sd = np.broadcast_to(sd[None], mean.shape)
            panels.append(
                (f"log {name}", evidence.value[use], mean, sd, float(m.misread[slot]), prior[use])
            )
    follow = lesions.growth_mask > 0
    if follow.sum() >= 5:
        rows, slots = np.nonzero(follow)
        weeks = lesions.growth_weeks[rows, slots] / GROWTH_WEEKS
        mean = draws.growth_rate.T[:, None, :] * weeks[None, :, None]  # (2, n_use, S)
        sd = np.sqrt(draws.growth_sd**2 + (draws.growth_tau * weeks[:, None]) ** 2)[None]
        sd = np.broadcast_to(sd, mean.shape)
        panels.append(
            (
                "log growth per scan",
                lesions.growth[rows, slots],
                mean,
                sd,
                draws.growth_misread,
                prior[rows],
            )
        )
    columns = 3
    fig = Figure(
        figsize=(WIDTH, 2.6 * int(np.ceil((len(panels) + 1) / columns))), layout="constrained"
    )
    axes = fig.subplots(int(np.ceil((len(panels) + 1) / columns)), columns).ravel()
    tail = (1 - ci_prob) / 2
    thin = slice(None, None, max(1, prior.shape[1] // 400))
    xp = numpy_backend()
    for ax, (label, observed, mean, sd, misread, weight) in zip(axes, panels, strict=False):
        grid = np.linspace(observed.min() - 0.5, observed.max() + 0.5, 200)
        mu, s = mean[..., thin, None], sd[..., thin, None]
        pdf = np.exp(
            np.stack(
                [
                    misread_log_density(grid, mu[0], mu[1], s[0], misread, xp),
                    misread_log_density(grid, mu[1], mu[0], s[1], misread, xp),
                ]
            )
        )  # (2, n, S', G)
        mixture = (
            (weight[:, thin].transpose(2, 0, 1)[..., None] * pdf).sum(axis=0).mean(axis=0)
        )  # (S', G)
        ax.hist(
            observed, bins=30, density=True, color="0.75", label=f"observed (n = {len(observed)})"
        )
        ax.plot(grid, mixture.mean(axis=0), color="#3b73b9", lw=1.5, label="posterior predictive")
        ax.fill_between(
            grid, *np.quantile(mixture, [tail, 1 - tail], axis=0), color="#3b73b9", alpha=0.25
        )
        ax.set_title(label)
        ax.set_yticks([])
        ax.legend()
    ax = axes[len(panels)]
    _symptom_check(ax, tables, lesions, prior, tail)
    for extra in axes[len(panels) + 1 :]:
        extra.set_visible(False)
    return fig


def _symptom_check(
    ax, tables: ScoreTables, lesions: Lesions, prior: np.ndarray, tail: float
) -> None:
    T = tables.tables
    decline = decline_probability(T.decline, lesions.x_edema, lesions.x_eloquent, lesions.x_steroid)
    if_decline, if_stable = np.exp(T.symptom_log[0]), np.exp(T.symptom_log[2])  # (J, S)
    observed, low, mid, high = [], [], [], []
    for j in range(len(SYMPTOMS)):
        recorded = (lesions.symptom_yes[:, j] + lesions.symptom_no[:, j]) > 0
        observed.append(lesions.symptom_yes[recorded, j].mean())
        q = decline[recorded]  # (n, S, 2)
        rate = q * if_decline[j][None, :, None] + (1 - q) * if_stable[j][None, :, None]
        predicted = (prior[recorded] * rate).sum(axis=2).mean(axis=0)  # (S,)
        mid.append(predicted.mean())
        low.append(np.quantile(predicted, tail))
        high.append(np.quantile(predicted, 1 - tail))
    y = np.arange(len(SYMPTOMS))
    ax.errorbar(
        mid,
        y,
        xerr=[np.subtract(mid, low), np.subtract(high, mid)],
        fmt="o",
        color="#3b73b9",
        label="posterior predictive",
    )
    ax.plot(observed, y, "x", color="black", ms=8, label="observed")
    ax.set_yticks(y, [s.replace("_", " ") for s in SYMPTOMS])
    ax.set(xlabel="share with the symptom", title="symptoms")
    ax.legend()


@styled
def likelihood_ratio_figure(
    tables: ScoreTables,
    draws: PosteriorDraws,
    registry: Registry,
    n_centers: int,
    ci_prob: float,
    rescan_weeks: float = GROWTH_WEEKS,
) -> Figure:
    """What one measurement says: each marker kind's log likelihood ratio at a new center.

    The line is the posterior mean, the band its ``ci_prob`` interval over draws; the dotted lines
    mark the bound the misread probability sets. The last panel is one rescan's growth.

    Parameters
    ----------
    tables : ScoreTables
    draws : PosteriorDraws
    registry : Registry
    n_centers : int
    ci_prob : float
        Probability of the band.
    rescan_weeks : float, default GROWTH_WEEKS
        The rescan interval of the growth panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    kinds = [(m, k) for m in registry.markers for k in m.kinds]
    columns = 4
    rows = int(np.ceil((len(kinds) + 1) / columns))
    fig = Figure(figsize=(WIDTH, 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    tail = (1 - ci_prob) / 2
    panels = [
        (
            f"{kind.label} ({marker.unit})",
            natural_grid(marker),
            llr_curve(tables, registry, kind.name, n_centers, natural_grid(marker)),
            marker.llr_bound(float(tables.moments.misread[registry.names.index(marker.name)])),
        )
        for marker, kind in kinds
    ]
    ratios = np.exp(np.linspace(np.log(0.05), np.log(20), 200))
    panels.append(
        (
            f"volume ratio after {rescan_weeks:g} weeks",
            ratios,
            growth_llr_curve(draws, ratios, rescan_weeks),
            float(np.log((1 - draws.growth_misread) / draws.growth_misread)),
        )
    )
    for i, (ax, (label, x, llr, bound)) in enumerate(zip(axes, panels, strict=False)):
        ax.plot(x, llr.mean(axis=0), color="#3b73b9", lw=1.5)
        ax.fill_between(x, *np.quantile(llr, [tail, 1 - tail], axis=0), color="#3b73b9", alpha=0.25)
        for level in (bound, -bound):
            ax.axhline(level, color="0.5", ls=":", lw=0.8)
        ax.axhline(0, color="0.4", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlim(x[0], x[-1])
        plain_log_ticks(ax.xaxis)
        ax.set_title(textwrap.fill(label, 34))
        if i % columns == 0:
            ax.set_ylabel("log LR (recurrence : necrosis)")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    return fig


@styled
def calibration_figure(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[Figure, dict]:
    """Reliability diagram of predicted P(recurrence) against histopathology labels.

    Parameters
    ----------
    p : array (n,)
        Predicted P(recurrence).
    y : array (n,)
        1 for recurrence, 0 for necrosis.
    bins : int, default 10
        Equal-width probability bins.

    Returns
    -------
    figure : matplotlib.figure.Figure
    scores : dict
        ``ece`` (expected calibration error), ``brier``, ``n`` and ``log_loss``.
    """
    index = bin_index(p, bins)
    fig = Figure(figsize=(4.6, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for b in range(bins):
        members = index == b
        n = int(members.sum())
        if n == 0:
            continue
        observed = y[members].mean()
        interval = stats.binomtest(int(y[members].sum()), n).proportion_ci(0.9, method="wilson")
        ax.errorbar(
            p[members].mean(),
            observed,
            yerr=[[observed - interval.low], [interval.high - observed]],
            fmt="o",
            color="black",
            ms=3 + 6 * np.sqrt(n / len(p)),
            clip_on=False,
        )
    ax.plot([0, 1], [0, 1], color="0.6", ls="--")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="predicted P(recurrence)",
        ylabel="observed share of recurrence",
        title="Calibration on histopathology-labelled lesions",
    )
    return fig, {
        "ece": expected_calibration_error(p, y, bins),
        "brier": brier_score(p, y),
        "n": len(p),
        "log_loss": float(
            -np.mean(y * np.log(np.clip(p, 1e-12, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-12, 1)))
        ),
    }
