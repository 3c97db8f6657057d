"""Atomic file writes and the location of the bundled data.

Every output the package writes goes through :func:`atomic_write`: the content is written to a
temporary file in the target's folder and moved into place with one ``os.replace``, so a crash or a
kill leaves either the old file or the new one, never half of it. A folder of outputs (the lesion
reports) is written whole by :func:`write_folder` and swapped in, so it holds exactly one run's
files. Temporaries are removed on every failure; those a killed process left behind are removed by
the next write to the same place once they are ten minutes old.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import tempfile
import time
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
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "expected a file name, found a folder", str(target))
    if target.exists() and not target.is_file():  # a device such as /dev/null, a pipe, a socket
        raise FileExistsError(
            errno.EEXIST,
            "expected a regular file (found a device or other special file)",
            str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
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


STALE_SECONDS = 600


def _remove_stale_temporaries(target: Path) -> None:
    """Remove this target's temporaries that a killed process left (older than ten minutes)."""
    now = time.time()
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        try:
            if now - leftover.lstat().st_mtime < STALE_SECONDS:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except OSError:
            continue  # another process's, or already gone


def write_folder(path: str | os.PathLike, write: Callable[[Path], None], owner: str) -> Path:
    """Fill a folder whole: write into a new hidden sibling, then swap it in for the old one.

    Parameters
    ----------
    path : path-like
        The folder. If it exists it must be empty or written earlier by the same ``owner`` (it
        then holds the marker file ``.rnbayes-<owner>``); its old content is replaced, not mixed.
    write : callable
        Called with the new folder's temporary path; writes every file there.
    owner : str
        Which command owns the folder, e.g. ``"report"``.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    NotADirectoryError
        ``path`` is a file.
    FileExistsError
        ``path`` holds files that no earlier run of ``owner`` wrote.
    """
    target = Path(path)
    marker = f".rnbayes-{owner}"
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "expected a folder, found a file", str(target))
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise FileExistsError(
            errno.EEXIST,
            f"expected a new or empty folder, or one written by rnbayes {owner} (it holds other "
            "files, which would be lost)",
            str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)

    def sibling() -> Path:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))

    fresh = sibling()
    try:
        write(fresh)
        (fresh / marker).write_text(f"written by rnbayes {owner}; replaced whole by its next run\n")
        os.chmod(fresh, 0o777 & ~_umask())
        if target.exists():
            old = sibling()
            os.replace(target, old)
            os.replace(fresh, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(fresh, target)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
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


def safe_file_stem(text: str) -> str:
    """User text (an id, a lesion's name) made safe as part of a file name.

    At most 60 of ``A-Z a-z 0-9 _ . -``; any other run of characters becomes ``_``.
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60]


def save_figure(figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically; the format follows the file's suffix."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=dpi))
