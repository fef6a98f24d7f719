"""deepeval's LLM-judged metrics through the real CLI against a judge on loopback: scores that are the
judge's, logged beside the Lab's in MLflow, paid for once, never faked without a judge, and no key
anywhere it could leak."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, exolab

from lab.judge import JudgeConfig, public_url
from lab.testing.fake_openai import FakeOpenAI, Fault, last_user_message

SECRET = "sk-test-judge-4242-do-not-leak"
SMOKE = str(ROOT / "scenarios" / "smoke.yaml")


def scripted_judge(body: dict[str, Any]) -> str:
    """Role adherence: never out of character (score 1). Knowledge retention: every assistant
    message forgets something (score 0). So each number can only have come from this judge."""
    prompt = last_user_message(body)
    if "did not adhere to the specified chatbot role" in prompt:
        return json.dumps({"verdicts": []})
    if "only the factual information" in prompt:
        return json.dumps({"data": {"said": "something"}})
    if "contradicts** or **forgets" in prompt:
        return json.dumps({"verdict": "yes", "reason": "asks again for what it was told"})
    return json.dumps({"reason": "scripted judge reason"})


def _run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return exolab("run", "--suite", SMOKE, "--prompt-version", "v1", "--runs-dir", str(tmp_path / "runs"),
                  "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--quiet", *extra,
                  cwd=tmp_path, env={"EXOLAB_JUDGE_API_KEY": SECRET, "DEEPEVAL_RETRY_MAX_ATTEMPTS": "1",
                                     **(env or {})})


def _judge_args(server: FakeOpenAI) -> list[str]:
    return ["--judge-metric", "role_adherence", "--judge-metric", "knowledge_retention",
            "--judge-model", "judge-7b", "--judge-base-url", server.base_url]


@pytest.mark.slow
def test_judged_metrics_are_added_to_a_logged_run_once_and_leak_no_key(tmp_path: Path) -> None:
    import mlflow

    plain = _run(tmp_path)
    assert plain.returncode == 0, plain.stderr
    with FakeOpenAI(scripted_judge) as server:
        judged = _run(tmp_path, *_judge_args(server))
        assert judged.returncode == 0, judged.stderr
        asked = len(server.exchanges)
        again = _run(tmp_path, *_judge_args(server))
        assert again.returncode == 0 and len(server.exchanges) == asked  # judged once, kept in judge.jsonl
    assert asked > 24 and all(e.headers["authorization"] == f"Bearer {SECRET}" for e in server.exchanges)
    assert "LLM-judged (deepeval)" in judged.stdout and "judge-7b at http://127.0.0.1:" in judged.stdout

    folder = next((tmp_path / "runs").iterdir())
    rows = [json.loads(line) for line in (folder / "judge.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and not any(r["error"] for r in rows)
    assert {r["score"] for r in rows if r["metric"] == "role_adherence"} == {1.0}
    assert {r["score"] for r in rows if r["metric"] == "knowledge_retention"} == {0.0}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["judge"]["scores"]["v1"] == {"role_adherence": 1.0, "knowledge_retention": 0.0}
    assert "## LLM-judged metrics (deepeval)" in (folder / "report.md").read_text()

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["exolab/smoke"])
    parent = runs[runs["tags.exolab.kind"] == "version"].iloc[0]
    assert parent["metrics.judge.role_adherence"] == 1.0 and parent["metrics.judge.knowledge_retention"] == 0.0
    assert parent["metrics.completeness"] == 1.0  # the Lab's scores stay beside the judge's
    children = runs[runs["tags.exolab.kind"] == "scenario"]
    assert len(children) == 12 and (children["metrics.judge.knowledge_retention"] == 0.0).all()
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent["run_id"])}
    assert "judge.jsonl" in artifacts

    # the judge is metered: every request it made is counted with its tokens and time
    assert sum(r["requests"] for r in rows) == asked and all(r["latency_s"] > 0 for r in rows)
    judge_usage = summary["usage"]["versions"]["v1"]["judge"]
    assert judge_usage["calls"] == 24 and judge_usage["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows) > 0
    assert judge_usage["cost"] is None  # judge-7b is not in the price table: no guessed cost
    assert "judge: model 'judge-7b' is not in the price table" in summary["usage"]["unknown_cost"]
    assert parent["metrics.usage.judge.requests"] == asked
    assert (children["metrics.usage.judge.calls"] == 2).all()
    prices = tmp_path / "prices.yaml"
    prices.write_text("currency: EUR\nmodels:\n  judge-*: {input_per_mtok: 1.0, output_per_mtok: 4.0}\n")
    repriced = exolab("report", str(folder), "--prices", str(prices), cwd=tmp_path)
    assert repriced.returncode == 0, repriced.stderr
    usage = json.loads((folder / "summary.json").read_text())["usage"]
    expected = sum(r["prompt_tokens"] * 1.0 + r["completion_tokens"] * 4.0 for r in rows) / 1e6
    assert usage["currency"] == "EUR" and usage["versions"]["v1"]["judge"]["cost"] == pytest.approx(expected, abs=1e-6)
    assert usage["versions"]["v1"]["total"]["cost"] == pytest.approx(expected, abs=1e-6)  # flow and persona: local

    for output in (plain, judged, again):
        assert SECRET not in output.stdout + output.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_without_a_judge_the_metrics_are_skipped_with_a_message_not_faked(tmp_path: Path) -> None:
    done = _run(tmp_path, "--judge-metric", "role_adherence", "--no-mlflow")
    assert done.returncode == 0, done.stderr
    assert "LLM-judged metrics skipped: no judge model configured" in done.stderr
    folder = next((tmp_path / "runs").iterdir())
    assert not (folder / "judge.jsonl").exists()
    assert json.loads((folder / "summary.json").read_text())["judge"] == {}
    assert "LLM-judged" not in (folder / "report.md").read_text() and "LLM-judged" not in done.stdout


@pytest.mark.slow
def test_a_failing_judge_is_recorded_per_verdict_and_the_run_goes_on(tmp_path: Path) -> None:
    with FakeOpenAI(lambda body: Fault(500)) as server:
        done = _run(tmp_path, "--no-mlflow", "--judge-metric", "turn_relevancy", "--judge-model", "j",
                    "--judge-base-url", server.base_url)
    assert done.returncode == 0, done.stderr
    assert "12 of 12 verdicts failed (see judge.jsonl)" in done.stdout
    folder = next((tmp_path / "runs").iterdir())
    rows = [json.loads(line) for line in (folder / "judge.jsonl").read_text().splitlines()]
    assert all(r["score"] is None and r["error"] for r in rows) and "500" in rows[0]["error"]


def test_an_unknown_judge_metric_is_refused_by_the_cli(tmp_path: Path) -> None:
    done = exolab("run", "--suite", SMOKE, "--judge-metric", "vibes", cwd=tmp_path)
    assert done.returncode == 2 and "'vibes' is not one of" in done.stderr


def test_judge_configuration_from_the_environment_and_its_public_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXOLAB_JUDGE_MODEL", raising=False)
    monkeypatch.delenv("EXOLAB_JUDGE_BASE_URL", raising=False)
    assert JudgeConfig.resolve(None, None, None) is None
    monkeypatch.setenv("EXOLAB_JUDGE_MODEL", "qwen")
    monkeypatch.setenv("EXOLAB_JUDGE_BASE_URL", "https://user:pw@judge.example:8443/v1?token=abc")
    config = JudgeConfig.resolve(None, None, "MY_KEY")
    assert config is not None and config.api_key_env == "MY_KEY"
    assert config.label == "qwen at https://judge.example:8443/v1"
    assert public_url("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
