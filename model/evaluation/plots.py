"""The reliability diagram of an external validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_reliability(band: pd.DataFrame, p: np.ndarray, caption: str | None = None) -> Figure:
    """CORP reliability diagram: the PAV recalibration curve with its bootstrap band.

    Parameters
    ----------
    band : pandas.DataFrame
        :func:`model.evaluation.external.reliability_band`.
    p : array (n,)
        The predicted probabilities, shown as a histogram along the bottom.
    caption : str, optional
        A line under the plot (the synthetic-cohort note, say).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(5.2, 5.4), layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(band["p"], band["low"], band["high"], color="0.8", label="bootstrap band")
    ax.plot(band["p"], band["recalibrated"], color="black", lw=1.8, label="PAV recalibration")
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="calibrated")
    counts, edges = np.histogram(p, bins=20, range=(0, 1))
    ax.bar(
        edges[:-1],
        0.12 * counts / max(counts.max(), 1),
        width=np.diff(edges),
        align="edge",
        color="tab:blue",
        alpha=0.35,
        label="predictions (histogram)",
    )
    d = band.attrs
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="predicted P(recurrence)",
        ylabel="observed share of recurrence (PAV)",
        title=(
            f"Brier {d['brier']:.3f} = miscalibration {d['miscalibration']:.3f}"
            f" - discrimination {d['discrimination']:.3f} + uncertainty {d['uncertainty']:.3f}"
        ),
    )
    ax.title.set_fontsize(8)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if caption:
        fig.supxlabel(caption, fontsize=7, color="0.35", wrap=True)
    return fig
