"""Readable reports of a run folder: Markdown and a self-contained HTML file.

One context builder feeds every template, so a new section (charts, adherence checks, PDF) is a
template change plus, at most, one more key in the context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from lab.adherence import CHECK_DESCRIPTIONS, CHECKS
from lab.bank import load_bank
from lab.paths import templates_dir
from lab.results import RunFolder
from lab.scoring import asked_matches_many
from lab.textfmt import number
from lab.usage import usage_table

FORMATS = ("md", "html")


def _pct(value: float | None) -> str:
    return number(value, ".0f", 100, "%")


def _delta(value: float | None, base: float | None) -> str:
    if value is None or base is None:
        return ""
    d = (value - base) * 100
    return "±0" if abs(d) < 0.5 else f"{d:+.0f}"


def _turn(value: object) -> int | str:
    return "" if pd.isna(value) else int(value)  # type: ignore[call-overload]


def anchor(scenario: str) -> str:
    return "t-" + scenario.replace("/", "-")


def build_context(folder: RunFolder, summary: dict[str, Any], worst: int = 10) -> dict[str, Any]:
    bank = load_bank()
    versions: list[str] = summary["versions"]
    kpis = summary["kpis"]
    baseline = summary["baseline_version"]
    questions = []
    for qid in folder.suite.required_questions:
        cells = []
        for v in versions:
            comp, acc = kpis[v].get(f"completeness.{qid}"), kpis[v].get(f"accuracy.{qid}")
            cells.append({
                "version": v, "completeness": _pct(comp), "accuracy": _pct(acc),
                "completeness_delta": _delta(comp, kpis[baseline].get(f"completeness.{qid}"))
                if v != baseline else "",
                "accuracy_delta": _delta(acc, kpis[baseline].get(f"accuracy.{qid}")) if v != baseline else "",
            })
        questions.append({"id": qid, "stage": bank.get(qid).stage, "cells": cells})
    transcripts = {t.key.id: t for t in folder.transcripts()}
    scores = folder.scores()
    worst_rows = summary["worst_scenarios"][:worst]
    appendix = []
    for row in worst_rows:
        transcript = transcripts[row["scenario"]]
        persona = folder.personas[transcript.key.persona]
        verdicts = scores[scores["scenario"] == row["scenario"]]
        found = asked_matches_many([t.content for t in transcript.turns], [t.role for t in transcript.turns],
                                   folder.manifest["embedding_model"]["name"])
        turns = [{
            "index": t.index, "role": t.role, "content": t.content, "stage": t.stage or "",
            "asked": ", ".join(m.question_id for m in matches),
            "disclosed": ", ".join(t.disclosed), "evaded": ", ".join(t.evaded),
        } for t, matches in zip(transcript.turns, found, strict=True)]
        appendix.append({
            "scenario": row["scenario"], "anchor": anchor(row["scenario"]), "persona": persona,
            "termination": transcript.termination, "error": transcript.error, "turns": turns,
            "verdicts": [{
                "question_id": v["question_id"], "asked_turn": _turn(v["asked_turn"]),
                "answered": bool(v["answered"]), "answer_turn": _turn(v["answer_turn"]),
                "truth": persona.facts[v["question_id"]].truth, "captured": v["captured"] or "",
                "faithful": "" if pd.isna(v["faithful"]) else ("yes" if v["faithful"] else "no"),
                "probability": "" if pd.isna(v["capture_probability"]) else f"{v['capture_probability']:.2f}",
                "reasons": "" if pd.isna(v["reasons"]) else v["reasons"],
            } for _, v in verdicts.iterrows()],
        })
    in_appendix = {a["scenario"] for a in appendix}
    rates = summary.get("adherence", {})
    judge = summary.get("judge") or {}
    judged_metrics = sorted({m for scores in judge.get("scores", {}).values() for m in scores})
    return {
        "usage": usage_table(summary.get("usage") or {}),
        "guard_flags": [{**f, "anchor": anchor(f["scenario"]) if f["scenario"] in in_appendix else None}
                        for f in (summary.get("persona_guard") or {}).get("flags", [])],
        "judged": {**judge, "rows": [{"metric": m, "cells": [number(judge["scores"].get(v, {}).get(m), ".2f")
                                                         for v in versions]} for m in judged_metrics]}
        if judge else None,
        "adherence": [{"check": check, "description": CHECK_DESCRIPTIONS[check],
                       "cells": ["n/a" if (rate := rates.get(v, {}).get(check)) is None else _pct(rate)
                                 for v in versions]} for check in CHECKS],
        "violations": [{**row, "anchor": anchor(row["scenario"]) if row["scenario"] in in_appendix else None}
                       for row in summary.get("adherence_violations", [])],
        "summary": summary, "manifest": folder.manifest, "suite": folder.suite,
        "versions": versions, "baseline": baseline,
        "headline": [{
            "version": v, "description": folder.manifest["prompt_versions"][v]["description"],
            "sha": folder.manifest["prompt_versions"][v]["sha256"][:12],
            "completeness": _pct(kpis[v]["completeness"]), "accuracy": _pct(kpis[v]["accuracy"]),
            "scenarios": int(kpis[v]["scenarios"]), "errored": int(kpis[v]["errored_scenarios"]),
            "mean_turns": summary["mean_turns"][v],
            "gates_passed": sum(g["passed"] for g in summary["gates"][v]),
            "gates_total": len(summary["gates"][v]),
        } for v in versions],
        "questions": questions,
        "gates": {v: [{**g, "value_text": number(g["value"], ".2f")}
                      for g in summary["gates"][v]] for v in versions},
        "personas": [{"id": pid, "language": p.language, "segment": p.segment,
                      "strategy": p.strategy, "next_step": " or ".join(p.next_step),
                      "behaviours": ", ".join(sorted(p.behaviours())),
                      "cells": [{"completeness": _pct(summary["per_persona"].get(v, {}).get(pid, {})
                                                      .get("completeness")),
                                 "accuracy": _pct(summary["per_persona"].get(v, {}).get(pid, {})
                                                  .get("accuracy"))} for v in versions]}
                     for pid, p in folder.personas.items()],
        "worst": [{**r, "anchor": anchor(r["scenario"]), "completeness": _pct(r["completeness"]),
                   "accuracy": _pct(None if pd.isna(r["accuracy"]) else r["accuracy"])}
                  for r in worst_rows],
        "appendix": appendix,
    }


def render_report(folder: RunFolder, summary: dict[str, Any], formats: tuple[str, ...] = FORMATS,
                  out_dir: Path | None = None) -> list[Path]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    context = build_context(folder, summary)
    out_dir = out_dir or folder.path
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()),
                                 autoescape=fmt == "html", undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        text = env.get_template(f"report.{fmt}.j2").render(**context)
        path = out_dir / f"report.{fmt}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


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
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(pct=_pct, pts=_points, spread=_spread, ci=_interval, p=_p_value, mark=_verdict_mark)
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
