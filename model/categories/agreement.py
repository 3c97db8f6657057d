"""Where the radiology categories and the model point different ways.

Each category leans to one side or neither: BT-RADS 1a-3a to treatment effect (or no change),
3c and 4 to tumour progression, 0 and 3b neither; RANO 2.0's PR and SD to no progression, PD to
progression, preliminary PD and "not assessable" neither. The model leans to recurrence when the
whole interval of P(recurrence) lies above 0.5, to necrosis when it lies below. A set of
categories the row leaves open leans only where all its members do.

A disagreement is a category and the model leaning opposite ways. A reader's BT-RADS category
(``btrads_read``) is compared with the model and with the flowchart's. It is never evidence: it
summarises the same images the model reads (growth, and in practice perfusion), so counting it
as well would count them twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BTRADS_LEANING: dict[str, int] = {
    "0": 0,
    "1a": -1,
    "1b": -1,
    "2": -1,
    "3a": -1,
    "3b": 0,
    "3c": 1,
    "4": 1,
}
"""-1 towards treatment effect or no change, +1 towards tumour progression, 0 neither
(https://btrads.com: 3a "favor treatment effect", 3c "favor tumor progression", 4 "highly
suspicious")."""

RANO_LEANING: dict[str, int] = {
    "PR": -1,
    "SD": -1,
    "preliminary PD": 0,
    "PD": 1,
    "not assessable": 0,
}
"""-1 towards no progression, +1 towards progression, 0 neither."""

_WORDS = {
    "BT-RADS": {-1: "treatment effect", 1: "tumour progression"},
    "RANO 2.0": {-1: "no progression", 1: "progression"},
    "model": {-1: "necrosis", 1: "recurrence"},
}


def leaning(category: str, leanings: dict[str, int]) -> int:
    """Where a category, or a set of them joined by " or ", leans: -1, 0 or +1."""
    signs = {leanings[c] for c in category.split(" or ")}
    return signs.pop() if len(signs) == 1 else 0


def model_leaning(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """+1 where the interval of P(recurrence) lies above 0.5, -1 where below, 0 otherwise."""
    return np.where(ci_low > 0.5, 1, np.where(ci_high < 0.5, -1, 0))


def disagreements(
    btrads: Sequence[str],
    rano: Sequence[str],
    reads: Sequence[str | None],
    ci_low: np.ndarray,
    ci_high: np.ndarray,
) -> list[str]:
    """For each lesion, the disagreements among the categories and the model, in words.

    Parameters
    ----------
    btrads, rano : sequence of str
        The flowchart's BT-RADS and the RANO 2.0 category of each lesion.
    reads : sequence of str or None
        The reader's BT-RADS category, where the row has one.
    ci_low, ci_high : numpy.ndarray
        The interval of P(recurrence).

    Returns
    -------
    list of str
        ``""`` where everything that leans leans the same way.
    """
    model = model_leaning(np.asarray(ci_low), np.asarray(ci_high))
    out = []
    for b, r, read, m in zip(btrads, rano, reads, model, strict=True):
        said = [
            _against("BT-RADS", b, leaning(b, BTRADS_LEANING), m),
            _against("RANO 2.0", r, leaning(r, RANO_LEANING), m),
        ]
        if read is not None:
            if read not in b.split(" or "):
                said.append(f"the report's BT-RADS {read} differs from the flowchart's {b}")
            said.append(_against("the report's BT-RADS", read, BTRADS_LEANING[read], m))
        out.append("; ".join(s for s in said if s))
    return out


def _against(system: str, category: str, lean: int, model: int) -> str:
    if lean * model >= 0:
        return ""
    words = _WORDS["BT-RADS" if "BT-RADS" in system else system]
    return f"{system} {category} favours {words[lean]}, the model {_WORDS['model'][model]}"
