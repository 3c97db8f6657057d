"""What a user typed is written safely: CSV cells that no spreadsheet runs, strict JSON, and a
terminal that shows markup and escape sequences as text."""

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.cli import main
from model.core.console import frame_table, markdown_cell, terminal_text
from model.core.outputs import FORMULA_STARTS, csv_text, json_text, neutralise_formula

HOSTILE_IDS = [
    '=HYPERLINK("http://example.invalid","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tTAB",
]


def read_csv(text):
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("text", HOSTILE_IDS)
def test_formula_cells_get_an_apostrophe(text):
    assert neutralise_formula(text) == "'" + text


def test_numbers_stay_numbers_and_names_are_neutralised():
    frame = pd.DataFrame({"=id": ["=1+1", "C01"], "p": [-0.5, 0.25], "n": [-3, 4]})
    rows = read_csv(csv_text(frame))
    assert rows[0] == ["'=id", "p", "n"]
    assert rows[1] == ["'=1+1", "-0.5", "-3"]
    assert rows[2] == ["C01", "0.25", "4"]


@settings(max_examples=200, deadline=None)
@given(cell=st.text(min_size=1, max_size=12))
def test_no_text_cell_starts_a_formula(cell):
    frame = pd.DataFrame({"id": [cell], "value": [1.5]})
    ((written, value),) = read_csv(csv_text(frame))[1:]
    assert not written.startswith(FORMULA_STARTS) and value == "1.5"
    assert written == neutralise_formula(cell)


def test_json_is_strict():
    text = json_text({"p": float("nan"), "q": [np.float64("inf"), 1.0], "r": pd.NA})

    def refuse(literal):
        raise AssertionError(literal)

    assert json.loads(text, parse_constant=refuse) == {"p": None, "q": [None, 1.0], "r": None}


@pytest.mark.parametrize(
    "text", ["p\x1b[2J", "p\x1b]8;;http://example.invalid\x07x", "a\u202eb", "a\x07"]
)
def test_control_characters_are_shown_as_escapes(text):
    shown = terminal_text(text)
    assert shown.isprintable() and "\\x" in shown or "\\u" in shown


def test_a_markdown_cell_is_plain_text_that_cannot_end_its_cell():
    """A center named like Markdown syntax stays one cell of literal text (CommonMark renders a
    backslash-escaped punctuation character as itself)."""
    import re

    cell = markdown_cell("C|05 **x** [a](http://example.invalid)\x1b[2J\nnext")
    assert "\n" not in cell and cell.isprintable()
    assert re.search(r"(?<!\\)[|*\[\]()]", cell) is None  # every such character escaped
    unescaped = re.sub(r"\\(.)", r"\1", cell)
    assert unescaped == "C|05 **x** [a](http://example.invalid)\\x1b[2J\\nnext"


def test_tables_do_not_read_markup():
    from rich.console import Console

    frame = pd.DataFrame({"id": ["[link=http://example.invalid]x[/link]", "[/]"]})
    out = io.StringIO()
    Console(file=out, width=120).print(frame_table("t", frame))
    assert "[link=http://example.invalid]x[/link]" in out.getvalue() and "[/]" in out.getvalue()


@pytest.fixture(scope="module")
def hostile_patients(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "patients.csv"
    rows = [
        [pid, center, "DSC", "1.6"]
        for pid, center in zip(
            [*HOSTILE_IDS[:4], "[/]", "[link=http://example.invalid]x[/link]", "p\x1b[2J"],
            ["C01", "@SUM(1)", "C01", "C02", "C01", "C01", "C01"],
            strict=True,
        )
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [["patient_id", "center", "perfusion_technique", "perfusion_ratio"], *rows]
        )
    return path


def test_validate_prints_hostile_ids_as_text(hostile_patients, capsys):
    assert main(["validate", str(hostile_patients)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out


def test_predict_writes_safe_csv_and_strict_json(hostile_patients, tmp_path, capsys):
    from conftest import DATA

    out = tmp_path / "predictions.csv"
    fit = str(DATA / "fit.nc")
    assert main(["predict", fit, str(hostile_patients), "--out", str(out), "--json"]) == 0
    rows = read_csv(out.read_text())
    header = rows[0]
    ids = [r[header.index("patient_id")] for r in rows[1:]]
    centers = [r[header.index("center")] for r in rows[1:]]
    assert not any(c.startswith(FORMULA_STARTS) for c in [*ids, *centers, *header])
    assert "'=HYPERLINK" in ids[0] and "'@SUM(1)" in centers
    p = [float(r[header.index("p_recurrence")]) for r in rows[1:]]
    assert all(0 < x < 1 for x in p)

    def refuse(literal):
        raise AssertionError(literal)

    document = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert all(math.isfinite(r["p_recurrence"]) for r in document["predictions"])


def test_decide_json_is_strict(tmp_path, capsys):
    from conftest import DATA

    patient = tmp_path / "p.json"
    patient.write_text(
        '{"patient_id": "p", "center": "C01", "perfusion_technique": "DSC", "perfusion_ratio": 1.5}'
    )
    assert main(["decide", str(DATA / "fit.nc"), str(patient), "--json"]) == 0

    def refuse(literal):
        raise AssertionError(literal)

    json.loads(capsys.readouterr().out, parse_constant=refuse)
