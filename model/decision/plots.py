"""Figures for the decision analyses. Each function returns a matplotlib Figure (never shows it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from model.decision.parameters import DecisionParameters
from model.decision.policy import RescanPolicy
from model.decision.thresholds import classic_thresholds, parameter_thresholds
from model.decision.utilities import (
    ASYMPTOMATIC_LATE,
    LesionContext,
    expected_utilities,
    surveillance_loss,
)

ACTION_COLORS = {
    "manage": "#4c9a5b",
    "rescan": "#3b73b9",
    "biopsy": "#e39b2d",
    "treat": "#c8453a",
    "resect": "#7b4b2a",
    "treat_necrosis": "#2a9d8f",
    "pet": "#8a5bb5",
}
ACTION_LABELS = {
    "manage": "manage as necrosis (surveillance)",
    "rescan": "rescan in 6-8 weeks",
    "biopsy": "biopsy",
    "treat": "treat as recurrence",
    "resect": "re-resect",
    "treat_necrosis": "treat the necrosis (steroids, bevacizumab)",
    "pet": "refer for PET",
}


def plot_thresholds(
    params: DecisionParameters,
    p: float | None = None,
    context: LesionContext = ASYMPTOMATIC_LATE,
) -> Figure:
    """Expected utility of each immediate action against P(recurrence), in a lesion's context.

    The classic Pauker-Kassirer treatment threshold (managing a recurrence as never treating it)
    is marked for reference.

    Parameters
    ----------
    params : DecisionParameters
    p : float, optional
        A patient's probability, marked on the axis.
    context : LesionContext, optional
        Symptomatic or not, early window or not (asymptomatic and late by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = np.linspace(0, 1, 501)
    eu = expected_utilities(grid, params, context)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for action, values in eu.items():
        ax.plot(grid, values, color=ACTION_COLORS[action], lw=2, label=ACTION_LABELS[action])
    marks = [("classic treatment threshold", classic_thresholds(params).treat, ":")]
    if not context.symptomatic:
        t = parameter_thresholds(params, context.early)
        marks.append(("treatment threshold", t.treat, "--"))
    for label, x, style in marks:
        ax.axvline(x, color="0.3", ls=style, lw=1, label=f"{label} {x:.2f}")
    if p is not None:
        ax.axvline(p, color="black", lw=2.5, alpha=0.6, label=f"this lesion, P = {p:.2f}")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    situation = (
        f"{'symptomatic' if context.symptomatic else 'asymptomatic'}, "
        f"{'within' if context.early else 'after'} the early window"
    )
    ax.set(
        xlim=(0, 1),
        xlabel="P(recurrence)",
        ylabel="expected utility (QALW)",
        title=f"Best immediate action by probability of recurrence ({situation})",
    )
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_threshold_shift(params: DecisionParameters) -> Figure:
    """How the surveillance-aware thresholds move with the delay loss and the window loss.

    Left: the treatment threshold h / (h + L) of an asymptomatic lesion, after and within the
    early window, against ``delay_loss`` (0 to the benefit B) for several ``window_loss`` values;
    the classic threshold (L = B) is the horizontal line. Right: the surveillance loss L itself.

    Parameters
    ----------
    params : DecisionParameters

    Returns
    -------
    matplotlib.figure.Figure
    """
    delays = np.linspace(0.0, params.benefit, 81)
    windows = sorted({0.0, params.window_loss, 0.1, 0.2})
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    shades = np.linspace(0.35, 1.0, len(windows))
    for window, shade in zip(windows, shades, strict=True):
        varied = [params.with_values(delay_loss=d, window_loss=window) for d in delays]
        for early, color in ((False, ACTION_COLORS["treat"]), (True, ACTION_COLORS["biopsy"])):
            left.plot(
                delays,
                [parameter_thresholds(v, early).treat for v in varied],
                color=color,
                alpha=shade,
                lw=1.8,
                label=f"{'early' if early else 'late'}, window loss {window:g}",
            )
        right.plot(
            delays,
            [surveillance_loss(v) for v in varied],
            color="0.2",
            alpha=shade,
            lw=1.8,
            label=f"window loss {window:g} per round",
        )
    left.axhline(classic_thresholds(params).treat, color="0.3", ls=":", lw=1, label="classic")
    for ax in (left, right):
        ax.axvline(params.delay_loss, color="0.5", lw=0.8, ls="--")
    left.set(
        xlabel="delay loss per rescan round (QALW)",
        ylabel="treat above P(recurrence)",
        ylim=(0, 1.02),
        title="Treatment threshold (asymptomatic lesion)",
    )
    right.set(
        xlabel="delay loss per rescan round (QALW)",
        ylabel="surveillance loss L (QALW)",
        ylim=(0, params.benefit * 1.05),
        title=f"What surveillance costs a recurrence (B = {params.benefit:g})",
    )
    left.legend(fontsize=7, ncols=2)
    right.legend(fontsize=7)
    return fig


def plot_policy(policy: RescanPolicy) -> Figure:
    """The rescan policy: the best action's band of P(recurrence) for each rescans-left count."""
    rounds = int(policy.bands["rescans_left"].max())
    fig = Figure(figsize=(7, 1.1 + 0.55 * (rounds + 1)), layout="constrained")
    ax = fig.add_subplot()
    step = policy.p[1] - policy.p[0]
    for row in policy.bands.itertuples():
        left = max(row.p_from - step / 2, 0.0)
        width = min(row.p_to + step / 2, 1.0) - left
        ax.barh(row.rescans_left, width, left=left, height=0.7, color=ACTION_COLORS[row.action])
        if width > 0.06:
            label = f"rescan {row.weeks:g} w" if row.action == "rescan" else row.action
            ax.text(
                left + width / 2,
                row.rescans_left,
                label,
                ha="center",
                va="center",
                color="white",
                fontsize=8,
            )
    ax.set(
        xlim=(0, 1),
        yticks=range(rounds + 1),
        xlabel="P(recurrence)",
        ylabel="rescans still allowed",
        title="Optimal action by probability and rescans left",
    )
    present = [a for a in ACTION_COLORS if a in set(policy.bands["action"])]
    handles = [
        Patch(color=ACTION_COLORS[a], label="rescan" if a == "rescan" else ACTION_LABELS[a])
        for a in present
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    return fig


def plot_tornado(table: pd.DataFrame) -> Figure:
    """One-way sensitivity (tornado) of each threshold; ``table`` from ``sensitivity.tornado``."""
    thresholds = list(dict.fromkeys(table["threshold"]))
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    axes = fig.subplots(1, len(thresholds), sharey=False)
    for ax, name in zip(np.atleast_1d(axes), thresholds, strict=True):
        rows = table[table["threshold"] == name].iloc[::-1]
        default = rows["default"].iloc[0]
        y = np.arange(len(rows))
        for value, color, label in (
            ("at_low", "#7fa7d6", "parameter low"),
            ("at_high", "#d6897f", "parameter high"),
        ):
            ax.barh(y, rows[value] - default, left=default, color=color, label=label)
        ax.axvline(default, color="black", lw=1)
        ax.set(
            yticks=y,
            yticklabels=rows["parameter"],
            xlim=(0, 1),
            title=f"{name} threshold",
            xlabel="P(recurrence)",
        )
    np.atleast_1d(axes)[0].legend(fontsize=8)
    return fig


def plot_psa(samples: pd.DataFrame) -> Figure:
    """Distributions of the thresholds under the probabilistic sensitivity analysis."""
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 61)
    for name, color in (
        ("test", ACTION_COLORS["biopsy"]),
        ("treat", "0.4"),
        ("test_treat", ACTION_COLORS["treat"]),
    ):
        values = samples[name].to_numpy()
        ax.hist(
            values[(values >= 0) & (values <= 1)], bins=bins, alpha=0.55, color=color, label=name
        )
    ax.set(
        xlim=(0, 1),
        xlabel="threshold P(recurrence)",
        ylabel="draws",
        title=f"Thresholds over {len(samples):,} parameter draws",
    )
    ax.legend(fontsize=8)
    return fig


def plot_policy_shift(table: pd.DataFrame, params: DecisionParameters) -> Figure:
    """The best action by P(recurrence) (x) at each delay loss (y), one rescan allowed.

    ``table`` is from :func:`model.decision.policy.policy_by_delay`; the default delay loss is
    marked.
    """
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    delays = np.sort(table["delay_loss"].unique())
    height = np.diff(delays).min() if len(delays) > 1 else 1.0
    for row in table.itertuples():
        ax.barh(
            row.delay_loss,
            row.p_to - row.p_from,
            left=row.p_from,
            height=height,
            color=ACTION_COLORS[row.action],
            alpha=0.55 + 0.45 * (row.action != "rescan" or row.weeks / 12),
            lw=0,
        )
    ax.axhline(params.delay_loss, color="black", lw=1, ls="--")
    ax.text(1.01, params.delay_loss, "default", va="center", fontsize=8)
    ax.set(
        xlim=(0, 1),
        ylim=(delays[0] - height / 2, delays[-1] + height / 2),
        xlabel="P(recurrence)",
        ylabel="delay loss per rescan round (QALW)",
        title="Best action with one rescan allowed, as the cost of waiting grows",
    )
    present = [a for a in ACTION_COLORS if a in set(table["action"])]
    handles = [Patch(color=ACTION_COLORS[a], label=ACTION_LABELS[a]) for a in present]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    return fig
