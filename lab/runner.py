"""`exolab run`: every persona × repetition × prompt version of a suite, resumable.

The run folder name is derived from a hash of everything that determines the results (suite and
persona files, prompt texts, versions, scorer settings, embedding model), so the same command
after a crash finds the same folder and runs only the conversations that had not finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from lab.assistants import Assistant
from lab.assistants.flow import Flow, PlaybookFlowAssistant, check_versions, flow_path, load_flow
from lab.assistants.openai_chat import OpenAIChatAssistant
from lab.assistants.python_callable import PythonCallableAssistant, TargetNotFound, load_target, target_sha256
from lab.assistants.resilience import CircuitBreaker
from lab.assistants.webhook import WebhookAssistant
from lab.bank import load_bank, load_gates
from lab.orchestrator import converse as converse_one
from lab.paths import metrics_dir
from lab.personas import PersonaSimulator
from lab.personas.guard import FactSheetGuard
from lab.personas.llm import LLMPersona, persona_prompt
from lab.personas.offline import OfflinePersona
from lab.prompts import load_registered_prompt
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
from lab.scenarios import (
    AssistantSpec,
    BuiltinAssistantSpec,
    LLMSimulatorSpec,
    LoadedSuite,
    OfflineSimulatorSpec,
    OpenAIAssistantSpec,
    PythonAssistantSpec,
    WebhookAssistantSpec,
    load_part_file,
    load_suite,
    sha256_file,
)
from lab.scoring.calibration import calibration_path, load_calibration
from lab.scoring.config import load_scorer_config
from lab.scoring.detector import get_detector
from lab.scoring.embeddings import configured_model_name, get_embedder
from lab.types import ScenarioKey, Transcript
from lab.yamlio import InputError, InputErrors, display_path

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PromptVersion:
    """The text a version runs with and where it came from (flow file or prompt registry)."""

    text: str
    sha256: str
    description: str
    uri: str | None = None


@dataclass
class Session:
    """What the conversations of one run share while it runs: the API client and circuit breaker."""

    client: Any = None
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    persona_client: Any = None  # an LLM persona's endpoint, with its own breaker
    persona_breaker: CircuitBreaker = field(default_factory=CircuitBreaker)

    async def close(self) -> None:
        for client in (self.client, self.persona_client):
            if client is not None:  # httpx's AsyncClient closes with aclose(), openai's with close()
                await (client.aclose() if hasattr(client, "aclose") else client.close())


@dataclass
class RunPlan:
    loaded: LoadedSuite
    flow: Flow | None
    flow_file: Path | None
    versions: list[str]
    embedding_model: str
    runs_root: Path
    prompts: dict[str, PromptVersion] = field(default_factory=dict)
    assistant_id: str = ""
    function: Callable[..., Any] | None = None  # a Python assistant, imported once while planning
    session: Session | None = None

    @property
    def suite(self):  # type: ignore[no-untyped-def]
        return self.loaded.suite

    @property
    def assistant(self) -> AssistantSpec:
        return self.loaded.suite.assistant  # type: ignore[no-any-return]

    @cached_property
    def config(self) -> dict[str, Any]:
        """Everything that determines the results; its hash names the run folder. Computed once:
        it hashes every input file and the Lab's source."""
        return {
            "suite": self.loaded.file_hashes,
            "flow": self.assistant_id,
            "assistant": self.assistant.model_dump(mode="json"),
            "simulator": self.suite.simulator.model_dump(mode="json"),
            "prompts": {v: self.prompts[v].sha256 for v in self.versions},
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
             runs_root: Path = Path("runs"), assistant_file: Path | None = None,
             tracking_uri: str | None = None, simulator_file: Path | None = None) -> RunPlan:
    """Validate every input a run needs; raises `InputErrors` before anything is written.
    `assistant_file` replaces the suite's assistant (`--assistant`); `tracking_uri` is where the
    prompt registry of an OpenAI-compatible assistant lives."""
    load_bank()
    load_gates()
    load_scorer_config()
    loaded = load_suite(suite_path)
    if assistant_file is not None:
        loaded = loaded.with_part("assistant", load_part_file(assistant_file, "assistant"))
    if simulator_file is not None:
        loaded = loaded.with_part("simulator", load_part_file(simulator_file, "simulator"))
    if versions and len(set(versions)) != len(versions):
        raise InputErrors([InputError("command line", None, "--prompt-version",
                                      "a prompt version is listed twice")])
    spec = loaded.suite.assistant
    source = display_path(assistant_file or suite_path)
    flow: Flow | None = None
    ffile: Path | None = None
    function: Callable[..., Any] | None = None
    if isinstance(spec, BuiltinAssistantSpec):
        ffile = flow_path(spec.flow)
        if not ffile.is_file():
            raise InputErrors([InputError(source, None, "assistant.flow", f"no flow file {display_path(ffile)}")])
        flow = load_flow(ffile)
        chosen = list(versions) if versions else list(flow.versions)
        check_versions(flow, chosen, ffile)
        prompts = {v: PromptVersion(flow.prompt_text(v), flow.prompt_sha256(v), flow.versions[v].description)
                   for v in chosen}
        assistant_id = flow.name
    elif isinstance(spec, WebhookAssistantSpec):
        if versions:
            raise InputErrors([InputError("command line", None, "--prompt-version",
                                          "a webhook assistant has no prompt versions")])
        chosen = ["current"]
        config = sha256_json(spec.model_dump(mode="json"))
        prompts = {"current": PromptVersion(spec.public_url, config, f"webhook:{spec.public_url}")}
        assistant_id = f"webhook:{spec.public_url}"
    elif isinstance(spec, PythonAssistantSpec):
        if versions:
            raise InputErrors([InputError("command line", None, "--prompt-version",
                                          "a Python assistant has no prompt versions")])
        try:
            function = load_target(spec.target, [suite_path.resolve().parent.parent, Path.cwd()])
        except TargetNotFound as exc:
            raise InputErrors([InputError(source, None, "assistant.target", str(exc))]) from None
        chosen = ["current"]
        prompts = {"current": PromptVersion(spec.target, target_sha256(function), f"python:{spec.target}")}
        assistant_id = f"python:{spec.target}"
    else:
        chosen = list(versions) if versions else list(spec.versions)
        prompts = {}
        for ref in chosen:
            try:
                text, uri, description = load_registered_prompt(spec.prompt, ref, tracking_uri)
            except LookupError as exc:
                raise InputErrors([InputError("command line" if versions else source, None,
                                              "--prompt-version" if versions else "assistant.versions",
                                              str(exc))]) from None
            prompts[ref] = PromptVersion(text, hashlib.sha256(text.encode()).hexdigest(), description, uri)
        assistant_id = f"openai:{spec.model}"
    model = embedding_model or configured_model_name()
    # last, after the cheap checks: loads the model and encodes the question bank now, so that the
    # first persona turn does not stall every conversation of a concurrent run (a model that does
    # not load, or has no calibration, is a SetupError that names the fix)
    get_detector(model)
    return RunPlan(loaded, flow, ffile, chosen, model, runs_root, prompts, assistant_id, function)


