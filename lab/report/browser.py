"""Headless Chromium: the PDF engine of the report, and the browser its tests look through.

Printing the very HTML a reviewer opens means the PDF shows the same content with the same
layout, charts included, instead of a second rendering path that could drift from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ENV_VAR = "EXOLAB_CHROMIUM"
# No sync, updates, or background fetches: a report is rendered offline and must not phone home.
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--mute-audio")


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str:
    """$EXOLAB_CHROMIUM, or the first Chromium/Chrome on PATH."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        if not (shutil.which(configured) or Path(configured).is_file()):
            raise BrowserError(f"{ENV_VAR}={configured}: no such browser")
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("the PDF report needs headless Chromium: install it (Debian/Ubuntu: "
                       f"`apt-get install chromium`) or point {ENV_VAR} at a Chrome/Chromium binary")


def run_chromium(url: str, *flags: str, timeout: float = 120) -> str:
    """One headless Chromium invocation with a throw-away profile; returns its stdout."""
    binary = find_chromium()
    with tempfile.TemporaryDirectory(prefix="exolab-chromium-") as profile:
        command = [binary, *QUIET_FLAGS, f"--user-data-dir={profile}", *flags, url]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"Chromium did not finish within {timeout:.0f} s on {url}") from exc
    if done.returncode != 0:
        raise BrowserError(f"Chromium failed (exit {done.returncode}) on {url}: {done.stderr.strip()[-500:]}")
    return done.stdout


def print_pdf(html: Path, pdf: Path, timeout: float = 180) -> Path:
    """Print a local HTML file to PDF (A4 from the page's @page rule, no browser header/footer)."""
    tmp = pdf.with_suffix(".pdf.part")
    tmp.unlink(missing_ok=True)
    run_chromium(html.resolve().as_uri(), f"--print-to-pdf={tmp}", "--no-pdf-header-footer",
                 "--virtual-time-budget=10000", timeout=timeout)
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no PDF for {html}")
    tmp.replace(pdf)
    return pdf


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 1600) -> Path:
    run_chromium(html.resolve().as_uri(), f"--screenshot={png}", f"--window-size={width},{height}")
    return png


def dump_dom(html: Path) -> str:
    """The DOM after Chromium has parsed the page and run its scripts."""
    return run_chromium(html.resolve().as_uri(), "--dump-dom", "--virtual-time-budget=5000")
