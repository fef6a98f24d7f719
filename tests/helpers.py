"""Helpers shared by tests: running the real CLI and copying the scenarios to a scratch folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def exolab(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI exactly as a user would (`python -m lab`), offline."""
    full_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1",
                "DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def copy_scenarios(dest: Path) -> Path:
    """A private copy of scenarios/ that a test may break; returns the copied smoke suite."""
    target = dest / "scenarios"
    shutil.copytree(ROOT / "scenarios", target)
    return target / "smoke.yaml"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def copy_project(dest: Path) -> Path:
    """A private copy of the data folders the Lab reads (point EXOLAB_HOME at the result), so a
    test may add prompt versions or change gates without touching the checkout."""
    home = dest / "home"
    for name in ("metrics", "prompts", "scenarios"):
        shutil.copytree(ROOT / name, home / name)
    shutil.copytree(ROOT / "reports" / "templates", home / "reports" / "templates")
    return home


def add_flow_version(home: Path, name: str, skip: list[str], description: str) -> None:
    """A copy of v1 that never asks the `skip` questions: a version whose true difference from v1
    is known."""
    import yaml

    path = home / "prompts" / "playbook.yaml"
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = dict(flow["versions"]["v1"])
    version["description"] = description
    skipped = [[q] for q in skip]
    version["steps"] = [s for s in version["steps"] if not (isinstance(s, dict) and s.get("ask") in skipped)]
    flow["versions"][name] = version
    path.write_text(yaml.safe_dump(flow, allow_unicode=True, sort_keys=False), encoding="utf-8")


def run_smoke(tmp: Path, *extra: str) -> tuple[Path, str]:
    """`exolab run` of the smoke suite's v1 and v2 into tmp/runs, logged to tmp/mlflow.db."""
    result = exolab("run", "--suite", str(ROOT / "scenarios" / "smoke.yaml"), "--prompt-version", "v1",
                    "--prompt-version", "v2", "--runs-dir", str(tmp / "runs"),
                    "--tracking-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--quiet", *extra, cwd=tmp)
    assert result.returncode == 0, result.stderr
    folders = list((tmp / "runs").iterdir())
    assert len(folders) == 1
    return folders[0], result.stdout


def normalised(text: str) -> str:
    """A report with what differs between two identical runs masked: run id, dates, hashes that
    cover them, measured latencies, the command line and the checkout."""
    text = re.sub(r"smoke-[0-9a-f]{10}", "smoke-RUNID", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}T[\d:+.]+", "DATE", text)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", "DAY", text)
    text = re.sub(r"\d+\.\d{3} s\b", "N s", text)  # measured latencies
    text = re.sub(r"\b[0-9a-f]{64}\b", "SHA256", text)
    text = re.sub(r"<!-- exolab-integrity .* -->", "<!-- exolab-integrity BLOCK -->", text)
    text = re.sub(r"- Command: .*", "- Command: COMMAND", text)
    text = re.sub(r"sqlite:///\S*?mlflow\.db", "sqlite:///mlflow.db", text)
    text = re.sub(r"^\| ([A-Za-z][\w.-]*) \| \d[\w.+]* \|$", r"| \1 | VERSION |", text, flags=re.M)  # packages
    return re.sub(r"- Git: .*", "- Git: GIT", text)
