"""Figures for the decision analyses. Each function returns a matplotlib Figure (never shows it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from model.decision.parameters import DecisionParameters
from model.decision.policy import RescanPolicy
from model.decision.thresholds import expected_utilities, parameter_thresholds

ACTION_COLORS = {
    "manage": "#4c9a5b",
    "rescan": "#3b73b9",
    "biopsy": "#e39b2d",
    "treat": "#c8453a",
    "pet": "#8a5bb5",
}
ACTION_LABELS = {
    "manage": "manage as necrosis",
    "rescan": "rescan in 6-8 weeks",
    "biopsy": "biopsy",
    "treat": "treat as recurrence",
    "pet": "refer for PET",
}


def plot_thresholds(params: DecisionParameters, p: float | None = None) -> Figure:
    """The Pauker-Kassirer picture: expected utility of each action against P(recurrence).

    Parameters
    ----------
    params : DecisionParameters
    p : float, optional
        A patient's probability, marked on the axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = np.linspace(0, 1, 501)
    eu = expected_utilities(grid, params)
    t = parameter_thresholds(params)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for action in ("manage", "biopsy", "treat"):
        ax.plot(grid, eu[action], color=ACTION_COLORS[action], lw=2, label=ACTION_LABELS[action])
    marks = [("treatment threshold", t.treat, ":")]
    if t.biopsy_ever_best:
        marks = [
            ("testing threshold", t.test, "--"),
            ("test-treatment threshold", t.test_treat, "-."),
            *marks,
        ]
    for label, x, style in marks:
        ax.axvline(x, color="0.3", ls=style, lw=1, label=f"{label} {x:.2f}")
    if p is not None:
        ax.axvline(p, color="black", lw=2.5, alpha=0.6, label=f"this lesion, P = {p:.2f}")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set(
        xlim=(0, 1),
        xlabel="P(recurrence)",
        ylabel="expected utility (QALW)",
        title="Best immediate action by probability of recurrence",
    )
    ax.legend(fontsize=8, loc="upper left")
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
            ax.text(
                left + width / 2,
                row.rescans_left,
                row.action,
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
    handles = [Patch(color=ACTION_COLORS[a], label=ACTION_LABELS[a]) for a in present]
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
