"""The audit report as its readers meet it: a self-contained HTML page in a real browser, a PDF
turned into pages and text, `exolab verify` catching a changed run or an edited report, the
comparison with a baseline, redaction, and the hash recorded in MLflow."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from lab.report.integrity import HASHES_FILE, html_block, markdown_block, read_block, stamp_pdf
from lab.stats import cluster_bootstrap_ci
from lab.tracking import REPORT_DATA_TAG
from tests.helpers import exolab

Smoke = tuple[Path, Path, str]


def _need(*tools: str) -> None:
    """Skip where a Debian tool is missing on a developer's machine; fail in CI, which installs them."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing in CI: scripts/system-packages.sh should install them")
        pytest.skip(f"needs {', '.join(missing)} (scripts/system-packages.sh installs them)")


def _copy_run(run_dir: Path, dest: Path) -> Path:
    """A run folder copy without the report files, so a test may change it."""
    target = dest / run_dir.name
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("report*", "mlflow.json"))
    return target


def _html_links(html: str) -> tuple[set[str], set[str]]:
    return set(re.findall(r'href="#([^"]+)"', html)), set(re.findall(r'id="([^"]+)"', html))


def test_html_is_self_contained_and_every_link_has_a_target(smoke_run: Smoke) -> None:
    html = (smoke_run[1] / "report.html").read_text(encoding="utf-8")
    links, ids = _html_links(html)
    assert links and links <= ids
    assert not re.search(r"<link\b|\bsrc=|@import|url\((?!#)|href=\"(?!#|data:)", html)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="exolab-integrity">']
    assert html.count("<svg") >= 3
    # every score's evidence: each verdict row links the asking turn and the answer turn
    assert re.search(r'href="#t-v2-[a-z_]+-r\d-\d+"', html)
    for section in ("Verdict", "Per discovery question", "Charts", "Evidence per question", "Playbook adherence",
                    "Reproducibility and integrity", "Appendix: transcripts, worst first"):
        assert f">{section}</h2>" in html, section


def test_html_renders_in_chromium_and_anchor_links_resolve(smoke_run: Smoke, tmp_path: Path) -> None:
    _need("chromium")
    from PIL import Image

    from lab.report.browser import dump_dom, screenshot

    report = smoke_run[1] / "report.html"
    png = screenshot(report, tmp_path / "page.png", 1280, 1600)
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (1600, 1280)
    assert (pixels < 200).mean() > 0.02 and pixels.std() > 20  # text and tables, not a blank page
    # the browser resolves every in-page link and jumps to a transcript turn
    probe = tmp_path / "probe.html"
    html = report.read_text(encoding="utf-8")
    target = re.findall(r'href="#(t-v2-[^"]+-\d+)"', html)[0]
    script = ("<script>const broken=[...document.querySelectorAll('a[href^=\"#\"]')]"
              ".filter(a=>!document.getElementById(decodeURIComponent(a.hash.slice(1)))).map(a=>a.hash);"
              f"location.hash='#{target}';"
              "document.body.dataset.links=document.querySelectorAll('a[href^=\"#\"]').length;"
              "document.body.dataset.broken=JSON.stringify(broken);"
              "document.body.dataset.target=(document.querySelector(':target')||{id:''}).id;</script>")
    probe.write_text(html.replace("</body>", script + "</body>"), encoding="utf-8")
    body = re.search(r"<body([^>]*)>", dump_dom(probe))
    assert body is not None
    attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))
    assert int(attrs["links"]) > 100
    assert json.loads(attrs["broken"].replace("&quot;", '"')) == []
    assert attrs["target"] == target


