"""Scores and summary of a run folder, computed from its saved transcripts and inputs only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from lab.bank import load_gates
from lab.evaluate import score_transcript
from lab.kpis import apply_gates, persona_kpis, scenario_table, scores_frame, version_kpis
from lab.records import TranscriptLog, read_json, write_json
from lab.scenarios import Persona, Suite
from lab.types import QuestionScore, Transcript


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
        return list(TranscriptLog(self.path / "transcripts.jsonl"))

    def scores(self) -> pd.DataFrame:
        return read_scores_csv(self.path / "scores.csv")


def read_scores_csv(path: Path) -> pd.DataFrame:
    """scores.csv as written by a run (also the per-version artefact in MLflow)."""
    frame = pd.read_csv(path, keep_default_na=True)
    frame["faithful"] = frame["faithful"].astype("boolean")
    frame["captured"] = frame["captured"].astype("object").where(frame["captured"].notna(), None)
    return frame


def score_run(folder: RunFolder) -> list[QuestionScore]:
    model = folder.manifest["embedding_model"]["name"]
    rows: list[QuestionScore] = []
    for transcript in folder.transcripts():
        persona = folder.personas[transcript.key.persona]
        rows.extend(score_transcript(transcript, persona, folder.suite.required_questions, model))
    return rows


def summarise(folder: RunFolder, scores: list[QuestionScore]) -> dict[str, Any]:
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
        "mean_turns": {v: round(sum(len(t.turns) for t in transcripts if t.key.version == v)
                                / max(1, sum(t.key.version == v for t in transcripts)), 2)
                       for v in versions},
    }


def write_results(folder: RunFolder) -> dict[str, Any]:
    scores = score_run(folder)
    frame = scores_frame(scores)
    frame.to_csv(folder.path / "scores.csv", index=False)
    frame.to_parquet(folder.path / "scores.parquet", index=False)
    summary = summarise(folder, scores)
    write_json(folder.path / "summary.json", summary)
    return summary
