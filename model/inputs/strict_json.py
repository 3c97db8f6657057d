"""JSON read strictly, for patient files: what Python's json module would let through, refused.

Python's ``json.loads`` reads ``NaN`` and ``Infinity`` (not JSON), keeps the last of repeated keys
silently, turns ``12`` into an int that later prints as ``12.0``, recurses without limit and
decodes ``"\ud800"`` into a lone surrogate that no file can hold. Here a repeated key, a
``NaN``/``Infinity`` literal, deep nesting or a lone surrogate is a :class:`JsonRuleError`, and
every number stays the text it was written as (:class:`JsonNumber`), to be read by the same rules
as a CSV cell.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32


class JsonNumber(str):
    """A JSON number as written, so that the cell rules read it, not Python's int() or float()."""


class JsonRuleError(ValueError):
    """Valid JSON that the patient format refuses: a repeated key, NaN or Infinity, deep nesting.

    Parameters
    ----------
    key : str or None
        The key concerned, if any.
    value : str or None
        The literal concerned, if any.
    expected : str
        What was expected instead, in words.
    """

    def __init__(self, key: str | None, value: str | None, expected: str):
        super().__init__(expected)
        self.key, self.value, self.expected = key, value, expected


def strict_json(text: str) -> Any:
    """Parse JSON strictly: no repeated keys, no NaN or Infinity, numbers kept as written.

    Parameters
    ----------
    text : str
        The document.

    Returns
    -------
    object
        As :func:`json.loads`, with every number a :class:`JsonNumber` (its literal text).

    Raises
    ------
    json.JSONDecodeError
        Not JSON.
    JsonRuleError
        A key repeated in one object (which value is meant is unclear), a ``NaN``/``Infinity``
        literal (not JSON), objects and arrays nested deeper than 32, or a string holding a lone
        surrogate escape (not Unicode text).
    """

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonRuleError(key, None, "each key once (this key is repeated)")
            seen.add(key)
        return dict(pairs)

    def no_constant(literal: str) -> None:
        raise JsonRuleError(None, literal, "a number or null (NaN and Infinity are not JSON)")

    depth = max_nesting(text)
    if depth > MAX_JSON_DEPTH:
        raise JsonRuleError(None, None, f"objects and arrays nested at most {MAX_JSON_DEPTH} deep")
    document = json.loads(
        text,
        object_pairs_hook=unique_keys,
        parse_constant=no_constant,
        parse_int=JsonNumber,
        parse_float=JsonNumber,
    )
    _check_text(document, None)
    return document


def _check_text(value: Any, key: str | None) -> None:
    """Refuse a lone surrogate in any key or string (the nesting is already bounded)."""
    if isinstance(value, dict):
        for name, item in value.items():
            _check_text(name, name)
            _check_text(item, name)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, key)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRuleError(
                key, None, "Unicode text (a lone surrogate such as \\ud800 is not)"
            ) from None


def max_nesting(text: str) -> int:
    """The deepest nesting of brackets and braces outside strings.

    Measured before parsing, so that a hostile document cannot exhaust the parser's recursion.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
