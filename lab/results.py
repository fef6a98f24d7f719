"""Scores and summary of a run folder, computed from its saved transcripts and inputs only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

import pandas as pd

from lab.adherence import AdherenceResult, check_transcript
from lab.bank import load_gates
from lab.evaluate import detect_questions, score_transcript
from lab.judge import judge_frame, judge_summary
from lab.kpis import apply_gates, persona_kpis, scenario_table, scores_frame, version_kpis
from lab.paths import metrics_dir
from lab.records import TranscriptLog, read_json, write_json
from lab.scenarios import Persona, Suite, sha256_file
from lab.types import QuestionScore, ScenarioKey, Transcript
from lab.usage import load_prices, priced_calls, usage_frame, usage_summary


class RunFolder:
    """Read access to a run folder, with a clear error when it is not one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not (self.path / "manifest.json").is_file():
            raise FileNotFoundError(f"{self.path}: not a run folder (no manifest.json)")
        self.manifest: dict[str, Any] = read_json(self.path / "manifest.json")
        inputs = read_json(self.path / "inputs.json")
        self.suite = Suite.model_validate(inputs["suite"])
        self.personas = {pid: Persona.model_validate(p) for pid, p in inputs["personas"].items()}

    @property
    def versions(self) -> list[str]:
        return list(self.manifest["prompt_versions"])

    def transcripts(self) -> list[Transcript]:
        """In the manifest's scenario order, however concurrently they finished."""
        order = {ScenarioKey.model_validate(k).id: i for i, k in enumerate(self.manifest["scenarios"])}
        return sorted(TranscriptLog(self.path / "transcripts.jsonl"), key=lambda t: order.get(t.key.id, len(order)))

    def scores(self) -> pd.DataFrame:
        return read_scores_csv(self.path / "scores.csv")

    def usage(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "usage.csv", dtype={"models": "string"})

    def adherence(self) -> pd.DataFrame:
        frame = pd.read_csv(self.path / "adherence.csv", dtype={"turns": "string", "detail": "string"})
        frame["passed"] = frame["passed"].astype("boolean")
        return frame.fillna({"turns": "", "detail": ""})


def read_scores_csv(path: Path | IO[str]) -> pd.DataFrame:
    """scores.csv as written by a run (also the per-version artefact in MLflow)."""
    frame = pd.read_csv(path, keep_default_na=True)
    frame["faithful"] = frame["faithful"].astype("boolean")
    frame["captured"] = frame["captured"].astype("object").where(frame["captured"].notna(), None)
    return frame


def score_run(folder: RunFolder) -> tuple[list[QuestionScore], list[AdherenceResult]]:
    """Per-question verdicts and playbook-adherence checks of every transcript in the folder."""
    model = folder.manifest["embedding_model"]["name"]
    rows: list[QuestionScore] = []
    checks: list[AdherenceResult] = []
    for transcript in folder.transcripts():
        persona = folder.personas[transcript.key.persona]
        matches = detect_questions(transcript, model)
        rows.extend(score_transcript(transcript, persona, folder.suite.required_questions, model, matches))
        checks.extend(check_transcript(transcript, persona, matches, model))
    return rows, checks


def adherence_frame(checks: list[AdherenceResult]) -> pd.DataFrame:
    frame = pd.DataFrame([c.model_dump() for c in checks],
                         columns=list(AdherenceResult.model_fields))
    frame["turns"] = frame["turns"].map(lambda turns: ";".join(str(t) for t in turns))
    frame["passed"] = frame["passed"].astype("boolean")
    return frame


