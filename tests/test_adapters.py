"""Assistants behind a Python function and an OpenAI-compatible API, run end to end against a real
HTTP server on loopback: prompt versions from the registry, the end-of-call hand-off, retries on
429/5xx/timeouts, and a circuit breaker that stops a run whose endpoint is down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, exolab

from lab.assistants.handoff import parse_handoff
from lab.bank import load_bank
from lab.results import RunFolder, write_results
from lab.runner import converse, plan_run
from lab.scoring.text import detect_language
from lab.testing.fake_openai import FakeOpenAI, Fault, last_user_message
from lab.testing.fake_webhook import FakeWebhook

SMOKE = ROOT / "scenarios" / "smoke.yaml"
SECRET = "sk-adapter-test-7777-never-stored"


def scripted_reply(messages: list[dict[str, str]]) -> str:
    """A minimal discovery bot: the next bank question in the customer's language, then a hand-off
    that repeats each answer verbatim as JSON."""
    bank = load_bank()
    said = [m["content"] for m in messages if m["role"] == "user"]
    if "Reply with only a JSON object" in said[-1]:
        asked = [m for m in messages if m["role"] == "assistant"]
        answers = said[1:len(asked) + 1]
        return json.dumps(dict(zip(bank.ids, answers, strict=False)), ensure_ascii=False)
    language = detect_language(said[0])
    n = sum(m["role"] == "assistant" for m in messages)
    if n < len(bank.ids):
        return getattr(bank.get(bank.ids[n]).phrasings, language)[0]
    return {"ru": "Предлагаю созвониться на следующей неделе.", "zh": "我们下周再约个会议吧。"}.get(
        language, "Shall we book a follow-up call next week?")


def _project(tmp_path: Path, assistant: dict[str, Any], module: str = "") -> Path:
    (tmp_path / "assistant.yaml").write_text(json.dumps({"assistant": assistant}), encoding="utf-8")
    if module:
        (tmp_path / "my_bot.py").write_text(module, encoding="utf-8")
    return tmp_path / "assistant.yaml"


BOT = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from test_adapters import scripted_reply

def reply(messages):
    return scripted_reply(messages)

async def reply_async(messages):
    return {{"reply": scripted_reply(messages)}}

def broken(messages):
    return 42
"""


