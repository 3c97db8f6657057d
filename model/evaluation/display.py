"""How evaluation scores are written for people: labels, numbers and intervals as text.

The terminal table, the Markdown table, the validation page and the model card all show the
scores of :func:`model.evaluation.external.evaluate` the same way: a value to three decimals,
its interval in brackets, ``-`` where it is undefined and ``!`` where it is flagged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

METRIC_LABELS = {
    "c_statistic": "c-statistic",
    "calibration_intercept": "calibration intercept",
    "calibration_slope": "calibration slope",
    "brier": "Brier score",
    "ece": "expected calibration error",
}
"""Each score's name as people read it, in the order the tables show them."""


def number_text(x: Any) -> str:
    """A score to three decimals; ``-`` when undefined (NaN, or null in a JSON document)."""
    return "-" if x is None or x != x else f"{x:.3f}"


def interval_text(low: Any, high: Any) -> str:
    """``[low, high]``; ``[-]`` when the interval is not given."""
    return "[-]" if number_text(low) == "-" else f"[{number_text(low)}, {number_text(high)}]"


def score_text(row: Any) -> str:
    """``value [bootstrap interval]``, ``-`` for an undefined score, `` !`` when flagged."""
    if number_text(row.value) == "-":  # one class, or perfect separation
        return "-"
    interval = interval_text(row.bootstrap_low, row.bootstrap_high)
    return f"{number_text(row.value)} {interval}" + (" !" if row.flagged else "")


def scores_by_group(table: pd.DataFrame) -> list[tuple[str, Any, dict[str, Any]]]:
    """The scores of each group, in table order.

    Returns
    -------
    list of (group, first row, rows by metric)
        The first row carries the group's ``n`` and ``n_recurrence``.
    """
    out = []
    for group, part in table.groupby("group", sort=False):
        by_metric = {r.metric: r for r in part.itertuples()}
        out.append((group, next(iter(by_metric.values())), by_metric))
    return out
