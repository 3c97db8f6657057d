"""Terminal rendering for the CLI: tables, banners and the standard notices (rich)."""

from __future__ import annotations

from typing import Any

DECISION_SUPPORT = (
    "Decision support, not a diagnosis: probabilities from a model fitted to the named cohort."
)
SYNTHETIC_NOTE = (
    "The bundled cohort is synthetic: drawn from the model with parameters calibrated to published "
    "figures (data/parameters.toml). It is not patient data."
)


def console(stderr: bool = False):
    """A rich console that wraps softly (no hard line breaks in long paths)."""
    import shutil
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = shutil.get_terminal_size((140, 24)).columns if stream.isatty() else 140
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def frame_table(title: str, frame, formats: dict[str, str] | None = None, index: bool = True):
    """A rich table from a DataFrame; ``formats`` maps column to a format spec."""
    from rich.table import Table

    formats = formats or {}
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    if index:
        table.add_column(" / ".join(str(n) for n in frame.index.names if n) or "")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for label, row in frame.iterrows():
        cells = [_cell(v, formats.get(str(c))) for c, v in row.items()]
        shown = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
        table.add_row(*([shown] if index else []), *cells)
    return table


def _cell(value: Any, spec: str | None) -> str:
    if isinstance(value, float) and value != value:
        return "—"
    if spec is not None and isinstance(value, int | float):
        return format(value, spec)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def gate_banner(gate, stderr: bool = True) -> None:
    """Print the convergence gate's verdict; a failure is printed loudly."""
    out = console(stderr=stderr)
    if gate.passed:
        out.print(
            f"[green]Convergence gate passed[/]: max R-hat {gate.max_rhat:.3f}, min ESS bulk "
            f"{gate.min_ess_bulk:.0f} / tail {gate.min_ess_tail:.0f}, "
            f"{gate.divergences} divergences"
        )
        return
    from rich.panel import Panel

    body = "\n".join(f"- {line}" for line in gate.failures())
    out.print(
        Panel(
            f"{body}\nDo not use this fit for decisions. Sample longer (--draws, --tune) or "
            "check the data.",
            title="CONVERGENCE GATE FAILED",
            style="bold red",
        )
    )