@pytest.mark.parametrize("target", ["my_bot:reply", "my_bot:reply_async"])
def test_a_python_function_is_an_assistant_and_hands_off_what_it_learned(tmp_path: Path, target: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = _project(tmp_path, {"kind": "python", "target": target}, BOT)
    plan = plan_run(SMOKE, None, None, tmp_path / "runs", spec)
    assert plan.versions == ["current"]
    folder = RunFolder(converse(plan, concurrency=4))
    summary = write_results(folder)
    transcripts = folder.transcripts()
    assert [t.key.id for t in transcripts] == [k.id for k in plan.scenario_keys()]  # order kept
    assert all(t.termination != "error" and t.handoff and t.handoff_error is None for t in transcripts)
    # the scripted bot asks each question once, so evasive customers cost it some answers
    assert summary["kpis"]["current"]["completeness"] == pytest.approx(0.881, abs=0.001)
    assert summary["kpis"]["current"]["accuracy"] > 0.7
    assert {c.role for t in transcripts for c in t.calls} == {"persona", "assistant", "handoff"}


def test_a_function_with_a_wrong_return_type_errors_that_scenario_with_the_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = plan_run(SMOKE, None, None, tmp_path / "runs", _project(tmp_path, {"kind": "python",
                                                                            "target": "my_bot:broken"}, BOT))
    folder = RunFolder(converse(plan))
    assert all("returned int; expected a string or a dict with 'reply'" in (t.error or "")
               for t in folder.transcripts())


def test_a_function_may_report_the_tokens_its_model_used_so_the_run_can_price_them() -> None:
    import asyncio

    from lab.assistants.python_callable import PythonCallableAssistant
    from lab.types import Conversation, Message

    def metered(messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"reply": "How many people work at your company?",
                "usage": {"model": "gpt-4o-mini", "prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}}

    def garbled(messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"reply": "Hi", "usage": {"prompt_tokens": "many"}}

    conversation = Conversation(messages=[Message(role="user", content="Hello")])
    reply = asyncio.run(PythonCallableAssistant("bot:metered", metered, "current", None).respond(conversation))
    assert reply.usage is not None and (reply.usage.model, reply.usage.prompt_tokens) == ("gpt-4o-mini", 120)
    with pytest.raises(TypeError, match="'usage' must be"):
        asyncio.run(PythonCallableAssistant("bot:garbled", garbled, "current", None).respond(conversation))


def test_a_missing_module_is_an_input_error_naming_the_file_and_field(tmp_path: Path) -> None:
    spec = _project(tmp_path, {"kind": "python", "target": "nowhere_bot:reply"})
    done = exolab("run", "--suite", str(SMOKE), "--assistant", str(spec), "--no-mlflow", cwd=tmp_path)
    assert done.returncode == 2
    assert "assistant.yaml" in done.stderr and "assistant.target" in done.stderr and "nowhere_bot" in done.stderr


def test_an_unparseable_handoff_is_recorded_as_not_captured() -> None:
    assert parse_handoff("Sure! I learned a lot.", ["company_size"]).error.startswith("hand-off answer has no JSON")
    assert parse_handoff('{"company_size": null}', ["company_size"]).error == \
        "hand-off answer names no known question id"
    assert parse_handoff('Here: {"company_size": "about 60", "x": 1}', ["company_size"]).captured == \
        {"company_size": "about 60"}


def _openai_spec(server: FakeOpenAI, **retry: Any) -> dict[str, Any]:
    return {"kind": "openai", "base_url": server.base_url, "model": "cotomi-test", "prompt": "sales-assistant",
            "api_key_env": "EXOLAB_TEST_ASSISTANT_KEY", "retry": {"backoff_s": 0.01, **retry}}


def _register(tmp_path: Path, text: str, alias: str) -> None:
    prompt = tmp_path / "system.txt"
    prompt.write_text(text, encoding="utf-8")
    done = exolab("prompts", "register", str(prompt), "--name", "sales-assistant", "--alias", alias,
                  "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", cwd=tmp_path)
    assert done.returncode == 0 and "registered prompts:/sales-assistant/" in done.stdout, done.stderr


def _from_messages(body: dict[str, Any]) -> str:
    return scripted_reply([m for m in body["messages"] if m["role"] != "system"])


@pytest.mark.slow
def test_an_openai_compatible_model_runs_its_registered_prompt_version_end_to_end(tmp_path: Path) -> None:
    import mlflow

    _register(tmp_path, "You are the ExoChat discovery assistant, version four.", "candidate")
    attempts: dict[str, int] = {}

    def flaky(body: dict[str, Any]) -> str | Fault:
        key = json.dumps(body["messages"])[-200:]
        attempts[key] = attempts.get(key, 0) + 1
        return Fault(429) if attempts[key] == 1 and len(attempts) % 3 == 0 else _from_messages(body)

    with FakeOpenAI(flaky) as server:
        spec = _project(tmp_path, _openai_spec(server))
        done = exolab("run", "--suite", str(SMOKE), "--assistant", str(spec), "--prompt-version", "candidate",
                      "--runs-dir", str(tmp_path / "runs"), "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                      "--concurrency", "6", "--quiet", cwd=tmp_path, env={"EXOLAB_TEST_ASSISTANT_KEY": SECRET})
    assert done.returncode == 0, done.stderr
    assert {e.body["messages"][0]["content"] for e in server.exchanges} == \
        {"You are the ExoChat discovery assistant, version four."}
    assert all(e.headers["authorization"] == f"Bearer {SECRET}" for e in server.exchanges)
    folder = RunFolder(next((tmp_path / "runs").iterdir()))
    assert folder.manifest["prompt_versions"]["candidate"]["uri"] == "prompts:/sales-assistant/1"
    transcripts = folder.transcripts()
    assert all(t.termination != "error" for t in transcripts)
    retried = [c for t in transcripts for c in t.calls if c.attempts > 1]
    assert retried and all(c.ok for c in retried)  # 429s were retried, not recorded as failures
    tokens = sum(c.prompt_tokens for t in transcripts for c in t.calls if c.role == "assistant")
    assert tokens > 0
    summary = json.loads((folder.path / "summary.json").read_text())
    assert summary["kpis"]["candidate"]["completeness"] == pytest.approx(0.881, abs=0.001)  # same bot, same verdicts
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["exolab/smoke"])
    parent = runs[runs["tags.exolab.kind"] == "version"].iloc[0]
    assert parent["params.prompt_uri"] == "prompts:/sales-assistant/1"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in done.stdout + done.stderr


def test_an_unknown_prompt_version_is_an_input_error(tmp_path: Path) -> None:
    _register(tmp_path, "You are a sales assistant.", "candidate")
    with FakeOpenAI(_from_messages) as server:
        spec = _project(tmp_path, _openai_spec(server))
        done = exolab("run", "--suite", str(SMOKE), "--assistant", str(spec), "--prompt-version", "production",
                      "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", cwd=tmp_path)
    assert done.returncode == 2 and "--prompt-version" in done.stderr and "'production'" in done.stderr
    assert not server.exchanges


def test_timeouts_are_retried_and_a_dead_endpoint_stops_the_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _register(tmp_path, "You are a sales assistant.", "candidate")
    slow_once: set[str] = set()

    def sometimes_slow(body: dict[str, Any]) -> str | Fault:
        key = json.dumps(body["messages"])
        if key not in slow_once and len(body["messages"]) == 2:
            slow_once.add(key)
            return Fault(200, delay_s=2.0)  # past the 0.5 s timeout: a retry must answer
        return _from_messages(body)

    with FakeOpenAI(sometimes_slow) as server:
        spec = _project(tmp_path, _openai_spec(server, timeout_s=0.5))
        plan = plan_run(SMOKE, ["candidate"], None, tmp_path / "runs", spec, f"sqlite:///{tmp_path / 'mlflow.db'}")
        folder = RunFolder(converse(plan, concurrency=4))
    first_calls = [t.calls[1] for t in folder.transcripts()]  # calls[0] is the customer's opening
    assert all(c.role == "assistant" and c.ok for c in first_calls)
    assert sum(c.attempts > 1 for c in first_calls) >= len(slow_once) // 2  # timed-out calls were retried
    assert all(t.termination != "error" for t in folder.transcripts())

    with FakeOpenAI(lambda body: Fault(503)) as down:
        spec = _project(tmp_path, _openai_spec(down, max_retries=1, breaker_failures=3))
        plan = plan_run(SMOKE, ["candidate"], None, tmp_path / "runs2", spec,
                        f"sqlite:///{tmp_path / 'mlflow.db'}")
        from lab.assistants.resilience import EndpointDown

        with pytest.raises(EndpointDown, match="3 calls in a row failed; last: HTTP 503"):
            converse(plan, concurrency=2)
    log = plan.run_dir / "transcripts.jsonl"
    recorded = log.read_text().splitlines() if log.exists() else []
    # stopped after the breaker opened (at most the conversations already in flight), not 12 failures
    assert len(recorded) <= 3 + 2 and len(down.exchanges) <= (3 + 2) * 2
    assert all("CallFailed: HTTP 503 after 2 attempt(s)" in json.loads(line)["error"] for line in recorded)
    assert last_user_message(down.exchanges[0].body)


TOKEN = "bot-token-5150-never-stored"
WEBHOOK_REQUEST = '{"session": {{ conversation_id | tojson }}, "text": {{ last_message | tojson }}, "turn": {{ turn }}}'


def _webhook_spec(bot: FakeWebhook, **overrides: Any) -> dict[str, Any]:
    return {"kind": "webhook", "url": f"{bot.url}/api/v2/chat", "headers": {"Authorization": "Bearer ${BOT_TOKEN}"},
            "request": WEBHOOK_REQUEST,
            "response": {"reply": "$.data.answer.text", "captured": "$.state.slots", "done": "$.finished"},
            "retry": {"backoff_s": 0.01}, **overrides}


class SessionBot:
    """A production-style bot that keeps each conversation on its side, keyed by the session id,
    and fills slots with the customer's answers; every 7th new request fails once with a 500."""

    def __init__(self) -> None:
        self.sessions: dict[str, list[dict[str, str]]] = {}
        self.seen: set[tuple[str, int]] = set()

    def __call__(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        assert path == "/api/v2/chat" and headers["authorization"] == f"Bearer {TOKEN}"
        request = (body["session"], body["turn"])
        if request not in self.seen:
            self.seen.add(request)
            if len(self.seen) % 7 == 0:
                return Fault(500)
        history = self.sessions.setdefault(body["session"], [])
        if len([m for m in history if m["role"] == "assistant"]) >= body["turn"]:
            history.pop()  # a retried request: answer it again
        history.append({"role": "user", "content": body["text"]})
        reply = scripted_reply(history)
        history.append({"role": "assistant", "content": reply})
        said = [m["content"] for m in history if m["role"] == "user"]
        slots = dict(zip(load_bank().ids, said[1:], strict=False))
        return {"data": {"answer": {"text": reply}}, "state": {"slots": slots}, "finished": False}


@pytest.mark.slow
def test_a_webhook_bot_with_its_own_json_shape_runs_from_configuration_alone(tmp_path: Path) -> None:
    bot = SessionBot()
    with FakeWebhook(bot) as server:
        spec = _project(tmp_path, _webhook_spec(server))
        done = exolab("run", "--suite", str(SMOKE), "--assistant", str(spec), "--runs-dir", str(tmp_path / "runs"),
                      "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--concurrency", "6", "--quiet",
                      cwd=tmp_path, env={"BOT_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    folder = RunFolder(next((tmp_path / "runs").iterdir()))
    transcripts = folder.transcripts()
    assert len(bot.sessions) == len(transcripts) == 12  # one session per conversation
    assert all(t.termination != "error" and t.handoff and t.handoff_error is None for t in transcripts)
    assert not any(c.role == "handoff" for t in transcripts for c in t.calls)  # captures came with the replies
    retried = [c for t in transcripts for c in t.calls if c.attempts > 1]
    assert retried and all(c.ok for c in retried)
    summary = json.loads((folder.path / "summary.json").read_text())
    assert summary["kpis"]["current"]["completeness"] == pytest.approx(0.881, abs=0.001)  # the same bot as above
    assert summary["usage"]["unknown_cost"] == ["assistant: reports no model or tokens"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in done.stdout + done.stderr


def test_webhook_configuration_errors_name_the_field(tmp_path: Path) -> None:
    with FakeWebhook(lambda *a: {}) as server:
        literal = _project(tmp_path, _webhook_spec(server, headers={"X-Api-Key": "abc123"},
                                                   response={"reply": "$.data[?"}))
        done = exolab("run", "--suite", str(SMOKE), "--assistant", str(literal), "--no-mlflow", cwd=tmp_path)
    assert done.returncode == 2
    assert "assistant.headers" in done.stderr and "X-Api-Key" in done.stderr and "${ENV_VARIABLE}" in done.stderr
    assert "assistant.response.reply" in done.stderr and "not a JSONPath" in done.stderr
    assert not server.exchanges


def test_a_webhook_reply_missing_from_the_response_errors_the_scenario_with_what_was_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    with FakeWebhook(lambda *a: {"data": {"message": "hello"}}) as server:
        plan = plan_run(SMOKE, None, None, tmp_path / "runs", _project(tmp_path, _webhook_spec(server)))
        folder = RunFolder(converse(plan, concurrency=4))
    errors = [t.error or "" for t in folder.transcripts()]
    assert all("response.reply '$.data.answer.text' found None in {'data': {'message': 'hello'}}" in e
               for e in errors)
