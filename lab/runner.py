"""`exolab run`: every persona × repetition × prompt version of a suite, resumable.

The run folder name is derived from a hash of everything that determines the results (suite and
persona files, prompt texts, versions, scorer settings, embedding model), so the same command
after a crash finds the same folder and runs only the conversations that had not finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from lab.assistants.flow import Flow, PlaybookFlowAssistant, check_versions, flow_path, load_flow
from lab.bank import load_bank, load_gates
from lab.orchestrator import run_conversation
from lab.paths import metrics_dir
from lab.personas.offline import OfflinePersona
from lab.records import (
    TranscriptLog,
    command_line,
    git_state,
    package_versions,
    read_json,
    safe_filename,
    sha256_json,
    write_json,
)
from lab.scenarios import LoadedSuite, load_suite, sha256_file
from lab.scoring.calibration import CalibrationMissing, calibration_path, load_calibration
from lab.scoring.config import load_scorer_config
from lab.scoring.embeddings import configured_model_name, get_embedder
from lab.types import ScenarioKey, Transcript
from lab.yamlio import InputError, InputErrors, display_path

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class RunPlan:
    loaded: LoadedSuite
    flow: Flow
    flow_file: Path
    versions: list[str]
    embedding_model: str
    runs_root: Path

    @property
    def suite(self):  # type: ignore[no-untyped-def]
        return self.loaded.suite

    @cached_property
    def config(self) -> dict[str, Any]:
        """Everything that determines the results; its hash names the run folder. Computed once:
        it hashes every input file and the Lab's source."""
        return {
            "suite": self.loaded.file_hashes,
            "flow": self.flow.name,
            "prompts": {v: self.flow.prompt_sha256(v) for v in self.versions},
            "versions": self.versions,
            "embedding_model": self.embedding_model,
            "bank": sha256_file(metrics_dir() / "questions.yaml"),
            "scorers": sha256_file(metrics_dir() / "scorers.yaml"),
            "code": code_sha256(),
            "calibration": sha256_file(calibration_path(self.embedding_model))
            if calibration_path(self.embedding_model).is_file() else None,
        }

    @property
    def run_id(self) -> str:
        return f"{self.suite.name}-{sha256_json(self.config)[:10]}"

    @property
    def run_dir(self) -> Path:
        return self.runs_root / self.run_id

    def scenario_keys(self) -> list[ScenarioKey]:
        keys = []
        for version in self.versions:
            for persona in self.suite.personas:
                for rep in range(self.suite.repetitions):
                    keys.append(ScenarioKey(persona=persona, repetition=rep, version=version,
                                            seed=scenario_seed(self.suite.seed, persona, rep)))
        return keys


