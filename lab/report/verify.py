"""`exolab verify REPORT`: is this report what its run folder produces?

The report's integrity block names the run folder, the hashes of the run-folder files it was computed
from, the hash of its input snapshot and the hash of its data. Verification recomputes each one —
the data by rescoring a scratch copy of the run folder, so the run folder is never written — and says
which, if any, changed. A Markdown or HTML report is also re-rendered and compared byte for byte; a
PDF, which Chromium cannot reproduce byte for byte, is checked against the hash recorded when it was
printed (report-hashes.json and, where the run was logged, MLflow).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.records import read_json
from lab.report.integrity import (
    HASHES_FILE,
    RUN_INPUTS,
    SNAPSHOT_FILE,
    canonical,
    read_block,
    run_input_hashes,
    sha256_bytes,
    sha256_path,
)
from lab.results import RunFolder, write_results


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool | None  # None: could not be checked
    detail: str


def _short(sha: str) -> str:
    return sha[:12]


def _input_findings(block: dict[str, Any], run_dir: Path) -> list[Finding]:
    now = run_input_hashes(run_dir)
    out = []
    for name in sorted(set(block["inputs"]) | set(now)):
        was, is_ = block["inputs"].get(name), now.get(name)
        if was == is_:
            out.append(Finding(f"run folder {name}", True, f"unchanged ({_short(str(is_))})"))
        elif is_ is None:
            out.append(Finding(f"run folder {name}", False, "missing from the run folder"))
        elif was is None:
            out.append(Finding(f"run folder {name}", False, "added to the run folder after the report was written"))
        else:
            out.append(Finding(f"run folder {name}", False, f"changed: {_short(was)} when reported, now {_short(is_)}"))
    return out


def recompute(report: Path, block: dict[str, Any], run_dir: Path) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The report data, masked-secret count and charts, rebuilt from a scratch copy of the run folder
    and the report's input snapshot."""
    from lab.report import inputs_from_snapshot, make_redactor, render_charts, report_data

    snapshot = read_json(report.parent / SNAPSHOT_FILE)
    with tempfile.TemporaryDirectory(prefix="exolab-verify-") as tmp:
        scratch = Path(tmp) / run_dir.name  # the folder's name appears in the report
        scratch.mkdir()
        for name in RUN_INPUTS:
            if (run_dir / name).is_file():
                shutil.copy2(run_dir / name, scratch / name)
        prices = Path(tmp) / "prices.yaml"
        prices.write_text(snapshot["prices_yaml"], encoding="utf-8")
        folder = RunFolder(scratch)
        summary = write_results(folder, prices)
        redaction = snapshot["redaction"]
        data, masked = report_data(folder, summary, inputs_from_snapshot(snapshot),
                                   make_redactor(folder, redaction["mask_pii"], redaction["patterns"]))
    return data, masked, render_charts(data)


def _mlflow_finding(run_dir: Path, data_sha: str) -> Finding | None:
    from lab.tracking import REPORT_DATA_TAG, STATE_FILE, sqlite_store_missing

    state_path = run_dir / STATE_FILE
    if not state_path.is_file():
        return None
    state = read_json(state_path)
    if sqlite_store_missing(state["tracking_uri"]):
        return Finding("MLflow record", None, f"the MLflow store {state['tracking_uri']} is not here "
                                              "(run verify from the folder the run was logged from)")
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client = mlflow.MlflowClient(tracking_uri=state["tracking_uri"])
        tags = [client.get_run(run_id).data.tags.get(REPORT_DATA_TAG)
                for run_id in state.get("parent_runs", {}).values()]
    except (MlflowException, OSError) as exc:
        return Finding("MLflow record", None, f"could not read {state['tracking_uri']}: {exc}")
    recorded = {tag for tag in tags if tag}
    if not recorded:
        return Finding("MLflow record", None, f"no report hash recorded in {state['tracking_uri']}")
    if recorded == {data_sha}:
        return Finding("MLflow record", True, f"the data hash recorded in {state['tracking_uri']} matches")
    shown = ", ".join(_short(r) for r in sorted(recorded))
    return Finding("MLflow record", False, f"MLflow records data sha256 {shown}, the report carries {_short(data_sha)}")


def verify_report(report: Path, run_dir: Path | None = None) -> list[Finding]:
    """Every check with its outcome. Raises NoIntegrityBlock / FileNotFoundError on unusable input."""
    from lab.report import render_text

    block = read_block(report)
    run_dir = run_dir or (report.parent / block["run_folder"])
    folder = RunFolder(run_dir)
    findings = [Finding("run id", folder.manifest["run_id"] == block["run_id"],
                        f"report of {block['run_id']}, folder holds {folder.manifest['run_id']}")]
    findings += _input_findings(block, run_dir)
    snapshot = report.parent / SNAPSHOT_FILE
    if not snapshot.is_file():
        findings.append(Finding("input snapshot", False, f"{SNAPSHOT_FILE} is missing beside the report"))
        return findings
    snap_ok = sha256_path(snapshot) == block["snapshot_sha256"]
    findings.append(Finding("input snapshot", snap_ok, f"{SNAPSHOT_FILE} " + ("unchanged" if snap_ok else "changed")))
    data, masked, charts = recompute(report, block, run_dir)
    data_sha = sha256_bytes(canonical(data))
    if data_sha == block["data_sha256"]:
        findings.append(Finding("report data", True, f"recomputed from the run folder: sha256 {_short(data_sha)}"))
    else:
        why = ""
        if masked != block.get("masked_secrets", 0):
            why = (f" — the report masked {block.get('masked_secrets', 0)} secret occurrence(s), this environment "
                   f"{masked}: run verify with the same credentials set")
        findings.append(Finding("report data", False, f"recomputed sha256 {_short(data_sha)}, the report carries "
                                                      f"{_short(block['data_sha256'])}{why}"))
    if report.suffix in (".md", ".html"):
        fmt = report.suffix.lstrip(".")
        same = render_text(fmt, data, block, charts) == report.read_text(encoding="utf-8")
        findings.append(Finding("report text", same, "identical to a fresh rendering" if same else
                                "differs from what the run folder renders (edited after it was written, "
                                "or written by another version of the Lab)"))
    hashes_path = report.parent / HASHES_FILE
    recorded = read_json(hashes_path).get("files", {}).get(report.name) if hashes_path.is_file() else None
    if recorded is None:
        findings.append(Finding("report file", None, f"no hash of {report.name} in {HASHES_FILE}"))
    else:
        same = sha256_path(report) == recorded
        findings.append(Finding("report file", same, f"sha256 {'matches' if same else 'differs from'} the one "
                                                     f"recorded when it was written ({HASHES_FILE})"))
    # MLflow records the run folder's own report; one rendered elsewhere (--out, --compare) is a view
    own = report.parent.resolve() == run_dir.resolve()
    mlflow_finding = _mlflow_finding(run_dir, block["data_sha256"]) if own else None
    if mlflow_finding:
        findings.append(mlflow_finding)
    return findings
