"""Figures for cutoff analyses and decision curves. Each returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SYNTHETIC_CAPTION = (
    "Synthetic cohort: model fitted to simulated data calibrated to published figures."
)


def plot_roc(tables: list[pd.DataFrame], caption: str | None = None) -> Figure:
    """ROC curves with posterior bands (tables from :func:`model.cutoffs.analysis.roc_table`)."""
    fig = Figure(figsize=(5.2, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for table in tables:
        a = table.attrs["auc"]
        label = (
            f"{table.attrs['group']}: AUC {a['mean']:.3f} [{a['eti_low']:.3f}, {a['eti_high']:.3f}]"
        )
        line = ax.plot(table["fpr"], table["tpr_mean"], lw=1.8, label=label)[0]
        ax.fill_between(
            table["fpr"], table["tpr_low"], table["tpr_high"], color=line.get_color(), alpha=0.18
        )
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    modality = tables[0].attrs["modality"]
    level = round(100 * tables[0].attrs["ci_prob"])
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="1 - specificity",
        ylabel="sensitivity",
        title=f"{modality} ROC with {level}% posterior bands",
    )
    ax.legend(fontsize=7, loc="lower right")
    if caption:
        fig.suptitle(caption, fontsize=7)
    return fig


def plot_accuracy(table: pd.DataFrame, groups: list[str] | None = None) -> Figure:
    """Sensitivity and specificity against the cutoff, with bands (table from accuracy_table)."""
    groups = groups or list(dict.fromkeys(table["group"]))
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for group in groups:
        for metric, style in (("sensitivity", "-"), ("specificity", "--")):
            rows = table[(table["group"] == group) & (table["metric"] == metric)]
            line = ax.plot(rows["cutoff"], rows["mean"], ls=style, label=f"{metric}, {group}")[0]
            ax.fill_between(
                rows["cutoff"],
                rows["eti_low"],
                rows["eti_high"],
                color=line.get_color(),
                alpha=0.15,
            )
    ax.set(
        ylim=(0, 1),
        xlabel=f"{table['modality'].iloc[0]} cutoff",
        xscale="log",
        ylabel="probability",
        title="Sensitivity and specificity by cutoff",
    )
    ax.legend(fontsize=7, ncols=2)
    return fig


def plot_optimal(draws: dict[str, np.ndarray], modality: str) -> Figure:
    """Posterior distributions of the optimal cutoff per group."""
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.add_subplot()
    values = np.concatenate(list(draws.values()))
    bins = np.linspace(np.quantile(values, 0.001), np.quantile(values, 0.999), 60)
    for group, x in draws.items():
        ax.hist(x, bins=bins, histtype="step", lw=1.5, density=True, label=group)
    ax.set(
        xlabel=f"{modality} Youden-optimal cutoff",
        ylabel="posterior density",
        title="Where the best cutoff lies, per center",
    )
    ax.legend(fontsize=7)
    return fig


def plot_transport(table: pd.DataFrame) -> Figure:
    """Loss in sensitivity + specificity when one center's optimal cutoff is used at another."""
    matrix = table.pivot(index="from_center", columns="to_center", values="youden_loss_mean")
    fig = Figure(figsize=(1.6 + 0.7 * len(matrix), 1.2 + 0.6 * len(matrix)), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix.to_numpy(), cmap="Reds", vmin=0)
    for (i, j), v in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=7)
    ax.set(
        xticks=range(len(matrix.columns)),
        xticklabels=matrix.columns,
        yticks=range(len(matrix)),
        yticklabels=matrix.index,
        xlabel="used at",
        ylabel="cutoff of",
        title=f"{table['modality'].iloc[0]}: Youden index lost",
    )
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def plot_decision_curves(table: pd.DataFrame, caption: str | None = None) -> Figure:
    """Net benefit against threshold probability, with the model's posterior band if present.

    In-sample curves with ``net_benefit_loo`` also show the model's leave-one-out net benefit
    (dashed): what it would be on lesions the fit had not seen.
    """
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    top = table.loc[table["model"] == "all", "prevalence"].iloc[0]
    colors = {}
    for name, rows in table.groupby("model", sort=False):
        line = ax.plot(
            rows["threshold"], rows["net_benefit"], lw=1.8 if name == "model" else 1.2, label=name
        )[0]
        colors[name] = line.get_color()
        if "net_benefit_low" in rows and rows["net_benefit_low"].notna().any():
            ax.fill_between(
                rows["threshold"],
                rows["net_benefit_low"],
                rows["net_benefit_high"],
                color=line.get_color(),
                alpha=0.2,
            )
    if "net_benefit_loo" in table:
        model = table[table["model"] == "model"]
        ax.plot(
            model["threshold"],
            model["net_benefit_loo"],
            color=colors["model"],
            ls="--",
            lw=1.4,
            label="model, leave-one-out",
        )
    in_sample = " (in-sample: the fit saw these lesions)" if table.attrs.get("in_sample") else ""
    ax.set(
        ylim=(-0.05, top * 1.1),
        xlim=(0, 0.9),
        xlabel="threshold probability",
        ylabel="net benefit",
        title=f"Decision curves{in_sample}",
    )
    ax.legend(fontsize=8)
    if caption:
        fig.suptitle(caption, fontsize=7)
    return fig
