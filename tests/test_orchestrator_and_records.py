"""The conversation loop, error capture and the crash-safe transcript log, with scripted fakes."""

from __future__ import annotations

import json
from pathlib import Path

from lab.orchestrator import converse as converse_one
from lab.orchestrator import run_conversation
from lab.records import TranscriptLog
from lab.results import RunFolder, write_results
from lab.runner import converse, plan_run, run_scenario
from lab.types import Conversation, PersonaReply, Reply, ScenarioKey
from tests.helpers import ROOT

KEY = ScenarioKey(persona="p", repetition=0, version="v", seed=1)


class ScriptedPersona:
    persona_id = "p"

    def __init__(self, end_after: int = 99):
        self.turns, self.end_after = 0, end_after

    def opening(self) -> PersonaReply:
        return PersonaReply(text="hello")

    def respond(self, conversation: Conversation) -> PersonaReply:
        self.turns += 1
        return PersonaReply(text=f"answer {self.turns}", end=self.turns >= self.end_after)


class ScriptedAssistant:
    name, version = "scripted", "v"

    def __init__(self, fail_on: int | None = None):
        self.calls, self.fail_on = 0, fail_on

    def respond(self, conversation: Conversation) -> Reply:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("backend exploded")
        return Reply(text=f"question {self.calls}?", captured={"company_size": conversation.last_user()})


def test_turns_alternate_and_max_turns_bounds_the_assistant() -> None:
    transcript = run_conversation(KEY, ScriptedPersona(), ScriptedAssistant(), max_turns=3, language="en")
    assert [t.role for t in transcript.turns] == ["user", "assistant", "user", "assistant", "user",
                                                   "assistant", "user"]
    assert [t.index for t in transcript.turns] == list(range(1, 8))
    assert transcript.termination == "max_turns"
    assert transcript.handoff == {"company_size": "answer 2"}
    assert all(t.latency_s >= 0 and t.started_at.endswith("+00:00") for t in transcript.turns)


def test_persona_ending_the_call_is_the_termination_reason() -> None:
    transcript = run_conversation(KEY, ScriptedPersona(end_after=2), ScriptedAssistant(), 10, "en")
    assert transcript.termination == "next_step_accepted" and len(transcript.turns) == 5


def test_assistant_exception_keeps_turns_and_traceback() -> None:
    transcript = run_conversation(KEY, ScriptedPersona(), ScriptedAssistant(fail_on=3), 10, "en")
    assert transcript.termination == "error"
    assert "RuntimeError: backend exploded" in (transcript.error or "")
    assert len(transcript.turns) == 5


def test_transcript_log_drops_a_torn_last_line(tmp_path: Path) -> None:
    log = TranscriptLog(tmp_path / "t.jsonl")
    first = run_conversation(KEY, ScriptedPersona(), ScriptedAssistant(), 1, "en")
    log.append(first)
    with (tmp_path / "t.jsonl").open("a") as handle:
        handle.write(first.model_dump_json()[:40])
    reopened = TranscriptLog(tmp_path / "t.jsonl")
    assert [t.key.id for t in reopened] == [KEY.id]
    assert (tmp_path / "t.jsonl").read_text().count("\n") == 1


def test_a_raising_assistant_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    plan = plan_run(ROOT / "scenarios" / "smoke.yaml", ["v1"], None, tmp_path / "runs")

    def flaky(p, key):  # type: ignore[no-untyped-def]
        if key.persona == "en_saas_small" and key.repetition == 0:
            from lab.assistants.flow import PlaybookFlowAssistant
            from lab.personas.offline import OfflinePersona

            persona = p.loaded.personas[key.persona]

            class Breaks(PlaybookFlowAssistant):
                def respond(self, conversation: Conversation) -> Reply:
                    if len(conversation.messages) > 4:
                        raise ConnectionError("assistant endpoint reset the connection")
                    return super().respond(conversation)

            return converse_one(key, OfflinePersona(persona, p.loaded.phrasebooks, key.seed),
                                Breaks(p.flow, key.version, key.seed), p.suite.max_turns, "en")
        return run_scenario(p, key)

    run_dir = converse(plan, scenario_runner=flaky)
    errors = list((run_dir / "errors").iterdir())
    assert len(errors) == 1 and "ConnectionError" in errors[0].read_text()
    summary = write_results(RunFolder(run_dir))
    assert summary["kpis"]["v1"]["errored_scenarios"] == 1
    assert summary["kpis"]["v1"]["scenarios"] == 12
    assert summary["terminations"]["v1"] == {"error": 1, "next_step_accepted": 11}
    assert summary["worst_scenarios"][0]["errored"]
    assert json.loads((run_dir / "manifest.json").read_text())["run_id"] == run_dir.name
