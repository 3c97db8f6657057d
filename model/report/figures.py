"""Figures of the per-lesion report, and :func:`inline_svg`, which embeds every report figure.

The figures are inline SVG with real text elements, not outlines or pixels: a page stays
self-contained, its text stays selectable, and a browser can measure every label (the report tests
check that no two overlap). Every figure is drawn under :data:`STYLE`, whose smallest text renders
at about 10.7 px where the figure is shown at its natural size.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
from scipy.special import expit, logit

from model.decision.plots import ACTION_COLORS, ACTION_LABELS

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 10,
    "svg.fonttype": "none",
}
"""Matplotlib settings of every report figure: text of 8 pt at the least, written as SVG text."""

styled = rc_context(STYLE)
"""Decorator: draw a figure function's artists under :data:`STYLE`."""

_NUMBERED_ID = re.compile(r'<g id="[\w.]+_\d+">')
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"}


def inline_svg(figure: Figure, label: str) -> Markup:
    """The figure as an inline ``<svg>`` element with real text, for a self-contained page.

    Matplotlib escapes the text it writes (``&``, ``<``, ``>``), so a user-supplied string in a
    figure reaches the page as text, never as markup. The group ids matplotlib numbers afresh in
    each figure are dropped, so that the figures of one page keep its ids unique. The figure is
    cropped to what it draws (``bbox_inches="tight"``): no label is cut off at its edge.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    label : str
        What the figure shows, for screen readers (its ``aria-label``).

    Returns
    -------
    markupsafe.Markup
        The ``<svg>`` element, without XML prolog or doctype, safe to insert into a template.
    """
    buffer = io.StringIO()
    with rc_context(STYLE):
        figure.savefig(
            buffer, format="svg", bbox_inches="tight", pad_inches=0.06, metadata=_NO_METADATA
        )
    text = buffer.getvalue()
    text = _NUMBERED_ID.sub("<g>", text[text.index("<svg") :])
    attributes = f'class="figure" role="img" aria-label="{escape(label)}"'
    return Markup(text.replace("<svg ", f"<svg {attributes} ", 1))


def action_labels(rescan_weeks: float) -> dict[str, str]:
    """Each action's label on a page, the rescan's with its interval.

    Parameters
    ----------
    rescan_weeks : float
        The rescan's interval (the lesion's best, ``rescan_weeks`` of :func:`model.decide`).

    Returns
    -------
    dict of str to str
        The label of each action of :data:`model.decision.thresholds.ACTIONS`.
    """
    return {**ACTION_LABELS, "rescan": f"rescan in {rescan_weeks:g} weeks"}


def plain_log_ticks(axis: Axis) -> None:
    """Label a log axis with plain numbers (0.5, 1, 2) rather than powers of ten.

    Ticks at 1, 2 and 5 times a power of ten within the axis's current limits (1 and 3 over more
    than three decades, powers of ten alone over more than five); no minor tick labels.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        A log-scaled axis whose limits are set.
    """
    low, high = sorted(axis.get_view_interval())
    decades = math.log10(high / low)
    subs = (1, 2, 5) if decades <= 3 else (1, 3) if decades <= 5 else (1,)
    powers = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks = [s * 10.0**k for k in powers for s in subs if low <= s * 10.0**k <= high]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