def adherence_rates(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """version → check → share of the scenarios it applies to that passed (None: never applied)."""
    out: dict[str, dict[str, float | None]] = {}
    for version, group in frame.groupby("version", sort=False):
        rates: dict[str, float | None] = {}
        for check, rows in group.groupby("check", sort=False):
            applied = rows["passed"].dropna()
            rates[str(check)] = None if applied.empty else round(float(applied.astype(float).mean()), 4)
        out[str(version)] = rates
    return out


def adherence_violations(frame: pd.DataFrame, limit: int = 40) -> list[dict[str, Any]]:
    failed = frame[frame["passed"].fillna(True) == False]  # noqa: E712 — nullable booleans
    return failed.head(limit).to_dict("records")


def persona_guard(transcripts: list[Transcript], versions: list[str], limit: int = 40) -> dict[str, Any]:
    """What the fact-sheet guard flagged on LLM-persona turns: counts per version and kind, and the
    flagged turns (a conversation spoiled by the simulator is not the assistant's failure)."""
    flagged = [(t, turn, flag) for t in transcripts for turn in t.turns for flag in turn.flags]
    per_version = {}
    for v in versions:
        mine = [(t, turn, flag) for t, turn, flag in flagged if t.key.version == v]
        per_version[v] = {"flagged_turns": len({(t.key.id, turn.index) for t, turn, _ in mine}),
                          "flagged_conversations": len({t.key.id for t, _, _ in mine}),
                          "by_kind": dict(Counter(flag.split(":")[0] for _, _, flag in mine))}
    return {"versions": per_version,
            "flags": [{"scenario": t.key.id, "turn": turn.index, "flag": flag} for t, turn, flag in flagged[:limit]]}


def summarise(folder: RunFolder, scores: list[QuestionScore], adherence: pd.DataFrame) -> dict[str, Any]:
    """`adherence`: the `adherence_frame` of the run's checks."""
    frame = scores_frame(scores)
    transcripts = folder.transcripts()
    versions = [v for v in folder.versions if not frame.empty and v in set(frame["version"])]
    gates = load_gates()
    kpis = {v: version_kpis(frame[frame["version"] == v]) for v in versions}
    baseline = versions[0] if versions else None
    expected = len(folder.manifest["scenarios"])
    return {
        "run_id": folder.manifest["run_id"],
        "suite": folder.suite.name,
        "versions": versions,
        "baseline_version": baseline,
        "complete": len(transcripts) == expected,
        "scenarios_expected": expected,
        "scenarios_finished": len(transcripts),
        "kpis": kpis,
        "per_persona": persona_kpis(frame) if not frame.empty else {},
        "gates": {v: apply_gates(kpis[v], gates, kpis[baseline] if baseline and v != baseline else None)
                  for v in versions},
        "terminations": {v: dict(Counter(t.termination for t in transcripts if t.key.version == v))
                         for v in versions},
        "worst_scenarios": scenario_table(frame).head(10).to_dict("records") if not frame.empty else [],
        "adherence": adherence_rates(adherence),
        "adherence_violations": adherence_violations(adherence),
        "judge": judge_summary(judge_frame(folder)),
        "persona_guard": persona_guard(transcripts, versions),
        "mean_turns": {v: round(sum(len(t.turns) for t in transcripts if t.key.version == v)
                                / max(1, sum(t.key.version == v for t in transcripts)), 2)
                       for v in versions},
    }


def write_usage(folder: RunFolder, prices_path: Path | None = None) -> dict[str, Any]:
    """usage.csv (per scenario and role) and the usage summary, priced by `prices_path` (default
    metrics/prices.yaml), whose hash is kept with the figures."""
    path = prices_path or metrics_dir() / "prices.yaml"
    prices = load_prices(path)
    calls, unknown_cost = priced_calls(folder, prices)
    usage_frame(calls).to_csv(folder.path / "usage.csv", index=False)
    return {**usage_summary(calls, prices, unknown_cost), "prices_sha256": sha256_file(path)}


def write_results(folder: RunFolder, prices_path: Path | None = None) -> dict[str, Any]:
    """Scores, adherence checks, usage and the summary, all recomputed from the saved run."""
    scores, checks = score_run(folder)
    frame = scores_frame(scores)
    frame.to_csv(folder.path / "scores.csv", index=False)
    frame.to_parquet(folder.path / "scores.parquet", index=False)
    adherence = adherence_frame(checks)
    adherence.to_csv(folder.path / "adherence.csv", index=False)
    summary = summarise(folder, scores, adherence)
    summary["usage"] = write_usage(folder, prices_path)
    write_json(folder.path / "summary.json", summary)
    return summary
