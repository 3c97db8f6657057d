"""Terminal rendering for the CLI: tables, banners and the standard notices (rich).

Nothing a user typed reaches the terminal raw: the console prints text without interpreting rich
markup (``[link=...]`` in a patient id stays text) and shows control characters (terminal escape
sequences) as escapes. The package's own styled lines pass ``markup=True`` and escape what they
interpolate.
"""

from __future__ import annotations

import unicodedata
from typing import Any

DECISION_SUPPORT = (
    "Decision support, not a diagnosis: probabilities from a model fitted to the named cohort."
)
SYNTHETIC_NOTE = (
    "The bundled cohort is synthetic: drawn from the model with parameters calibrated to published "
    "figures (data/parameters.toml). It is not patient data."
)


def terminal_text(text: str) -> str:
    """Text with control and format characters shown as escapes (ESC as a backslash and x1b).

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        Printable text; newlines are kept.
    """
    return "".join(
        c if c == "\n" or unicodedata.category(c) not in {"Cc", "Cf"} else _escape(c) for c in text
    )


MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+-.!|~")
"""Characters Markdown may read as syntax (CommonMark's backslash-escapable punctuation)."""


def markdown_cell(text: str) -> str:
    """Text for one Markdown table cell, read as plain text.

    Control characters and newlines become escapes, and every Markdown punctuation character is
    backslash-escaped (so a ``|`` cannot end the cell).
    """
    printable = terminal_text(str(text)).replace("\n", "\\n")
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in printable)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def markup_value(value: Any) -> str:
    """A value to interpolate into a line printed with ``markup=True``: escaped both ways."""
    from rich.markup import escape

    return escape(terminal_text(str(value)))


def console(stderr: bool = False):
    """A rich console that wraps softly and prints user text safely (see the module notes)."""
    import shutil
    import sys

    from rich.console import Console

    class SafeConsole(Console):
        def print(self, *objects: Any, markup: bool = False, **kwargs: Any) -> None:
            shown = [terminal_text(o) if isinstance(o, str) and not markup else o for o in objects]
            super().print(*shown, markup=markup, **kwargs)

    stream = sys.stderr if stderr else sys.stdout
    width = shutil.get_terminal_size((140, 24)).columns if stream.isatty() else 140
    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True, width=width, markup=False)


def frame_table(title: str, frame, formats: dict[str, str] | None = None, index: bool = True):
    """A rich table from a DataFrame; ``formats`` maps column to a format spec."""
    from rich.table import Table
    from rich.text import Text

    def text(value: str) -> Text:  # a Text is never read as markup
        return Text(terminal_text(value))

    formats = formats or {}
    table = Table(title=text(title), title_justify="left", show_edge=False, pad_edge=False)
    if index:
        table.add_column(text(" / ".join(str(n) for n in frame.index.names if n) or ""))
    for column in frame.columns:
        table.add_column(text(str(column)), justify="right")
    for label, row in frame.iterrows():
        cells = [text(_cell(v, formats.get(str(c)))) for c, v in row.items()]
        shown = " / ".join(map(str, label)) if isinstance(label, tuple) else str(label)
        table.add_row(*([text(shown)] if index else []), *cells)
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
            f"{gate.divergences} divergences",
            markup=True,
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
