"""Everything a report shows, as plain JSON-able data computed from a run folder.

One builder feeds every format (Markdown, HTML, PDF), and its canonical JSON is what the report's
SHA-256 covers: `exolab verify` rebuilds this data from the run folder and compares hashes, so no
number may come from anywhere but the run folder and the snapshot in report-inputs.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lab.adherence import CHECK_DESCRIPTIONS, CHECKS
from lab.bank import load_bank
from lab.compare import Side, pairwise
from lab.kpis import scenario_table
from lab.results import RunFolder
from lab.scoring import asked_matches_many
from lab.sides import from_run_folder
from lab.stats import ALPHA, BOOTSTRAP_SAMPLES, cluster_bootstrap_ci
from lab.textfmt import number
from lab.types import Transcript
from lab.usage import usage_table

MARKS = {"better": "▲", "worse": "▼"}


@dataclass(frozen=True)
class ReportInputs:
    """What a report reads besides the run folder, kept as a snapshot so that it can be verified:
    the baseline it compares with (another run's scores) and the nightly history from MLflow."""

    baseline: Side | None = None
    history: dict[str, Any] = field(default_factory=lambda: {"source": None, "points": [], "note": None})


def pct(value: float | None) -> str:
    return number(value, ".0f", 100, "%")


def _delta(value: float | None, base: float | None) -> str:
    if value is None or base is None:
        return ""
    d = (value - base) * 100
    return "±0" if abs(d) < 0.5 else f"{d:+.0f}"


def _turn(value: object) -> int | None:
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def anchor(scenario: str) -> str:
    return "t-" + scenario.replace("/", "-")


def _interval(values: pd.Series, clusters: pd.Series, seed: int) -> str:
    ci = cluster_bootstrap_ci(values.astype(float).to_numpy(), clusters.to_numpy(), seed=seed)
    if np.isnan(ci.low):
        return ""
    return f"{ci.low * 100:.0f}–{ci.high * 100:.0f}%"


def _headline_intervals(scores: pd.DataFrame, seed: int) -> dict[str, str]:
    """95 % intervals of completeness and accuracy, resampling whole scenarios."""
    ok = scores[~scores["errored"].astype(bool)]
    answered = ok[ok["answered"].astype(bool)]
    return {"completeness": _interval(ok["complete"], ok["scenario"], seed),
            "accuracy": _interval(answered["faithful"].astype("boolean").fillna(False), answered["scenario"], seed)}


def _sides(folder: RunFolder, inputs: ReportInputs) -> tuple[Side, list[Side]]:
    """The baseline side and the sides compared with it: an external baseline against every version
    of the run, or else the run's first version against the others."""
    own = from_run_folder(folder.path)
    if inputs.baseline is not None:
        return inputs.baseline, own
    return own[0], own[1:]


def _question_table(folder: RunFolder, kpis: dict[str, Any], versions: list[str], baseline: Side,
                    compared: list[Side], external: bool, seed: int) -> list[dict[str, Any]]:
    bank = load_bank()
    qids = folder.suite.required_questions
    rows = {s.version: {(r["kpi"], r["question_id"]): r for r in pairwise(baseline, s, qids, seed)["questions"]}
            for s in compared}
    # an external baseline's own values: the "a" side of its comparison with the first version
    first = next(iter(rows.values()), {})
    base_kpis = {qid: {kpi: pct(first[(kpi, qid)]["a"]) for kpi in ("completeness", "accuracy")}
                 for qid in qids} if external and first else {}
    table = []
    for qid in qids:
        cells = []
        for v in versions:
            cell: dict[str, Any] = {"version": v}
            for kpi in ("completeness", "accuracy"):
                value = kpis[v].get(f"{kpi}.{qid}")
                row = rows.get(v, {}).get((kpi, qid))
                cell[kpi] = pct(value)
                cell[f"{kpi}_delta"] = _delta(row["b"], row["a"]) if row else ""
                cell[f"{kpi}_mark"] = MARKS.get(row["verdict"], "") if row else ""
                cell[f"{kpi}_p"] = number(row.get("mcnemar_p"), ".3f") if row else ""
            cells.append(cell)
        table.append({"id": qid, "stage": bank.get(qid).stage, "anchor": f"q-{qid}",
                      "baseline": base_kpis.get(qid), "cells": cells})
    return table


def _assistant_turn_number(transcript: Transcript, index: int) -> int:
    return sum(1 for t in transcript.turns if t.role == "assistant" and t.index <= index)


def _first_question_turns(scores: pd.DataFrame, transcripts: dict[str, Transcript],
                          versions: list[str]) -> dict[str, list[int | None]]:
    """Per version, the assistant turn of each scenario's first discovery question (None: never)."""
    out: dict[str, list[int | None]] = {v: [] for v in versions}
    for scenario, rows in scores.groupby("scenario", sort=False):
        version = str(rows["version"].iloc[0])
        if version not in out or bool(rows["errored"].astype(bool).any()):
            continue
        first = rows["asked_turn"].dropna()
        out[version].append(None if first.empty
                            else _assistant_turn_number(transcripts[str(scenario)], int(first.min())))
    return out


def _verdicts(rows: pd.DataFrame, facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{
        "question_id": v["question_id"], "asked_turn": _turn(v["asked_turn"]),
        "answered": bool(v["answered"]), "answer_turn": _turn(v["answer_turn"]),
        "complete": bool(v["complete"]),
        "truth": facts[v["question_id"]].truth if v["question_id"] in facts else "",
        "captured": v["captured"] or "",
        "faithful": "" if pd.isna(v["faithful"]) else ("yes" if v["faithful"] else "no"),
        "probability": "" if pd.isna(v["capture_probability"]) else f"{v['capture_probability']:.2f}",
        "reasons": "" if pd.isna(v["reasons"]) else str(v["reasons"]),
    } for _, v in rows.iterrows()]


def _evidence(qids: list[str], appendix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question, every scenario that lost it a point, with links to the turns that show why."""
    out = []
    for qid in qids:
        misses = []
        for a in appendix:
            for v in a["verdicts"]:
                if v["question_id"] != qid or a["errored"]:
                    continue
                if not v["asked_turn"]:
                    kind = "never asked"
                elif not v["answered"]:
                    kind = "asked, answer not elicited"
                elif v["faithful"] != "yes":
                    kind = "captured value not faithful"
                else:
                    continue
                misses.append({"scenario": a["scenario"], "version": a["version"], "anchor": a["anchor"],
                               "kind": kind, **v})
        out.append({"id": qid, "anchor": f"q-{qid}", "misses": misses})
    return out


def _appendix(folder: RunFolder, scores: pd.DataFrame, transcripts: dict[str, Transcript]) -> list[dict[str, Any]]:
    """Every conversation, worst first, each turn with an anchor and what the scorers saw in it."""
    order = scenario_table(scores)
    out = []
    for _, row in order.iterrows():
        transcript = transcripts[row["scenario"]]
        persona = folder.personas[transcript.key.persona]
        found = asked_matches_many([t.content for t in transcript.turns], [t.role for t in transcript.turns],
                                   folder.manifest["embedding_model"]["name"])
        out.append({
            "scenario": row["scenario"], "version": transcript.key.version, "anchor": anchor(row["scenario"]),
            "persona": {"id": persona.id, "language": persona.language, "employees": persona.company.employees,
                        "segment": persona.segment},
            "completeness": pct(row["completeness"]),
            "accuracy": pct(None if pd.isna(row["accuracy"]) else row["accuracy"]),
            "errored": bool(row["errored"]),
            "termination": transcript.termination, "error": transcript.error or "",
            "turns": [{"index": t.index, "role": t.role, "content": t.content, "stage": t.stage or "",
                       "asked": ", ".join(m.question_id for m in matches), "disclosed": ", ".join(t.disclosed),
                       "evaded": ", ".join(t.evaded), "flags": ", ".join(t.flags)}
                      for t, matches in zip(transcript.turns, found, strict=True)],
            "verdicts": _verdicts(scores[scores["scenario"] == row["scenario"]], persona.facts),
        })
    return out


def _manifest(folder: RunFolder) -> dict[str, Any]:
    m = folder.manifest
    suite_files = m["suite"]["files_sha256"]
    return {
        "command": m.get("command", ""), "config_sha256": m.get("config_sha256", ""),
        "code_sha256": m.get("code_sha256", ""), "git": m["git"], "packages": m.get("packages", {}),
        "suite_files": [{"file": f, "sha256": h} for f, h in sorted(suite_files.items())],
        "prompts": [{"version": v, "sha256": p["sha256"], "uri": p.get("uri") or ""}
                    for v, p in m["prompt_versions"].items()],
        "assistant": m["assistant"], "embedding_model": m["embedding_model"],
        "calibration": m.get("calibration", {}),
        "metrics_files": [{"file": f, "sha256": h} for f, h in sorted(m.get("metrics_files_sha256", {}).items())],
        "seeds": {"suite": folder.suite.seed, "repetitions": folder.suite.repetitions,
                  "bootstrap": folder.suite.seed, "bootstrap_samples": BOOTSTRAP_SAMPLES},
    }


def _trend(history: dict[str, Any], summary: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The nightly history plus this run's versions, oldest first; this run marked."""
    points = [{**p, "label": f"{p['run_id']}@{p['version']}", "current": False}
              for p in history["points"] if p["run_id"] != run_id]
    for v in summary["versions"]:
        points.append({"run_id": run_id, "version": v, "label": f"{run_id}@{v}", "current": True,
                       "completeness": summary["kpis"][v]["completeness"],
                       "accuracy": summary["kpis"][v]["accuracy"], "verdict": None})
    return {**history, "points": points}


def build_context(folder: RunFolder, summary: dict[str, Any], inputs: ReportInputs = ReportInputs(),
                  worst: int = 10) -> dict[str, Any]:
    versions: list[str] = summary["versions"]
    kpis = summary["kpis"]
    seed = folder.suite.seed
    scores = folder.scores()
    transcripts = {t.key.id: t for t in folder.transcripts()}
    baseline, compared = _sides(folder, inputs)
    external = inputs.baseline is not None
    appendix = _appendix(folder, scores, transcripts)
    anchored = {a["scenario"] for a in appendix}
    rates = summary.get("adherence", {})
    judge = summary.get("judge") or {}
    judged_metrics = sorted({m for scores_ in judge.get("scores", {}).values() for m in scores_})
    manifest = folder.manifest
    qids = folder.suite.required_questions

    def link(scenario: str) -> str | None:
        return anchor(scenario) if scenario in anchored else None

    return {
        "run": {"run_id": manifest["run_id"], "created_at": manifest["created_at"],
                "date": manifest["created_at"][:10], "suite": folder.suite.name,
                "suite_version": folder.suite.version, "seed": seed,
                "repetitions": folder.suite.repetitions, "max_turns": folder.suite.max_turns,
                "assistant": f"{manifest['assistant']['kind']}:{manifest['assistant']['flow']}",
                "embedding_model": manifest["embedding_model"]["id"],
                "complete": summary["complete"], "finished": summary["scenarios_finished"],
                "expected": summary["scenarios_expected"], "git": manifest["git"]},
        "versions": versions,
        "baseline": {"label": baseline.label, "external": external, "origin": baseline.origin},
        "alpha": ALPHA,
        "cover": [{
            "version": v, "description": manifest["prompt_versions"][v]["description"],
            "sha": manifest["prompt_versions"][v]["sha256"][:12],
            "completeness": pct(kpis[v]["completeness"]), "accuracy": pct(kpis[v]["accuracy"]),
            **{f"{k}_ci": ci for k, ci in _headline_intervals(scores[scores["version"] == v], seed).items()},
            "scenarios": int(kpis[v]["scenarios"]), "errored": int(kpis[v]["errored_scenarios"]),
            "mean_turns": summary["mean_turns"][v],
            "gates": [{"gate": g["gate"], "metric": g["metric"], "threshold": g["threshold"],
                       "value": number(g["value"], ".2f"), "passed": bool(g["passed"])}
                      for g in summary["gates"][v]],
            "passed": all(g["passed"] for g in summary["gates"][v]),
        } for v in versions],
        "questions": _question_table(folder, kpis, versions, baseline, compared, external, seed),
        "evidence": _evidence(qids, appendix),
        "charts": {
            "heatmap": {kpi: {qid: {v: kpis[v].get(f"{kpi}.{qid}") for v in versions} for qid in qids}
                        for kpi in ("completeness", "accuracy")},
            "first_question": _first_question_turns(scores, transcripts, versions),
            "trend": _trend(inputs.history, summary, manifest["run_id"]),
        },
        "adherence": [{"check": check, "description": CHECK_DESCRIPTIONS[check],
                       "cells": ["n/a" if (rate := rates.get(v, {}).get(check)) is None else pct(rate)
                                 for v in versions]} for check in CHECKS],
        "violations": [{**row, "anchor": link(row["scenario"]),
                        "turn_list": [int(t) for t in str(row["turns"]).split(";") if t.strip().isdigit()]}
                       for row in summary.get("adherence_violations", [])],
        "judged": {**judge, "rows": [{"metric": m, "cells": [number(judge["scores"].get(v, {}).get(m), ".2f")
                                                             for v in versions]} for m in judged_metrics]}
        if judge else None,
        "guard_flags": [{**f, "anchor": link(f["scenario"])}
                        for f in (summary.get("persona_guard") or {}).get("flags", [])],
        "usage": usage_table(summary.get("usage") or {}),
        "personas": [{"id": pid, "language": p.language, "segment": p.segment, "strategy": p.strategy,
                      "next_step": " or ".join(p.next_step), "behaviours": ", ".join(sorted(p.behaviours())),
                      "cells": [{kpi: pct(summary["per_persona"].get(v, {}).get(pid, {}).get(kpi))
                                 for kpi in ("completeness", "accuracy")} for v in versions]}
                     for pid, p in folder.personas.items()],
        "worst": [{k: a[k] for k in ("scenario", "anchor", "completeness", "accuracy", "errored")}
                  | {"asked": sum(bool(v["asked_turn"]) for v in a["verdicts"]),
                     "answered": sum(v["answered"] for v in a["verdicts"])} for a in appendix[:worst]],
        "appendix": appendix,
        "manifest": _manifest(folder),
        "usage_prices_sha256": (summary.get("usage") or {}).get("prices_sha256", ""),
    }
