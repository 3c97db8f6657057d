"""Numbers as people write them in data files and on the command line, read strictly.

A number is ASCII digits with at most one decimal point and an optional exponent. Python's
``float()`` would also read ``1_5`` as 15 (digit grouping), Arabic-Indic and full-width digits,
``inf`` and ``nan``: none of these is a measurement anyone wrote on purpose, so none is accepted.
This module imports nothing heavy, so the command line can use it while parsing its options.
"""

from __future__ import annotations

import argparse
import math
import re

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
MAX_NUMBER_LENGTH = 40
WHOLE = re.compile(r"[0-9]{1,18}")
# Spaces and tabs around a cell are trimmed; other whitespace (no-break space, NEL, ...) is not,
# so a cell holding only such a character is an error rather than silently blank.
SPACE = " \t"


def parse_number(text: str) -> float | None:
    """Read a number written as ASCII digits, one decimal point and an optional exponent.

    Parameters
    ----------
    text : str
        The cell as written, without surrounding spaces.

    Returns
    -------
    float or None
        The finite value, or ``None`` when ``text`` is not such a number (digit grouping with
        ``_``, non-ASCII digits, ``inf``/``nan``, a decimal comma, more than 40 characters, or a
        value beyond the range of a double).

    Examples
    --------
    >>> parse_number("1.5"), parse_number("2e-3"), parse_number("1_5"), parse_number("١٫٥")
    (1.5, 0.002, None, None)
    """
    if len(text) > MAX_NUMBER_LENGTH or not NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_whole(text: str) -> int | None:
    """A count from a data file cell (no surrounding spaces): 1 to 18 ASCII digits, else None.

    A sign, a decimal point, an exponent, digit grouping with ``_`` (which ``int()`` would read
    as 15 from ``1_5``) and non-ASCII digits all give ``None``.

    Examples
    --------
    >>> parse_whole("15"), parse_whole("1_5"), parse_whole("+15"), parse_whole("15.0")
    (15, None, None, None)
    """
    return int(text) if WHOLE.fullmatch(text) else None


def number_option(text: str) -> float:
    """An argparse ``type``: a number by the rules above."""
    value = parse_number(text.strip())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.5, got {text!r}")
    return value


def probability_option(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1."""
    value = parse_number(text.strip())
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def positive_option(text: str) -> float:
    """An argparse ``type``: a number above 0 (a cutoff on the ratio scale, an SD)."""
    value = parse_number(text.strip())
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def count_option(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1, in ASCII digits."""
    if not re.fullmatch(r"[0-9]{1,9}", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def whole_option(text: str) -> int:
    """An argparse ``type``: a whole number from 0 (a seed, a count that may be zero)."""
    value = parse_whole(text.strip())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0, got {text!r}")
    return value
