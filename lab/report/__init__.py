"""Readable reports of a run folder: Markdown, a self-contained HTML file and its PDF print.

`lab.report.context` computes what a report shows; this module turns that data into files, records
the hashes that let `exolab verify` check them later, and renders comparisons.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from lab.assistants.webhook import ENV_REFERENCE
from lab.compare import Side
from lab.paths import metrics_dir, templates_dir
from lab.records import read_json, write_json
from lab.report.context import ReportInputs, build_context, pct
from lab.report.integrity import (
    BLOCK_SCHEMA,
    HASHES_FILE,
    SNAPSHOT_FILE,
    canonical,
    html_block,
    markdown_block,
    run_input_hashes,
    sha256_bytes,
    sha256_path,
    stamp_pdf,
)
from lab.report.redact import RedactionPattern, Redactor, load_redaction, secret_values
from lab.results import RunFolder, read_scores_csv
from lab.textfmt import number

FORMATS = ("md", "html", "pdf")
DEFAULT_FORMATS = ("md", "html")
CHART_FILES = {"heatmap": "report-heatmap.svg", "trend": "report-trend.svg",
               "first_question": "report-first-question.svg"}
# Parts of the report that quote conversations: where personal data can appear.
CONVERSATION_KEYS = ("appendix", "evidence", "violations", "guard_flags")


@dataclass(frozen=True)
class ReportOptions:
    formats: tuple[str, ...] = DEFAULT_FORMATS
    out_dir: Path | None = None
    inputs: ReportInputs = field(default_factory=ReportInputs)
    prices_file: Path | None = None
    mask_pii: bool = False
    redaction_file: Path | None = None


@dataclass(frozen=True)
class RenderedReport:
    paths: list[Path]
    data_sha256: str
    hashes: dict[str, Any]


def _env_names(value: Any) -> set[str]:
    """Every `*_env` setting and `${VAR}` reference in the run's inputs: the variables that hold its
    credentials."""
    if isinstance(value, dict):
        found = {str(v) for k, v in value.items() if str(k).endswith("_env") and isinstance(v, str)}
        return found.union(*(_env_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_env_names(v) for v in value))
    return set(ENV_REFERENCE.findall(value)) if isinstance(value, str) else set()


def make_redactor(folder: RunFolder, mask_pii: bool, patterns: list[dict[str, str]]) -> Redactor:
    names = _env_names(read_json(folder.path / "inputs.json")) | _env_names(folder.manifest)
    return Redactor(secrets=secret_values(os.environ, names),
                    patterns=[RedactionPattern(**p) for p in patterns] if mask_pii else [])


def report_data(folder: RunFolder, summary: dict[str, Any], inputs: ReportInputs,
                redactor: Redactor) -> tuple[dict[str, Any], int]:
    """The report's data with secrets (and, when asked, PII in conversations) masked, and how many
    secret occurrences were masked."""
    data = build_context(folder, summary, inputs)
    raw = canonical(data).decode("utf-8")
    masked_secrets = sum(raw.count(secret) for secret in redactor.secrets)
    secrets_only = Redactor(secrets=redactor.secrets, patterns=[])
    data = {k: (redactor if k in CONVERSATION_KEYS else secrets_only).mask_any(v) for k, v in data.items()}
    data["redaction"] = redactor.description
    return data, masked_secrets


def _snapshot(options: ReportInputs, prices_file: Path, mask_pii: bool,
              patterns: list[dict[str, str]]) -> dict[str, Any]:
    baseline = options.baseline
    return {
        "schema": BLOCK_SCHEMA,
        "baseline": None if baseline is None else {
            "label": baseline.label, "version": baseline.version, "suite": baseline.suite,
            "origin": baseline.origin, "details": baseline.details,
            "scores_csv": baseline.scores.to_csv(index=False)},
        "history": options.history,
        "prices_yaml": prices_file.read_text(encoding="utf-8"),
        "redaction": {"mask_pii": mask_pii, "patterns": patterns},
    }


def inputs_from_snapshot(snapshot: dict[str, Any]) -> ReportInputs:
    base = snapshot["baseline"]
    side = None if base is None else Side(
        label=base["label"], version=base["version"], suite=base["suite"], origin=base["origin"],
        scores=read_scores_csv(io.StringIO(base["scores_csv"])), details=base["details"])
    return ReportInputs(baseline=side, history=snapshot["history"])


def render_charts(data: dict[str, Any]) -> dict[str, str]:
    from lab.report.charts import TrendPoint, first_question_svg, question_heatmap_svg, trend_svg

    heat = data["charts"]["heatmap"]
    return {
        "heatmap": question_heatmap_svg(pd.DataFrame(heat["completeness"]).T, pd.DataFrame(heat["accuracy"]).T),
        "trend": trend_svg([TrendPoint(label=p["label"], completeness=p["completeness"], accuracy=p["accuracy"],
                                       current=p["current"]) for p in data["charts"]["trend"]["points"]]),
        "first_question": first_question_svg(data["charts"]["first_question"]),
    }


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def render_text(fmt: str, data: dict[str, Any], block: dict[str, Any], charts: dict[str, str]) -> str:
    """Markdown or HTML; the PDF is printed from the HTML."""
    env = _environment(autoescape=fmt == "html")
    integrity = markdown_block(block) if fmt == "md" else html_block(block)
    return env.get_template(f"report.{fmt}.j2").render(
        **data, block=block, integrity=integrity, svg=charts, chart_files=CHART_FILES)


def check_formats(formats: tuple[str, ...]) -> None:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown report format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")


def render_report(folder: RunFolder, summary: dict[str, Any],
                  options: ReportOptions = ReportOptions()) -> RenderedReport:
    check_formats(options.formats)
    out_dir = options.out_dir or folder.path
    out_dir.mkdir(parents=True, exist_ok=True)
    prices_file = options.prices_file or metrics_dir() / "prices.yaml"
    patterns = [p.model_dump() for p in load_redaction(options.redaction_file).patterns] if options.mask_pii else []
    snapshot = _snapshot(options.inputs, prices_file, options.mask_pii, patterns)
    write_json(out_dir / SNAPSHOT_FILE, snapshot)
    data, masked_secrets = report_data(folder, summary, options.inputs,
                                       make_redactor(folder, options.mask_pii, patterns))
    data_sha = sha256_bytes(canonical(data))
    block = {"schema": BLOCK_SCHEMA, "run_id": folder.manifest["run_id"],
             "run_folder": Path(os.path.relpath(folder.path.resolve(), out_dir.resolve())).as_posix(),
             "data_sha256": data_sha, "inputs": run_input_hashes(folder.path),
             "snapshot_sha256": sha256_path(out_dir / SNAPSHOT_FILE), "masked_secrets": masked_secrets}
    charts = render_charts(data)
    written: list[Path] = []
    formats = list(options.formats)
    if "pdf" in formats and "html" not in formats:
        formats.insert(formats.index("pdf"), "html")  # the PDF is a print of the HTML
    for fmt in formats:
        path = out_dir / f"report.{fmt}"
        if fmt == "pdf":
            from lab.report.browser import print_pdf

            print_pdf(out_dir / "report.html", path)
            stamp_pdf(path, block, f"ExoChat Lab report — {folder.suite.name} — {folder.manifest['run_id']}")
        else:
            if fmt == "md":
                for name, svg in charts.items():
                    (out_dir / CHART_FILES[name]).write_text(svg, encoding="utf-8")
                    written.append(out_dir / CHART_FILES[name])
            path.write_text(render_text(fmt, data, block, charts), encoding="utf-8")
        written.append(path)
    hashes = {"run_id": folder.manifest["run_id"], "data_sha256": data_sha,
              "files": {p.name: sha256_path(p) for p in written}}
    write_json(out_dir / HASHES_FILE, hashes)
    return RenderedReport(paths=written, data_sha256=data_sha, hashes=hashes)


def _points(value: float | None) -> str:
    return number(value, "+.1f", 100, " pts")


def _spread(value: float | None) -> str:
    return number(value, ".1f", 100, " pts")


def _interval(row: dict[str, Any]) -> str:
    if row.get("ci_low") is None:
        return "—"
    return f"[{row['ci_low'] * 100:+.1f}, {row['ci_high'] * 100:+.1f}] pts"


def _p_value(value: float | None) -> str:
    return "< 0.001" if value is not None and value < 0.001 else number(value, ".3f")


def _verdict_mark(verdict: str) -> str:
    return {"better": "**better**", "worse": "**worse**"}.get(verdict, verdict)


def render_comparison(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """compare.md for people, compare.json with every number, compare.csv with one row per
    (pair, KPI, question) for spreadsheets and dashboards."""
    from lab.records import write_json
    from lab.stats import BOOTSTRAP_SAMPLES

    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(autoescape=False)
    env.filters.update(pct=pct, pts=_points, spread=_spread, ci=_interval, p=_p_value, mark=_verdict_mark)
    labels = [s["label"] for s in result["sides"]]
    title = " vs ".join(f"`{label}`" for label in (reversed(labels) if len(labels) == 2 else labels))
    text = env.get_template("compare.md.j2").render(
        title=title, ranked=len(labels) > 2, bootstrap_samples=BOOTSTRAP_SAMPLES, **result)
    md = out_dir / "compare.md"
    md.write_text(text, encoding="utf-8")
    write_json(out_dir / "compare.json", result)
    rows = [{"a": pair["a"], "b": pair["b"], **row} for pair in result["pairwise"]
            for row in pair["overall"] + pair["questions"]]
    pd.DataFrame(rows).to_csv(out_dir / "compare.csv", index=False)
    return [md, out_dir / "compare.json", out_dir / "compare.csv"]
