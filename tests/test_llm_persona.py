"""The LLM persona and its fact-sheet guard.

The guard is judged first on the offline persona, whose disclosures are known: it must find exactly
those and flag nothing. Then a persona played by a scripted model on a loopback OpenAI-compatible
server runs a suite end to end and misbehaves on purpose: the guard must flag each misbehaviour on
the turn it happened, and the run must account for the persona's tokens and time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT, exolab

from lab.bank import load_bank
from lab.personas.guard import FactSheetGuard
from lab.results import RunFolder
from lab.runner import converse, plan_run
from lab.scenarios import load_suite
from lab.scoring import asked_questions
from lab.testing.fake_openai import FakeOpenAI, last_user_message
from lab.types import Conversation, Message

SMOKE = ROOT / "scenarios" / "smoke.yaml"
SECRET = "persona-key-31337-never-stored"
MARKERS = [m for book in (ROOT / "scenarios" / "phrasebooks").glob("*.yaml")
           for m in yaml.safe_load(book.read_text(encoding="utf-8"))["next_step_markers"]]


def _guard(persona_id: str) -> FactSheetGuard:
    loaded = load_suite(SMOKE)
    persona = loaded.personas[persona_id]
    return FactSheetGuard(persona, [m for lang in persona.languages()
                                    for m in loaded.phrasebooks[lang].next_step_markers])


@pytest.mark.slow
def test_the_guard_finds_what_the_offline_persona_disclosed_and_flags_nothing(tmp_path: Path) -> None:
    plan = plan_run(SMOKE, ["v1"], None, tmp_path / "runs")
    folder = RunFolder(converse(plan))
    checked = 0
    for transcript in folder.transcripts():
        guard = _guard(transcript.key.persona)
        for i, turn in enumerate(transcript.turns[1:], start=1):
            if turn.role != "user":
                continue
            heard = Conversation(messages=[Message(role=t.role, content=t.content) for t in transcript.turns[:i]])
            ended = i == len(transcript.turns) - 1 and transcript.termination == "next_step_accepted"
            finding = guard.check(heard, turn.content, ended)
            assert set(finding.disclosed) == set(turn.disclosed), turn.content
            assert finding.flags == [], turn.content
            checked += 1
    assert checked > 200


def test_the_guard_flags_an_invented_fact_an_unasked_answer_and_an_early_stop() -> None:
    guard = _guard("en_saas_small")
    facts = guard.persona.facts
    heard = Conversation(messages=[Message(role="user", content="Hi."),
                                   Message(role="assistant", content="How many employees does your company have?")])
    honest = guard.check(heard, f"{facts['company_size'].truth}.", end=False)
    assert honest.disclosed == ["company_size"] and honest.flags == []
    chatty = guard.check(heard, f"{facts['company_size'].truth}. Also, {facts['urgency'].truth}. "
                                "We run 977 stores too.", end=False)
    assert "unasked_answer: urgency" in chatty.flags
    assert "invented_fact: 977 is not in the fact sheet" in chatty.flags
    early = guard.check(heard, "I have to go, bye.", end=True)
    assert early.flags == ["early_stop: ended the call before the assistant proposed a next step"]


class ScriptedCustomer:
    """Plays any persona from its system prompt: answers the questions the assistant asked with the
    fact-sheet lines, and accepts a proposed next step. Misbehaves on purpose in three personas."""

    def __init__(self) -> None:
        bank = load_bank()
        self.by_playbook = {q.playbook: q.id for q in bank.questions}

    def __call__(self, body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        facts = {self.by_playbook[q]: truth for q, truth in re.findall(r'- When asked "(.+?)": (.+)', system)}
        said = last_user_message(body)
        replies = sum(m["role"] == "assistant" for m in body["messages"])
        language = next(lang for lang in ("English", "Chinese", "Russian") if f"Speak {lang}" in system)
        if said.startswith("(The sales assistant has answered"):
            return {"English": "Hello.", "Chinese": "您好。", "Russian": "Здравствуйте."}[language]
        if any(marker in said.lower() for marker in MARKERS):
            return {"English": "Agreed.", "Chinese": "好的。", "Russian": "Договорились."}[language] + " [END]"
        nod = {"English": "I see.", "Chinese": "明白。", "Russian": "Понятно."}[language]
        answer = " ".join(f"{facts[q]}." for q in sorted(asked_questions(said)) if q in facts) or nod
        if "Tom Alvarez" in system and replies == 3:  # answers a question nobody asked yet
            answer += f" {facts['ideal_process']}."
        if "Дмитрий Волков" in system and replies == 2:
            answer += " У нас ещё 4242 филиала."  # a number the fact sheet does not have
        if "王磊" in system and replies == 4:
            return "我得挂了。 [END]"  # hangs up before any next step
        return answer


@pytest.mark.slow
def test_an_llm_persona_runs_end_to_end_and_the_guard_flags_its_mistakes(tmp_path: Path) -> None:
    suite = load_suite(SMOKE)
    misbehaving = {"en_saas_small", "ru_enterprise_cotomi", "zh_manufacturing_procurement"}
    assert {suite.personas[p].name for p in misbehaving} == {"Tom Alvarez", "Дмитрий Волков", "王磊"}
    with FakeOpenAI(ScriptedCustomer()) as server:
        simulator = tmp_path / "simulator.yaml"
        simulator.write_text(json.dumps({"simulator": {"kind": "llm", "base_url": server.base_url,
                                                       "model": "customer-sim", "retry": {"backoff_s": 0.01}}}))
        done = exolab("run", "--suite", str(SMOKE), "--prompt-version", "v1", "--simulator", str(simulator),
                      "--runs-dir", str(tmp_path / "runs"), "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                      "--quiet", cwd=tmp_path, env={"EXOLAB_PERSONA_API_KEY": SECRET})
    assert done.returncode == 0, done.stderr
    assert all(e.headers["authorization"] == f"Bearer {SECRET}" for e in server.exchanges)
    assert all("What you know, and the only facts you may state" in e.body["messages"][0]["content"]
               for e in server.exchanges)
    folder = RunFolder(next((tmp_path / "runs").iterdir()))
    assert folder.manifest["persona"]["kind"] == "llm"
    summary = json.loads((folder.path / "summary.json").read_text())
    guard = summary["persona_guard"]["versions"]["v1"]
    assert guard["by_kind"] == {"unasked_answer": 2, "invented_fact": 2, "early_stop": 2}  # 2 repetitions each
    flags = {(f["scenario"].split("/")[1], f["flag"].split(":")[0]) for f in summary["persona_guard"]["flags"]}
    assert flags == {("en_saas_small", "unasked_answer"), ("ru_enterprise_cotomi", "invented_fact"),
                     ("zh_manufacturing_procurement", "early_stop")}
    ended = [t for t in folder.transcripts() if t.key.persona == "zh_manufacturing_procurement"]
    assert {t.termination for t in ended} == {"persona_ended"}
    assert "persona guard: v1: 6 persona turn(s) flagged" in done.stdout
    assert "## Simulator guard" in (folder.path / "report.md").read_text()
    # the honest customers answered what they were asked, so the assistant's scores stand
    assert summary["kpis"]["v1"]["completeness"] > 0.8
    persona_usage = summary["usage"]["versions"]["v1"]["persona"]
    assert persona_usage["prompt_tokens"] > 0 and persona_usage["cost"] is None
    assert "persona: model 'customer-sim' is not in the price table" in summary["usage"]["unknown_cost"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
