"""Figures of the per-lesion report; each returns a Figure and :func:`data_uri` embeds it."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure
from scipy.special import expit, logit

from model.decision.plots import ACTION_COLORS, ACTION_LABELS


def data_uri(figure: Figure, dpi: int = 110) -> str:
    """The figure as a base64 PNG data URI (the page stays self-contained)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def probability_figure(p: float, low: float, high: float, thresholds) -> Figure:
    """P(recurrence) and its interval on a 0-1 scale coloured by the best immediate action."""
    fig = Figure(figsize=(7.2, 1.35), layout="constrained")
    ax = fig.add_subplot()
    if thresholds.biopsy_ever_best:
        bands = [
            ("manage", 0, thresholds.test),
            ("biopsy", thresholds.test, thresholds.test_treat),
            ("treat", thresholds.test_treat, 1),
        ]
    else:
        bands = [("manage", 0, thresholds.treat), ("treat", thresholds.treat, 1)]
    for action, start, stop in bands:
        ax.axvspan(max(start, 0), min(stop, 1), color=ACTION_COLORS[action], alpha=0.28, lw=0)
        ax.text(
            (max(start, 0) + min(stop, 1)) / 2,
            0.82,
            ACTION_LABELS[action],
            ha="center",
            va="center",
            fontsize=7,
            color="0.25",
        )
    ax.plot([low, high], [0.4, 0.4], color="black", lw=3, solid_capstyle="butt")
    ax.plot([p], [0.4], "o", color="black", ms=10)
    ax.text(p, 0.05, f"{p:.2f}", ha="center", va="bottom", fontsize=9, fontweight="bold")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        yticks=[],
        xlabel="P(recurrence); bar: interval over posterior draws",
    )
    return fig


def waterfall_figure(terms: dict[str, float], p: float) -> Figure:
    """The evidence waterfall: prior log-odds, each modality's log likelihood ratio, posterior."""
    terms = dict(terms)
    prior = terms.pop("prior")
    labels = ["prior", *terms.keys(), "posterior"]
    fig = Figure(figsize=(5.2, 3.0), layout="constrained")
    ax = fig.add_subplot()
    level = prior
    ax.bar(0, prior, color="0.6")
    for i, value in enumerate(terms.values(), start=1):
        color = ACTION_COLORS["treat"] if value > 0 else ACTION_COLORS["manage"]
        ax.bar(i, value, bottom=level, color=color if abs(value) > 1e-12 else "0.85")
        ax.text(
            i,
            level + value + (0.15 if value >= 0 else -0.15),
            f"{value:+.2f}",
            ha="center",
            va="bottom" if value >= 0 else "top",
            fontsize=8,
        )
        level += value
    ax.bar(len(labels) - 1, level, color="black", alpha=0.75)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("log-odds of recurrence")
    right = ax.secondary_yaxis(
        "right", functions=(expit, lambda q: logit(np.clip(q, 1e-12, 1 - 1e-12)))
    )
    right.set_ylabel("probability")
    right.set_yticks([0.01, 0.1, 0.5, 0.9, 0.99])
    ax.set_title(f"From prior to posterior (mean log-odds; P = {p:.2f})", fontsize=10)
    return fig


def density_figure(
    modality: str,
    grid: np.ndarray,
    densities: np.ndarray,
    value: float | None,
    cutoffs: list[float],
    center: str,
) -> Figure:
    """Class-conditional densities at the lesion's center, its value, and classic cutoffs.

    Parameters
    ----------
    grid : array (G,)
        Values on the natural scale (a ratio, ADC, Ktrans).
    densities : array (2, 3, G)
        Necrosis and recurrence densities of the log value: posterior mean, band low, band high.
    """
    fig = Figure(figsize=(3.6, 2.6), layout="constrained")
    ax = fig.add_subplot()
    for k, action, label in ((0, "manage", "necrosis"), (1, "treat", "recurrence")):
        ax.plot(grid, densities[k, 0], color=ACTION_COLORS[action], lw=1.8, label=label)
        ax.fill_between(
            grid, densities[k, 1], densities[k, 2], color=ACTION_COLORS[action], alpha=0.2
        )
    for k, cutoff in enumerate(cutoffs):
        ax.axvline(cutoff, color="0.35", ls="--", lw=1)
        # staggered, so that nearby cutoffs (1.5, 1.75) keep readable labels
        ax.text(cutoff, ax.get_ylim()[1] * (0.95 - 0.09 * k), f" {cutoff:g}", fontsize=7, va="top")
    if value is not None:
        ax.axvline(value, color="black", lw=2.2)
        ax.text(value, ax.get_ylim()[1] * 0.6, f" lesion\n {value:g}", fontsize=7, va="top")
    ax.set_xscale("log")
    ax.set(xlabel=modality, yticks=[], title=f"{modality} at {center}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper right")
    return fig


def utilities_figure(expected: dict[str, float], recommendation: str) -> Figure:
    """Expected utility of each action (QALW), the recommended one outlined."""
    names = [
        a
        for a in ("manage", "rescan", "biopsy", "treat", "pet")
        if np.isfinite(expected.get(a, np.nan))
    ]
    fig = Figure(figsize=(4.2, 2.6), layout="constrained")
    ax = fig.add_subplot()
    values = [expected[a] for a in names]
    bars = ax.barh(range(len(names)), values, color=[ACTION_COLORS[a] for a in names])
    bars[names.index(recommendation)].set_edgecolor("black")
    bars[names.index(recommendation)].set_linewidth(2.5)
    ax.set_yticks(range(len(names)), [ACTION_LABELS[a] for a in names], fontsize=8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("expected utility (quality-adjusted life-weeks)")
    ax.invert_yaxis()
    return fig


def sequential_figure(
    labels: list[str], probabilities: list[float], lows: list[float], highs: list[float]
) -> Figure:
    """P(recurrence) after each scan, with intervals."""
    fig = Figure(figsize=(4.2, 2.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    ax.errorbar(
        x,
        probabilities,
        yerr=[np.subtract(probabilities, lows), np.subtract(highs, probabilities)],
        fmt="o-",
        color="black",
        capsize=4,
    )
    ax.set(xticks=x, ylim=(0, 1), ylabel="P(recurrence)")
    ax.set_xticklabels(labels, fontsize=8)
    return fig