def test_pdf_has_pages_text_and_verifies(smoke_run: Smoke, tmp_path: Path) -> None:
    _need("chromium", "pdftoppm", "pdftotext", "pdffonts")
    _, run_dir, _ = smoke_run
    out = tmp_path / "pdf"
    done = exolab("report", str(run_dir), "--format", "pdf", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pdf = out / "report.pdf"
    assert {"report.pdf", "report.html", HASHES_FILE} <= {p.name for p in out.iterdir()}
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 3
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 15  # type: ignore[union-attr]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("ExoChat Lab quality report", "Verdict", "FAIL", "completeness >= 0.85", "cost_of_problem",
                     "Reproducibility and integrity", "Appendix: transcripts", run_dir.name):
        assert expected in text, expected
    # the Chinese persona's turns are printed in a font that has Chinese glyphs, not as empty boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"WenQuanYi|CJK|Hei|Song|Ming|Fallback", fonts), fonts
    checked = exolab("verify", str(pdf), "--run", str(run_dir), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VERIFIED" in checked.stdout


def test_verify_passes_then_names_what_changed(smoke_run: Smoke, tmp_path: Path) -> None:
    _, run_dir, _ = smoke_run
    run = _copy_run(run_dir, tmp_path)
    assert exolab("report", str(run), "--format", "md,html", cwd=tmp_path).returncode == 0
    ok = exolab("verify", str(run / "report.html"), cwd=tmp_path)
    assert ok.returncode == 0 and "VERIFIED: the report is what its run folder produces" in ok.stdout, ok.stdout
    # a hand edit of a number in the Markdown
    md = run / "report.md"
    md.write_text(md.read_text(encoding="utf-8").replace("| `v2` | 44%", "| `v2` | 94%", 1), encoding="utf-8")
    edited = exolab("verify", str(md), cwd=tmp_path)
    assert edited.returncode == 1
    assert "CHANGED report text" in edited.stdout and "CHANGED report file" in edited.stdout
    assert "ok      report data" in edited.stdout
    # a transcript changed after the report: the customer now gives another head count
    log = run / "transcripts.jsonl"
    text = log.read_text(encoding="utf-8")
    assert "1200" in text
    log.write_text(text.replace("1200", "12000"), encoding="utf-8")
    changed = exolab("verify", str(run / "report.html"), cwd=tmp_path)
    assert changed.returncode == 1
    assert "CHANGED run folder transcripts.jsonl: changed" in changed.stdout
    assert "CHANGED report data" in changed.stdout
    not_a_report = exolab("verify", str(run / "manifest.json"), cwd=tmp_path)
    assert not_a_report.returncode == 2 and "no ExoChat Lab integrity block" in not_a_report.stderr


def test_report_hash_and_files_are_recorded_in_mlflow(smoke_run: Smoke) -> None:
    tmp, run_dir, _ = smoke_run
    hashes = json.loads((run_dir / HASHES_FILE).read_text())
    client = MlflowClient(f"sqlite:///{tmp / 'mlflow.db'}")
    state = json.loads((run_dir / "mlflow.json").read_text())
    for parent in state["parent_runs"].values():
        assert client.get_run(parent).data.tags[REPORT_DATA_TAG] == hashes["data_sha256"]
        artifacts = {a.path for a in client.list_artifacts(parent)}
        assert {"report.md", "report.html", HASHES_FILE, "report-inputs.json"} <= artifacts
    assert read_block(run_dir / "report.md")["data_sha256"] == hashes["data_sha256"]
    checked = exolab("verify", str(run_dir / "report.html"), cwd=tmp)
    assert checked.returncode == 0 and "ok      MLflow record" in checked.stdout, checked.stdout


def test_compare_with_a_baseline_run_marks_significant_changes(smoke_run: Smoke, tmp_path: Path) -> None:
    tmp, run_dir, _ = smoke_run
    out = tmp_path / "cmp"
    done = exolab("report", str(run_dir), "--compare", f"{run_dir}@v1", "--format", "md", "--out", str(out),
                  "--tracking-uri", f"sqlite:///{tmp / 'mlflow.db'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"| Compared with | `{run_dir.name}@v1`" in md
    urgency = next(line for line in md.splitlines() if line.startswith("| [`urgency`]"))
    # the baseline's own column, then v1 unchanged and v2's drop, marked significant
    assert "| 100% | 100% | 100% (±0) | 100% (±0) | 0% (-100▼) |" in urgency
    assert exolab("verify", str(out / "report.md"), cwd=tmp_path).returncode == 0
    ambiguous = exolab("report", str(run_dir), "--compare", str(run_dir), "--out", str(out), cwd=tmp_path)
    assert ambiguous.returncode == 2 and "--compare" in ambiguous.stderr and "name one" in ambiguous.stderr


def test_pii_is_masked_on_request_and_secrets_never_shown(smoke_run: Smoke, tmp_path: Path) -> None:
    _, run_dir, _ = smoke_run
    run = _copy_run(run_dir, tmp_path)
    secret = "sk-live-4f9a1c2e7b3d5a6f8e0c"
    log = run / "transcripts.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["turns"][1]["content"] += " Пишите на ivan.petrov@example.com или звоните +7 (916) 123-45-67."
    first["turns"][0]["content"] += f" (debug: key {secret})"
    log.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    env = {"OPENAI_API_KEY": secret}
    plain = exolab("report", str(run), "--out", str(tmp_path / "plain"), cwd=tmp_path, env=env)
    masked = exolab("report", str(run), "--mask-pii", "--out", str(tmp_path / "masked"), cwd=tmp_path, env=env)
    assert plain.returncode == 0 and masked.returncode == 0, plain.stderr + masked.stderr
    for name in ("plain", "masked"):
        for path in (tmp_path / name).iterdir():
            assert secret not in path.read_text(encoding="utf-8"), path
    plain_md = (tmp_path / "plain" / "report.md").read_text(encoding="utf-8")
    masked_md = (tmp_path / "masked" / "report.md").read_text(encoding="utf-8")
    assert "ivan.petrov@example.com" in plain_md and "[redacted]" in plain_md
    assert "ivan.petrov@example.com" not in masked_md and "123-45-67" not in masked_md
    assert "Пишите на [email] или звоните [phone]." in masked_md
    assert "redaction: secrets masked; PII patterns: email, phone" in masked_md
    # verify recomputes the masked report; without the key it cannot, and says why
    assert exolab("verify", str(tmp_path / "masked" / "report.md"), cwd=tmp_path, env=env).returncode == 0
    keyless = exolab("verify", str(tmp_path / "masked" / "report.md"), cwd=tmp_path,
                     env={"OPENAI_API_KEY": ""})
    assert keyless.returncode == 1 and "same credentials" in keyless.stdout


def test_nightly_history_is_read_from_mlflow(smoke_run: Smoke) -> None:
    from lab.report.history import nightly_history

    tmp, run_dir, _ = smoke_run
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    assert nightly_history(uri, "smoke")["points"] == []
    state = json.loads((run_dir / "mlflow.json").read_text())
    client = MlflowClient(uri)
    for verdict, parent in zip(("pass", "fail"), state["parent_runs"].values(), strict=True):
        client.set_tag(parent, "exolab.nightly", verdict)
    try:
        history = nightly_history(uri, "smoke")
        assert [p["version"] for p in history["points"]] == ["v1", "v2"]  # oldest first
        assert [p["verdict"] for p in history["points"]] == ["pass", "fail"]
        assert history["points"][1]["completeness"] < 0.6 and history["note"] is None
    finally:
        for parent in state["parent_runs"].values():
            client.delete_tag(parent, "exolab.nightly")
    assert "no nightly runs" in nightly_history(f"sqlite:///{tmp / 'absent.db'}", "smoke")["note"]
    assert not (tmp / "absent.db").exists()


def test_integrity_block_survives_every_format(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    block = {"schema": 1, "run_id": "smoke-0", "data_sha256": "a" * 64, "note": "</script><b>"}
    (tmp_path / "r.md").write_text(f"# report\n\n{markdown_block(block)}\n", encoding="utf-8")
    (tmp_path / "r.html").write_text(f"<html><body>{html_block(block)}</body></html>", encoding="utf-8")
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with (tmp_path / "r.pdf").open("wb") as handle:
        writer.write(handle)
    stamp_pdf(tmp_path / "r.pdf", block, "title")
    for name in ("r.md", "r.html", "r.pdf"):
        assert read_block(tmp_path / name) == block, name
    assert "</script><b>" not in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cluster_bootstrap_is_seeded_and_wider_than_the_naive_interval() -> None:
    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(20), 10)
    values = np.repeat(rng.random(20) < 0.6, 10).astype(float)  # all-or-nothing conversations
    ci = cluster_bootstrap_ci(values, clusters, seed=3)
    assert ci == cluster_bootstrap_ci(values, clusters, seed=3)
    assert ci.low <= values.mean() <= ci.high
    naive = cluster_bootstrap_ci(values, np.arange(values.size), seed=3)
    assert (ci.high - ci.low) > 2 * (naive.high - naive.low)
    assert np.isnan(cluster_bootstrap_ci(np.array([np.nan]), np.array([0])).low)
