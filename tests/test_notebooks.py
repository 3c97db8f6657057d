"""Every notebook runs top to bottom in short mode (RNBAYES_SHORT=1) and has no outputs.

Executed, every figure shows as an image: a cell that draws one has an ``image/png`` output, and
no output is only a figure's text repr (``<Figure size 520x500 with 1 Axes>``), which is what a
figure left to a non-inline backend (``MPLBACKEND=Agg``, set here on purpose) comes out as.
"""

import re
import time

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FIGURE_REPR = re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>")
"""The text matplotlib shows for a figure no image formatter rendered."""

DRAWS_A_FIGURE = re.compile(r"\bplot_\w+\(|\w+_figure\(|\bFigure\(")
"""A cell that calls one of the library's plotting functions or builds a Figure itself."""

NOTEBOOKS_WITH_FIGURES = {"01", "02", "03", "06"}


def test_there_are_six_notebooks_without_outputs():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{path.name}: outputs not stripped"
                )
        text = " ".join(c.source for c in notebook.cells if c.cell_type == "markdown").lower()
        assert "synthetic" in text and "not a diagnosis" in text, path.name


def figure_problems(notebook) -> list[str]:
    """Where an executed notebook's figures did not come out as images (empty if none)."""
    problems = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {number} ({cell.source.strip().splitlines()[-1][:60]!r})"
        for output in cell.outputs:
            data = output.get("data", {})
            text = data.get("text/plain", "") if data else output.get("text", "")
            if FIGURE_REPR.search(text) and "image/png" not in data:
                problems.append(f"{where}: a figure shown as text {text.strip()[:60]!r}")
        draws = DRAWS_A_FIGURE.search(cell.source) is not None
        if draws and not any("image/png" in o.get("data", {}) for o in cell.outputs):
            problems.append(f"{where}: draws a figure but has no image/png output")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_short_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("RNBAYES_SHORT", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the notebooks must show figures even so
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert errors == []
    assert figure_problems(notebook) == []
    images = sum(
        "image/png" in o.get("data", {})
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    if path.name[:2] in NOTEBOOKS_WITH_FIGURES:
        assert images > 0, f"{path.name}: no figure came out as an image"
    print(f"{path.name}: {elapsed:.0f} s, {images} images")
