"""The validation page: the scores, the reliability diagram and the decision curves on one page.

``rnbayes evaluate --out`` and ``rnbayes crossval --out`` write it next to their tables, as one
self-contained HTML file (inline CSS, figures as inline SVG with real text, nothing fetched).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from model import __version__
from model.core.console import DECISION_SUPPORT, SYNTHETIC_NOTE
from model.evaluation.display import METRIC_LABELS, interval_text, number_text, scores_by_group
from model.evaluation.plots import plot_reliability
from model.report.figures import inline_svg

CURVE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Thresholds at which the page tabulates the model's net benefit."""


def evaluation_page(
    table: pd.DataFrame,
    band: pd.DataFrame,
    p: np.ndarray,
    *,
    title: str,
    context: list[str],
    synthetic: bool,
    curves: pd.DataFrame | None = None,
    follow_up: pd.DataFrame | None = None,
    reference: dict[str, float] | None = None,
) -> str:
    """The page as HTML text.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`model.evaluation.external.evaluate` (with its ``attrs``).
    band : pandas.DataFrame
        :func:`model.evaluation.external.reliability_band`.
    p : array (n,)
        The scored lesions' posterior-mean probabilities (the reliability histogram).
    title : str
        "External validation" or "Leave-one-center-out validation".
    context : list of str
        Sentences on what was scored with what (the fit, the cohort, the folds).
    synthetic : bool
        The cohort is the bundled synthetic one: the page says so at its top.
    curves : pandas.DataFrame, optional
        :func:`model.cutoffs.analysis.labelled_decision_curves`, when there are any.
    follow_up : pandas.DataFrame, optional
        The scores against follow-up labels (:func:`model.evaluation.external.evaluate` of the
        ``FOLLOW_UP`` predictions of :func:`~model.evaluation.external.labelled_by_reference`).
    reference : dict, optional
        The follow-up reference's posterior-mean ``sensitivity`` and ``specificity``.

    Returns
    -------
    str
    """
    from model.cutoffs.plots import SYNTHETIC_CAPTION, plot_decision_curves
    from model.report.patient import environment

    caption = SYNTHETIC_CAPTION if synthetic else None
    attrs = table.attrs
    return (
        environment()
        .get_template("evaluation.html.j2")
        .render(
            title=title,
            context=context,
            synthetic_note=SYNTHETIC_NOTE if synthetic else None,
            decision_support=DECISION_SUPPORT,
            in_sample=attrs.get("in_sample", False),
            level=round(100 * attrs["ci_prob"]),
            labels=attrs["labels"],
            unseen=attrs["unseen_centers"],
            rows=_score_rows(table),
            follow_up_rows=None if follow_up is None else _score_rows(follow_up),
            reference=reference,
            metrics=list(METRIC_LABELS.values()),
            flagged=sorted({r.group for r in table.itertuples() if r.flagged}),
            reliability=inline_svg(plot_reliability(band, p, caption), "reliability diagram"),
            curves=None
            if curves is None
            else inline_svg(plot_decision_curves(curves, caption), "decision curves"),
            curve_rows=None if curves is None else _curve_rows(curves),
            rule=None if curves is None else _rule(curves),
            created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            version=__version__,
        )
    )


def _score_rows(table: pd.DataFrame) -> list[dict]:
    """Per group: its counts and, per score, the value with both intervals."""
    return [
        {
            "group": group,
            "n": first.n,
            "n_recurrence": first.n_recurrence,
            "cells": [_cell(by_metric.get(name)) for name in METRIC_LABELS],
        }
        for group, first, by_metric in scores_by_group(table)
    ]


def _cell(r) -> dict:
    if r is None or number_text(r.value) == "-":
        return {"value": "-", "bootstrap": "", "posterior": "[-]", "flagged": False}
    return {
        "value": number_text(r.value),
        "bootstrap": interval_text(r.bootstrap_low, r.bootstrap_high),
        "posterior": interval_text(r.posterior_low, r.posterior_high),
        "flagged": bool(r.flagged),
    }


def _rule(curves: pd.DataFrame) -> str:
    """The cutoff rule's name in the decision curves, and on how many lesions they are drawn."""
    strategies = [m for m in dict.fromkeys(curves["model"]) if m not in ("model", "all", "none")]
    return f"{strategies[0]}, on {curves.attrs['n']} lesions"


def _curve_rows(curves: pd.DataFrame) -> list[dict]:
    """The model's net benefit, P(best) and EVPI at :data:`CURVE_THRESHOLDS` (nearest point)."""
    model = curves[curves["model"] == "model"].reset_index(drop=True)
    rows = []
    for t in CURVE_THRESHOLDS:
        row = model.iloc[int(np.abs(model["threshold"].to_numpy() - t).argmin())]
        rows.append(
            {
                "threshold": f"{row['threshold']:.2f}",
                "net_benefit": f"{row['net_benefit']:.3f}",
                "loo": f"{row['net_benefit_loo']:.3f}" if "net_benefit_loo" in row else None,
                "p_better": f"{row['p_better_than_rule']:.2f}",
                "p_best": f"{row['p_best']:.2f}",
                "evpi": f"{row['evpi']:.4f}",
            }
        )
    return rows