def _manifest(plan: RunPlan) -> dict[str, Any]:
    root = plan.loaded.path.parent
    spec = plan.assistant
    assistant: dict[str, Any] = {"kind": spec.kind, "flow": plan.assistant_id, **spec.model_dump(mode="json")}
    if plan.flow_file is not None:
        assistant.update(flow_file=display_path(plan.flow_file), flow_file_sha256=sha256_file(plan.flow_file))
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
        "assistant": assistant,
        "persona": plan.suite.simulator.model_dump(mode="json"),
        "prompt_versions": {v: {"sha256": plan.prompts[v].sha256, "description": plan.prompts[v].description,
                                **({"uri": plan.prompts[v].uri} if plan.prompts[v].uri else {})}
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


def _openai_client(spec: OpenAIAssistantSpec | LLMSimulatorSpec) -> Any:
    from openai import AsyncOpenAI

    # retries are ours (backoff, jitter, circuit breaker); the key is read now and kept in memory only
    return AsyncOpenAI(base_url=spec.base_url, api_key=os.environ.get(spec.api_key_env) or "no-key",
                       max_retries=0, timeout=spec.retry.timeout_s)


def _open_session(plan: RunPlan) -> Session:
    spec = plan.assistant
    session = Session()
    simulator = plan.suite.simulator
    if isinstance(simulator, LLMSimulatorSpec):
        session.persona_client = _openai_client(simulator)
        session.persona_breaker = CircuitBreaker(simulator.retry.breaker_failures)
    if isinstance(spec, OpenAIAssistantSpec):
        session.client = _openai_client(spec)
        session.breaker = CircuitBreaker(spec.retry.breaker_failures)
    elif isinstance(spec, WebhookAssistantSpec):
        import httpx

        session.client = httpx.AsyncClient(timeout=spec.retry.timeout_s)
        session.breaker = CircuitBreaker(spec.retry.breaker_failures)
    return session


def build_assistant(plan: RunPlan, key: ScenarioKey) -> Assistant:
    spec = plan.assistant
    session = plan.session or Session()
    if isinstance(spec, BuiltinAssistantSpec):
        assert plan.flow is not None
        return PlaybookFlowAssistant(plan.flow, key.version, key.seed)
    handoff = spec.handoff.request if spec.handoff.enabled else None
    if isinstance(spec, PythonAssistantSpec):
        assert plan.function is not None
        return PythonCallableAssistant(spec.target, plan.function, key.version, handoff)
    if isinstance(spec, WebhookAssistantSpec):
        return WebhookAssistant(session.client, spec, key.id, key.version, spec.retry.policy(), session.breaker,
                                handoff)
    return OpenAIChatAssistant(session.client, spec.model, plan.prompts[key.version].text, key.version,
                               spec.temperature, spec.max_tokens, spec.retry.policy(), session.breaker, handoff)


def build_simulator(plan: RunPlan, key: ScenarioKey) -> PersonaSimulator:
    persona = plan.loaded.personas[key.persona]
    spec = plan.suite.simulator
    if isinstance(spec, OfflineSimulatorSpec):
        return OfflinePersona(persona, plan.loaded.phrasebooks, key.seed, plan.embedding_model)
    session = plan.session or Session()
    # a next step is a next step in whichever language the assistant proposed it
    markers = [m for book in plan.loaded.phrasebooks.values() for m in book.next_step_markers]
    guard = FactSheetGuard(persona, markers, plan.embedding_model)
    return LLMPersona(persona, persona_prompt(persona, load_bank(), spec.instructions), guard,
                      session.persona_client, spec.model, spec.temperature, spec.max_tokens, spec.retry.policy(),
                      session.persona_breaker)


async def run_scenario(plan: RunPlan, key: ScenarioKey) -> Transcript:
    persona = plan.loaded.personas[key.persona]
    simulator = build_simulator(plan, key)
    handoff = None if isinstance(plan.assistant, BuiltinAssistantSpec) else plan.suite.required_questions
    return await converse_one(key, simulator, build_assistant(plan, key), plan.suite.max_turns,
                              persona.language, handoff)


def converse(plan: RunPlan, progress: ProgressCallback | None = None,
             scenario_runner: Callable[[RunPlan, ScenarioKey], Any] = run_scenario,
             concurrency: int = 1) -> Path:
    """Run every conversation not yet in the run folder, `concurrency` at a time; each is appended
    to transcripts.jsonl as it finishes. Returns the run folder. Raises `EndpointDown` when the
    assistant's endpoint is down: what finished is kept, and the same command resumes."""
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
    todo = [k for k in keys if k.id not in done]
    finished = len(keys) - len(todo)
    if progress:
        progress("conversations", finished, len(keys))

    def record(transcript: Transcript) -> None:
        nonlocal finished
        if transcript.error:
            errors = run_dir / "errors"
            errors.mkdir(exist_ok=True)
            (errors / f"{safe_filename(transcript.key.id)}.txt").write_text(transcript.error, encoding="utf-8")
        log.append(transcript)
        finished += 1
        if progress:
            progress("conversations", finished, len(keys))

    async def run_all() -> None:
        plan.session = _open_session(plan)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(key: ScenarioKey) -> None:
            async with gate:
                result = scenario_runner(plan, key)
                record(await result if inspect.isawaitable(result) else result)  # saved before the next starts

        tasks = [asyncio.create_task(one(key)) for key in todo]
        try:
            for next_done in asyncio.as_completed(tasks):
                await next_done  # the first failure (an endpoint that is down) stops the others
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await plan.session.close()
            plan.session = None

    if todo:
        asyncio.run(run_all())
    return run_dir
