"""TOML read strictly, for every parameter and prior file: what tomllib would let through, refused.

TOML itself reads ``1_5`` as 15 (digit grouping) and ``0x10`` as 16 (hexadecimal, likewise octal
and binary). A clinician's file holds neither on purpose, so a number must be written in plain
decimal digits. Strings and comments may hold anything and are not looked at.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from model.core.errors import InputError, Problem

# strings (triple-quoted, basic, literal) and comments
_STRINGS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
)
_TABLE = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")
_KEY_VALUE = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$")
_REINTERPRETED = re.compile(r"(?<![\w.])[+-]?(?:[0-9][0-9.eE+-]*_[0-9_.eE+-]*|0[xob][0-9a-fA-F_]+)")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The document of a TOML file, refusing numbers TOML would read other than as written.

    Raises
    ------
    model.core.errors.InputError
        An unreadable file, invalid TOML, or numbers such as ``1_5`` and ``0x10`` (each named by
        its ``table.key``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except OSError as error:
        raise InputError(
            [Problem(path.name, None, None, None, f"a readable file ({error})")]
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError([Problem(path.name, None, None, None, f"valid TOML ({error})")]) from None
    problems = _reinterpreted_numbers(path.name, text)
    if problems:
        raise InputError(problems)
    return document


def _reinterpreted_numbers(file: str, text: str) -> list[Problem]:
    """Numbers TOML would read other than as written: ``1_5`` (15) and ``0x10`` (16)."""
    bare = _STRINGS.sub(lambda m: "\n" * m.group().count("\n"), text)  # line numbers kept
    problems, table = [], None
    for line in bare.splitlines():
        header = _TABLE.match(line)
        if header:
            table = header.group(1)
            continue
        pair = _KEY_VALUE.match(line)
        found = _REINTERPRETED.search(pair.group(2) if pair else line)
        if found:
            key = pair.group(1) if pair else None
            where = f"{table}.{key}" if table and key else key or table
            problems.append(
                Problem(
                    file,
                    None,
                    where,
                    found.group(),
                    "a number in plain decimal digits (TOML reads 1_5 as 15 and 0x10 as 16: "
                    "write 15 or 1.5)",
                )
            )
    return problems