def code_sha256() -> str:
    """Hash of the Lab's own source: a run resumed after the code changed must not mix
    conversations produced by two different simulators or flows."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def scenario_seed(suite_seed: int, persona: str, repetition: int) -> int:
    """Same persona and repetition get the same seed in every version, so versions are paired."""
    digest = hashlib.sha256(f"{suite_seed}:{persona}:{repetition}".encode()).hexdigest()
    return int(digest[:8], 16)


def plan_run(suite_path: Path, versions: list[str] | None, embedding_model: str | None = None,
             runs_root: Path = Path("runs")) -> RunPlan:
    """Validate every input a run needs; raises `InputErrors` before anything is written."""
    load_bank()
    load_gates()
    load_scorer_config()
    loaded = load_suite(suite_path)
    ffile = flow_path(loaded.suite.assistant.flow)
    if not ffile.is_file():
        raise InputErrors([InputError(display_path(suite_path), None, "assistant.flow",
                                      f"no flow file {display_path(ffile)}")])
    flow = load_flow(ffile)
    chosen = list(versions) if versions else list(flow.versions)
    check_versions(flow, chosen, ffile)
    if len(set(chosen)) != len(chosen):
        raise InputErrors([InputError("command line", None, "--prompt-version",
                                      "a prompt version is listed twice")])
    model = embedding_model or configured_model_name()
    try:
        load_calibration(model)  # loads the model: last, after the cheap checks
    except CalibrationMissing as exc:
        raise InputErrors([InputError("command line", None, "--embedding-model", str(exc))]) from None
    return RunPlan(loaded, flow, ffile, chosen, model, runs_root)


def _manifest(plan: RunPlan) -> dict[str, Any]:
    root = plan.loaded.path.parent
    return {
        "run_id": plan.run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line(),
        "config_sha256": sha256_json(plan.config),
        "suite": {"name": plan.suite.name, "version": plan.suite.version,
                  "path": display_path(plan.loaded.path), "seed": plan.suite.seed,
                  "repetitions": plan.suite.repetitions, "max_turns": plan.suite.max_turns,
                  "required_questions": plan.suite.required_questions,
                  "files_sha256": plan.loaded.file_hashes, "root": display_path(root)},
        "assistant": {"kind": plan.suite.assistant.kind, "flow": plan.flow.name,
                      "flow_file": display_path(plan.flow_file),
                      "flow_file_sha256": sha256_file(plan.flow_file)},
        "prompt_versions": {v: {"sha256": plan.flow.prompt_sha256(v),
                                "description": plan.flow.versions[v].description}
                            for v in plan.versions},
        "code_sha256": plan.config["code"],
        "metrics_files_sha256": {name: sha256_file(metrics_dir() / name)
                                 for name in ("questions.yaml", "scorers.yaml", "gates.yaml")},
        "embedding_model": {"name": plan.embedding_model,
                            "id": get_embedder(plan.embedding_model).model_id},
        "calibration": {"file": calibration_path(plan.embedding_model).name,
                        "sha256": sha256_file(calibration_path(plan.embedding_model)),
                        "data_sha256": load_calibration(plan.embedding_model).data_sha256},
        "scenarios": [k.model_dump() for k in plan.scenario_keys()],
        "packages": package_versions(),
        "git": git_state(Path.cwd()),
    }


def run_scenario(plan: RunPlan, key: ScenarioKey) -> Transcript:
    persona = plan.loaded.personas[key.persona]
    simulator = OfflinePersona(persona, plan.loaded.phrasebooks, key.seed,
                               plan.embedding_model)
    assistant = PlaybookFlowAssistant(plan.flow, key.version, key.seed)
    return run_conversation(key, simulator, assistant, plan.suite.max_turns, persona.language)


def converse(plan: RunPlan, progress: ProgressCallback | None = None,
             scenario_runner: Callable[[RunPlan, ScenarioKey], Transcript] = run_scenario) -> Path:
    """Run every conversation not yet in the run folder. Returns the run folder."""
    run_dir = plan.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = run_dir / "manifest.json"
    if manifest_path.exists():
        stored = read_json(manifest_path)
        if stored.get("config_sha256") != sha256_json(plan.config):
            raise InputErrors([InputError(display_path(manifest_path), None, "config_sha256",
                                          "run folder belongs to a different configuration")])
    else:
        write_json(run_dir / "inputs.json", {
            "suite": plan.suite.model_dump(mode="json"),
            "personas": {pid: p.model_dump(mode="json") for pid, p in plan.loaded.personas.items()},
        })
        write_json(manifest_path, _manifest(plan))
    log = TranscriptLog(run_dir / "transcripts.jsonl")
    done = log.done_ids()
    keys = plan.scenario_keys()
    finished = sum(k.id in done for k in keys)
    if progress:
        progress("conversations", finished, len(keys))
    for key in keys:
        if key.id in done:
            continue
        transcript = scenario_runner(plan, key)
        if transcript.error:
            errors = run_dir / "errors"
            errors.mkdir(exist_ok=True)
            (errors / f"{safe_filename(key.id)}.txt").write_text(transcript.error, encoding="utf-8")
        log.append(transcript)
        finished += 1
        if progress:
            progress("conversations", finished, len(keys))
    return run_dir
