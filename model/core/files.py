"""Atomic file writes and the location of the bundled data.

Every output the package writes goes through :func:`atomic_write`: the content is written to a
temporary file in the target's folder and moved into place with one ``os.replace``, so a crash or a
kill leaves either the old file or the new one, never half of it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write a file atomically.

    Parameters
    ----------
    path : path-like
        Final location. Its folder is created if missing.
    write : callable
        Called with a temporary path in the same folder; must write the complete file there.

    Returns
    -------
    pathlib.Path
        The final path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text (UTF-8) atomically; see :func:`atomic_write`."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def bundled(name: str) -> Path:
    """Path of a bundled data file (``data/`` in a checkout, packaged inside a wheel).

    Parameters
    ----------
    name : str
        File name relative to the data folder, e.g. ``"cohort.csv"``.

    Returns
    -------
    pathlib.Path
    """
    for folder in (_PACKAGE / "_bundled", _PACKAGE.parent / "data"):
        candidate = folder / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"bundled data file {name!r} not found (looked in the package and data/)"
    )


def save_figure(figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically; the format follows the file's suffix."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=dpi))
