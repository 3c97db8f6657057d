"""The model against the published pooled accuracy of each marker kind, like for like.

Meta-analyses pool each study's own ROC curve, so the comparable quantity is the accuracy *within
a center*: the center's calibration shift moves both classes and cancels. For a kind with class
locations mu_0, mu_1, a shared spread sigma and misread probability e, the within-center AUC is

    AUC = Phi(|mu_1 - mu_0| / (sigma sqrt 2)) (1 - 2 e) + e,

the same at every center. It is computed for the values the synthetic cohort was drawn with (the
parameter file) and, per draw, for a fit, and compared with the published pooled AUC and its 95%
confidence interval. Where a study reports a summary point (sensitivity and specificity, each with
a 95% CI) the ROC curve is checked to pass through that confidence box: a rectangle that contains
the published elliptical region, so a curve missing it misses the region too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from model.inputs.parameters import Parameters
from model.modalities.spec import Kind, Marker

BOX_POINTS = 4001


def within_center_auc(separation, sigma, misread: float):
    """The within-center AUC of a kind, from its separation and spread (arrays broadcast)."""
    binormal = ndtr(np.asarray(separation) / (np.asarray(sigma) * np.sqrt(2.0)))
    return binormal * (1.0 - 2.0 * misread) + misread


def roc_points(separation: float, sigma: float, misread: float, points: int = BOX_POINTS):
    """(false-positive rate, sensitivity) along the within-center ROC curve."""
    cut = np.linspace(-6.0, 6.0 + separation / sigma, points) * sigma  # necrosis at 0
    below = ndtr(cut / sigma), ndtr((cut - separation) / sigma)  # P(value <= cut | class)
    sensitivity = (1 - misread) * (1 - below[1]) + misread * (1 - below[0])
    false_positive = (1 - misread) * (1 - below[0]) + misread * (1 - below[1])
    return false_positive, sensitivity


def passes_through_box(separation, sigma, misread, kind: Kind) -> bool | None:
    """Whether the ROC curve crosses the published summary point's confidence box (None: none)."""
    published = kind.published
    if published is None or published.sensitivity is None or published.specificity is None:
        return None
    fpr, tpr = roc_points(separation, sigma, misread)
    _, se_low, se_high = published.sensitivity
    _, sp_low, sp_high = published.specificity
    inside = (tpr >= se_low) & (tpr <= se_high) & (fpr >= 1 - sp_high) & (fpr <= 1 - sp_low)
    return bool(inside.any())


def literature_comparison(
    parameters: Parameters, draws=None, ci_prob: float = 0.90
) -> pd.DataFrame:
    """Each marker kind's generating (and, with a fit's draws, fitted) AUC beside the published.

    Parameters
    ----------
    parameters : Parameters
        The values the synthetic cohort was drawn with (a parameter file).
    draws : PosteriorDraws, optional
        A fit's posterior draws, for the fitted AUC and its interval.
    ci_prob : float, default 0.90

    Returns
    -------
    pandas.DataFrame
        One row per kind: ``modality``, ``kind``, ``label``, ``published_auc``,
        ``published_low``, ``published_high`` (NaN where no AUC with an interval is published),
        ``source``, ``generating_auc``, ``generating_inside`` (inside the published 95% CI),
        ``roc_through_summary_point`` (None where no summary point is published) and, with
        ``draws``, ``fitted_auc``, ``fitted_low``, ``fitted_high`` and ``fitted_consistent`` (the
        fitted interval overlaps the published 95% CI: a few dozen lesions of a kind cannot pin its
        AUC closer than the published interval does).
    """
    tail = (1 - ci_prob) / 2
    rows = []
    for marker in parameters.registry.markers:
        misread = float(parameters.value(f"modality.{marker.name}.misread"))
        for j, kind in enumerate(marker.kinds):
            prefix = f"modality.{marker.name}.{kind.name}"
            separation = float(parameters.value(f"{prefix}.separation"))
            sigma = float(parameters.value(f"{prefix}.sigma"))
            auc = kind.published.auc if kind.published is not None else None
            row = {
                "modality": marker.name,
                "kind": kind.name,
                "label": kind.label,
                "published_auc": auc[0] if auc else np.nan,
                "published_low": auc[1] if auc else np.nan,
                "published_high": auc[2] if auc else np.nan,
                "source": kind.published.source if kind.published is not None else "",
                "generating_auc": float(within_center_auc(separation, sigma, misread)),
                "roc_through_summary_point": passes_through_box(separation, sigma, misread, kind),
            }
            row["generating_inside"] = _inside(row["generating_auc"], auc)
            if draws is not None:
                fitted = _fitted_auc(draws, marker, j)
                low, high = np.quantile(fitted, [tail, 1 - tail])
                row.update(
                    fitted_auc=float(fitted.mean()),
                    fitted_low=float(low),
                    fitted_high=float(high),
                    fitted_consistent=_overlaps(float(low), float(high), auc),
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["ci_prob"] = ci_prob
    return table


def _fitted_auc(draws, marker: Marker, j: int) -> np.ndarray:
    m = draws.markers[marker.name]
    return within_center_auc(m.separation[:, j], m.sigma[:, j], m.misread)


def _inside(value: float, auc) -> bool | None:
    return None if not auc else bool(auc[1] <= value <= auc[2])


def _overlaps(low: float, high: float, auc) -> bool | None:
    return None if not auc else bool(low <= auc[2] and auc[1] <= high)


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison as the Markdown table ``data/README.md`` shows."""
    level = round(100 * table.attrs.get("ci_prob", 0.9))
    head = [
        "| kind | published pooled AUC (95% CI) | source | generating AUC | "
        f"fitted AUC [{level}% interval] | ROC through the published summary point |",
        "|---|---|---|---|---|---|",
    ]
    lines = []
    for r in table.itertuples():
        published = (
            f"{r.published_auc:.2f} ({r.published_low:.2f}-{r.published_high:.2f})"
            if np.isfinite(r.published_auc)
            else "no interval published"
        )
        fitted = (
            f"{r.fitted_auc:.3f} [{r.fitted_low:.3f}, {r.fitted_high:.3f}]"
            if hasattr(r, "fitted_auc")
            else ""
        )
        box = {True: "yes", False: "no", None: "no summary point"}[r.roc_through_summary_point]
        source = r.source.split(": ")[0] if r.source else ""
        lines.append(
            f"| {r.label} | {published} | {source} | {r.generating_auc:.3f} | {fitted} | {box} |"
        )
    return "\n".join(head + lines)
