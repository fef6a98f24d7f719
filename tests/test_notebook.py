"""The analysis notebook runs top to bottom on a fresh MLflow store filled by two small runs, and
finds the scenarios that really flipped between them, so it cannot rot unnoticed."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from helpers import ROOT, exolab
from nbclient import NotebookClient

NOTEBOOK = ROOT / "notebooks" / "discovery-analysis.ipynb"


def _passed(scores: pd.DataFrame) -> dict[tuple[str, int], bool]:
    ok = scores["asked"] & scores["answered"] & (scores["faithful"] == True)  # noqa: E712
    per_scenario = ok.groupby([scores["persona"], scores["repetition"]]).all()
    return {(str(p), int(r)): bool(v) for (p, r), v in per_scenario.items()}


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_notebook_runs_on_a_fresh_store_and_lists_the_real_flips(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    folders = []
    for version in ("v1", "v3"):  # yesterday's prompt, then today's
        done = exolab("run", "--suite", str(ROOT / "scenarios" / "smoke.yaml"), "--prompt-version", version,
                      "--runs-dir", str(tmp_path / "runs"), "--tracking-uri", uri, "--quiet", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        folders.append(tmp_path / "runs" / done.stdout.split("run folder: runs/")[1].split()[0])
    before, after = (_passed(pd.read_csv(f / "scores.csv")) for f in folders)
    flipped = sorted(k for k in before if before[k] != after[k])
    assert flipped, "v1 and v3 should differ on some smoke scenario"

    monkeypatch.setenv("EXOLAB_TRACKING_URI", uri)
    monkeypatch.setenv("EXOLAB_SUITE", "smoke")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", [])) for c in code)
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
    everything = "\n".join(_text(c) for c in code)
    assert f"{len(flipped)} of {len(before)} scenarios flipped" in everything
    regressions = [k for k in flipped if before[k] and not after[k]]
    persona, repetition = (regressions or flipped)[0]  # the notebook drills into a regression first
    assert f"v3/{persona}/r{repetition}:" in everything
    assert "pass -> fail" in everything or "fail -> pass" in everything
    assert os.environ["EXOLAB_TRACKING_URI"] == uri


def test_the_committed_notebook_carries_no_outputs() -> None:
    """Outputs belong to a run, not to the repository: a committed output would go stale."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in notebook.cells if c.cell_type == "code")
