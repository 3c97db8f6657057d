"""The model card written out: one Markdown and one self-contained HTML file.

Every value that came from a user (center names, cohort file names) is escaped: as a Markdown
cell (:func:`model.core.console.markdown_cell`) or by the HTML template's autoescaping.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pandas as pd

from model.core.console import markdown_cell
from model.core.files import atomic_write_text
from model.evaluation.display import METRIC_LABELS, score_text, scores_by_group
from model.report.model_card import (
    AUTHORS,
    FILLED,
    INTENDED_USE,
    NOT_A_DIAGNOSIS,
    NOT_APPLICABLE,
    PARTLY,
    SYNTHETIC,
    ModelCard,
)
from model.report.tripod_ai import SOURCE

STATUSES = (FILLED, PARTLY, AUTHORS, NOT_APPLICABLE)

CENTER_COLUMNS = {
    "center": "center",
    "lesions": "lesions",
    "patients": "patients",
    "recurrence": "recurrences (histopathology)",
    "necrosis": "necroses (histopathology)",
    "follow_up": "follow-up label",
    "unlabelled": "no label",
}


def write_model_card(card: ModelCard, out: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``model_card.md`` and ``model_card.html`` into the folder ``out`` (atomically).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The Markdown and the HTML file.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    markdown = atomic_write_text(folder / "model_card.md", card_markdown(card))
    html = atomic_write_text(folder / "model_card.html", card_html(card))
    return markdown, html


def status_counts(card: ModelCard) -> dict[str, int]:
    """How many items have each status, in :data:`STATUSES` order."""
    counts = Counter(i.status for i in card.items)
    return {s: counts[s] for s in STATUSES}


def card_markdown(card: ModelCard) -> str:
    """The card as Markdown (GitHub tables; every cell escaped)."""
    lines = [
        f"# Model card and TRIPOD+AI appendix: rnbayes fit {card.fit_name}",
        "",
        f"> {NOT_A_DIAGNOSIS}",
        "",
    ]
    if card.synthetic:
        lines += [f"> **{SYNTHETIC}**", ""]
    lines += [
        f"Model fitted to: {markdown_cell(card.trained_on)}. Written by rnbayes {card.version} "
        f"on {card.created}.",
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## TRIPOD+AI checklist",
        "",
        "Items: " + ", ".join(f"{n} {s}" for s, n in status_counts(card).items()) + ". "
        "'authors' items are for the authors to complete; in a 'partly filled' item the "
        "authors add what the last column names. Requirements are paraphrased from "
        f"{SOURCE}; read the statement for its wording.",
        "",
        "| item | topic | applies to | requirement | status | reported by rnbayes | for the "
        "authors |",
        "|---|---|---|---|---|---|---|",
    ]
    for i in card.items:
        cells = [
            i.item.item,
            f"{i.item.section}: {i.item.topic}",
            i.item.applies,
            i.item.requirement,
            i.status,
            i.text,
            i.authors,
        ]
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    if card.centers is not None:
        lines += ["", "## Centers of the development cohort", "", *_markdown_table(card.centers)]
    if card.evaluation is not None:
        lines += [
            "",
            f"## Scores: {card.evaluation.design}",
            "",
            f"From {markdown_cell(card.evaluation.file)}; value with its "
            f"{round(100 * card.evaluation.ci_prob)}% bootstrap interval over patients.",
            "",
            *_markdown_table(score_table(card)),
        ]
    return "\n".join(lines) + "\n"


def score_table(card: ModelCard) -> pd.DataFrame:
    """The evaluation's scores, one row per group, a 'value [low, high]' cell per score."""
    assert card.evaluation is not None
    rows = []
    for group, first, by_metric in scores_by_group(card.evaluation.scores):
        row = {"group": group, "lesions (recurrences)": f"{first.n} ({first.n_recurrence})"}
        for name, label in METRIC_LABELS.items():
            row[label] = "-" if name not in by_metric else score_text(by_metric[name])
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    frame = frame.rename(columns=CENTER_COLUMNS)
    lines = [
        "| " + " | ".join(markdown_cell(c) for c in frame.columns) + " |",
        "|---" * len(frame.columns) + "|",
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(markdown_cell(v) for v in row) + " |")
    return lines


def card_html(card: ModelCard) -> str:
    """The card as one self-contained HTML page (no external resource)."""
    from model.report.patient import environment

    return (
        environment()
        .get_template("model_card.html.j2")
        .render(
            card=card,
            counts=status_counts(card),
            intended_use=INTENDED_USE,
            not_a_diagnosis=NOT_A_DIAGNOSIS,
            synthetic_note=SYNTHETIC,
            source=SOURCE,
            centers=None if card.centers is None else card.centers.rename(columns=CENTER_COLUMNS),
            scores=None if card.evaluation is None else score_table(card),
        )
    )
