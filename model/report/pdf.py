"""PDF pages through headless Chromium (the same engine that renders the HTML)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from model.core.errors import InputError, Problem
from model.core.files import atomic_write

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)
"""Flags for an offline, single-shot headless Chromium (no network chatter, no sandbox as root)."""


def find_chromium() -> str:
    """The Chromium executable (``RNBAYES_CHROMIUM`` overrides the search)."""
    override = os.environ.get("RNBAYES_CHROMIUM")
    for candidate in ([override] if override else []) + [shutil.which(b) for b in BROWSERS]:
        if candidate and Path(candidate).exists():
            return candidate
    raise InputError(
        [
            Problem(
                "PDF",
                None,
                None,
                None,
                "a Chromium browser for PDF output (Debian: apt-get "
                "install chromium), or RNBAYES_CHROMIUM set to its path",
            )
        ]
    )


def print_pdf(html: str | os.PathLike, pdf: str | os.PathLike, timeout: float = 120.0) -> Path:
    """Print an HTML file to PDF with headless Chromium, atomically.

    Parameters
    ----------
    html : path-like
        A self-contained page.
    pdf : path-like
        The PDF to write.
    timeout : float, default 120
        Seconds before giving up on the browser.

    Returns
    -------
    pathlib.Path
    """
    browser = find_chromium()
    source = Path(html).resolve().as_uri()

    def write(tmp: Path) -> None:
        profile = tmp.with_suffix(".profile")
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            source,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if done.returncode != 0 or tmp.stat().st_size == 0:
            raise RuntimeError(f"Chromium could not print {html}: {done.stderr[-500:]}")

    return atomic_write(pdf, write)