@styled
def probability_figure(
    p: float,
    low: float,
    high: float,
    bands: list[tuple[str, float, float]],
    recommendation: str,
    labels: dict[str, str],
) -> Figure:
    """P(recurrence) and its interval on the decision scale, under the recommended next step.

    The shaded bands are the best immediate action at each probability, in the lesion's context:
    context for the recommendation, which also weighs a rescan and a PET referral. The strip's
    title names the recommendation, the dot takes its colour, and an immediate action's band is
    shaded darker when it is the one recommended; for a rescan or PET the title also names the
    immediate action it is preferred to.

    Parameters
    ----------
    p, low, high : float
        P(recurrence) and its interval.
    bands : list of (str, float, float)
        The best immediate action's runs of P(recurrence)
        (:func:`model.decision.utilities.immediate_bands`).
    recommendation : str
        The recommended action (one of :data:`model.decision.thresholds.ACTIONS`).
    labels : dict of str to str
        Each action's label (:func:`action_labels`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7.2, 1.75), layout="constrained")
    ax = fig.add_subplot()
    names = []
    for action, start, stop in bands:
        chosen = action == recommendation
        ax.axvspan(start, stop, color=ACTION_COLORS[action], alpha=0.55 if chosen else 0.2, lw=0)
        names.append(
            (
                action,
                stop - start,
                ax.text(
                    (start + stop) / 2,
                    0.84,
                    labels[action],
                    ha="center",
                    va="center",
                    color="0.1",
                    fontweight="bold" if chosen else "normal",
                ),
            )
        )
    ax.plot([low, high], [0.45, 0.45], color="black", lw=3, solid_capstyle="butt", clip_on=False)
    ax.plot(
        [p],
        [0.45],
        "o",
        ms=11,
        mfc=ACTION_COLORS[recommendation],
        mec="black",
        mew=1.5,
        clip_on=False,
        zorder=3,
    )
    ax.text(p, 0.14, f"{p:.2f}", ha="center", va="center", fontweight="bold")
    title = f"Best next step: {labels[recommendation]}"
    if recommendation not in {action for action, _, _ in bands}:
        immediate = next(action for action, _, stop in bands if p <= stop)
        title += f" rather than {labels[immediate]} now"
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_title("shaded: best immediate action", loc="right", color="0.3")
    ax.set(xlim=(-0.03, 1.03), ylim=(0, 1), yticks=[], xticks=np.linspace(0, 1, 6))
    ax.set_xlabel("P(recurrence); bar: interval over posterior draws")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_bounds(0, 1)
    fig.draw_without_rendering()
    scale = ax.get_window_extent().width / np.diff(ax.get_xlim())[0]
    for action, width, text in names:  # a band too narrow for its label gets the short one
        if text.get_window_extent().width > width * scale - 4:
            text.set_text(action)
        if text.get_window_extent().width > width * scale - 4:
            text.remove()
    return fig


def _fit_inside_x(ax: Axes, texts: list[Text], pad: float = 4.0) -> None:
    """Widen the x limits until every text lies inside the axes, ``pad`` pixels from its edges."""
    for _ in range(6):
        ax.figure.draw_without_rendering()
        box = ax.get_window_extent()
        extents = [t.get_window_extent() for t in texts]
        left = min(box.x0, *(e.x0 - pad for e in extents))
        right = max(box.x1, *(e.x1 + pad for e in extents))
        if left >= box.x0 and right <= box.x1:
            return
        inverse = ax.transData.inverted()
        ax.set_xlim(inverse.transform([(left, box.y0), (right, box.y0)])[:, 0])


@styled
def waterfall_figure(terms: dict[str, float], p: float) -> Figure:
    """The evidence waterfall: prior log-odds, each piece of evidence's log LR, posterior.

    One row per term, each bar starting where the previous one ended, its value beside it; the
    top axis reads the log-odds as a probability.

    Parameters
    ----------
    terms : dict of str to float
        The prior log-odds first, then each term's log likelihood ratio, by label.
    p : float
        The posterior P(recurrence), named on the posterior's row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(terms)
    fig = Figure(figsize=(5.2, 1.1 + 0.34 * (n + 1)), layout="constrained")
    ax = fig.add_subplot()
    level = 0.0
    ends = []
    for i, value in enumerate(terms.values()):
        if i == 0:
            color = "0.6"
        elif abs(value) < 1e-12:
            color = "0.85"
        else:
            color = ACTION_COLORS["treat"] if value > 0 else ACTION_COLORS["manage"]
        ax.barh(i, value, left=level, height=0.6, color=color)
        level += value
        ax.plot([level, level], [i + 0.3, i + 0.7], color="0.45", lw=0.8)
        ends.append((i, level, value))
    ax.barh(n, level, height=0.6, color="black", alpha=0.75)
    ends.append((n, level, level))
    texts = [
        ax.annotate(
            f"{value:+.2f}",
            (end, i),
            xytext=(4 if value >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if value >= 0 else "right",
            va="center",
        )
        for i, end, value in ends
    ]
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(range(n + 1), [*terms, f"posterior (P = {p:.2f})"])
    ax.set_ylim(n + 0.6, -0.6)
    ax.set_xlabel("log-odds of recurrence")
    _fit_inside_x(ax, texts)
    top = ax.secondary_xaxis(
        "top", functions=(expit, lambda q: logit(np.clip(q, 1e-12, 1 - 1e-12)))
    )
    lo, hi = ax.get_xlim()
    quarters = (0.25, 0.75) if hi - lo < 5 else ()  # a narrow range gets more ticks
    ticks = sorted(q for q in (0.01, 0.1, 0.5, 0.9, 0.99, *quarters) if lo <= logit(q) <= hi)
    top.set_xticks(ticks, [f"{q:g}" for q in ticks])
    top.set_xlabel("probability")
    return fig


@dataclass(frozen=True)
class DensityPanel:
    """One marker's panel of :func:`density_figure`.

    Attributes
    ----------
    label : str
        The marker kind (``"DSC rCBV"``), the panel's x label.
    grid : array (G,)
        Values on the natural scale (a ratio, ADC, Ktrans).
    densities : array (2, 3, G)
        Necrosis and recurrence densities of the log value: posterior mean, band low, band high.
    value : float or None
        The lesion's value, where it has one.
    cutoffs : list of float
        Reference values drawn dashed (classic cutoffs, a read's cutoff).
    """

    label: str
    grid: np.ndarray
    densities: np.ndarray
    value: float | None
    cutoffs: list[float]


def _density_panel(ax: Axes, panel: DensityPanel) -> list[Text]:
    """Draw one panel; return its value labels, still to be placed by :func:`_stack_labels`."""
    for k, action in ((0, "manage"), (1, "treat")):
        color = ACTION_COLORS[action]
        ax.plot(panel.grid, panel.densities[k, 0], color=color, lw=1.8)
        ax.fill_between(
            panel.grid, panel.densities[k, 1], panel.densities[k, 2], color=color, alpha=0.2
        )

    def top_label(x: float, text: str, **style) -> Text:
        transform = ax.get_xaxis_transform()
        return ax.text(x, 1, text, transform=transform, ha="center", va="top", **style)

    texts = []
    for cutoff in panel.cutoffs:
        ax.axvline(cutoff, color="0.35", ls="--", lw=1)
        texts.append(top_label(cutoff, f"{cutoff:g}", color="0.25", bbox=_LABEL_BOX))
    if panel.value is not None:
        ax.axvline(panel.value, color="black", lw=2.2)
        texts.append(
            top_label(panel.value, f"lesion {panel.value:g}", fontweight="bold", bbox=_LABEL_BOX)
        )
    ax.set_xscale("log")
    ax.set_xlim(panel.grid[0], panel.grid[-1])
    plain_log_ticks(ax.xaxis)
    ax.set(xlabel=panel.label, yticks=[], ylim=(0, 1.05 * panel.densities[:, 2].max()))
    return texts


def _stack_labels(ax: Axes, texts: list[Text], gap: float = 3.0) -> None:
    """Put labels in rows at the top of the axes so that none overlaps another.

    Each label, left to right, goes into the highest row where it clears the previous label by
    ``gap`` pixels; a label that would stick out of the axes is aligned to its line's inner side.
    The y limit is raised so that the data stay below the rows. Needs the figure laid out.
    """
    box = ax.get_window_extent()
    for text in texts:
        extent = text.get_window_extent()
        if extent.x0 < box.x0 + gap:
            text.set_horizontalalignment("left")
        elif extent.x1 > box.x1 - gap:
            text.set_horizontalalignment("right")
    ends: list[float] = []
    height = max((t.get_window_extent().height for t in texts), default=0.0) + gap
    for text in sorted(texts, key=lambda t: t.get_window_extent().x0):
        extent = text.get_window_extent()
        row = next((r for r, end in enumerate(ends) if extent.x0 > end + gap), len(ends))
        if row == len(ends):
            ends.append(extent.x1)
        else:
            ends[row] = extent.x1
        text.set_y(1 - (gap + row * height) / box.height)
    used = min((gap + len(ends) * height) / box.height, 0.6)
    ax.set_ylim(0, ax.get_ylim()[1] / (1 - used))


@styled
def density_figure(panels: list[DensityPanel], center: str) -> Figure:
    """Class-conditional densities at the lesion's center: one panel per marker, page-wide.

    Each panel shows the posterior mean density of each class with its band, the reference
    cutoffs (dashed) and the lesion's value (black), their labels in rows that do not overlap; the
    x axis is logarithmic with plain numbers.

    Parameters
    ----------
    panels : list of DensityPanel
        At least one.
    center : str
        Where the densities are taken (a center's name, possibly user-supplied: shown verbatim).

    Returns
    -------
    matplotlib.figure.Figure
    """
    columns = min(len(panels), 3)
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(10.4, 0.9 + 2.4 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    labels = [_density_panel(ax, panel) for ax, panel in zip(axes, panels, strict=False)]
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(f"Class densities at {center}", parse_math=False)
    handles = [
        Line2D([], [], color=ACTION_COLORS["manage"], lw=1.8, label="necrosis"),
        Line2D([], [], color=ACTION_COLORS["treat"], lw=1.8, label="recurrence"),
    ]
    if any(panel.value is not None for panel in panels):
        handles.append(Line2D([], [], color="black", lw=2.2, label="this lesion"))
    handles.append(Line2D([], [], color="0.35", ls="--", lw=1, label="cutoffs"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    fig.draw_without_rendering()
    for ax, texts in zip(axes, labels, strict=False):
        _stack_labels(ax, texts)
    return fig


@styled
def utilities_figure(
    expected: dict[str, float], recommendation: str, labels: dict[str, str]
) -> Figure:
    """Expected utility of each action (QALW), the recommended one outlined.

    Parameters
    ----------
    expected : dict of str to float
        Expected utility by action; NaN where the action is not available.
    recommendation : str
        The recommended action.
    labels : dict of str to str
        Each action's label (:func:`action_labels`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    order = ("manage", "rescan", "pet", "biopsy", "treat_necrosis", "resect", "treat")
    names = [a for a in order if np.isfinite(expected.get(a, np.nan))]
    fig = Figure(figsize=(5.0, 0.9 + 0.36 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    values = [expected[a] for a in names]
    bars = ax.barh(range(len(names)), values, color=[ACTION_COLORS[a] for a in names])
    bars[names.index(recommendation)].set_edgecolor("black")
    bars[names.index(recommendation)].set_linewidth(2.5)
    ax.set_yticks(range(len(names)), [labels[a] for a in names])
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("expected utility (quality-adjusted life-weeks)")
    ax.invert_yaxis()
    return fig


@styled
def sequential_figure(
    labels: list[str], probabilities: list[float], lows: list[float], highs: list[float]
) -> Figure:
    """P(recurrence) after each scan, with intervals.

    Parameters
    ----------
    labels : list of str
        The scans (baseline imaging, follow-up 1, ...).
    probabilities, lows, highs : list of float
        P(recurrence) with the evidence up to each scan, and its interval.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(6.4, 2.6), layout="constrained")
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
    ax.set(xticks=x, ylim=(0, 1), ylabel="P(recurrence)", xlim=(-0.4, len(labels) - 0.6))
    ax.set_xticklabels(labels)
    return fig
