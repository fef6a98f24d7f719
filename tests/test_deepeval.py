"""The Lab's scorers as deepeval metrics: same verdicts as `exolab run`, transcripts that survive the
trip through a deepeval test case, and honest failures, skips and errors in `assert_test`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from deepeval import assert_test
from deepeval.errors import MissingTestCaseParamsError
from deepeval.test_case import ConversationalTestCase
from deepeval.test_case import Turn as DeepevalTurn
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.deepeval_metrics import (
    CHECKS,
    Accuracy,
    Adherence,
    Completeness,
    from_test_case,
    lab_metrics,
    run_folder_cases,
    to_test_case,
)
from lab.results import RunFolder, write_results
from lab.runner import converse, plan_run
from lab.types import ScenarioKey, Transcript, Turn


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    """Smoke suite, v1 (follows the playbook) and v2 (pitches early, skips questions), scored the
    way `exolab run` scores it."""
    plan = plan_run(ROOT / "scenarios" / "smoke.yaml", ["v1", "v2"], None, tmp_path_factory.mktemp("runs"))
    folder = RunFolder(converse(plan))
    write_results(folder)
    return folder


def test_every_metric_agrees_with_the_run_folder_scores(smoke_run: RunFolder) -> None:
    scores, checks = smoke_run.scores(), smoke_run.adherence()
    cases = run_folder_cases(smoke_run)
    assert len(cases) == 24
    for case in cases:
        rows = scores[scores["scenario"] == case.name]
        answered = rows[rows["answered"]]
        completeness, accuracy = Completeness(), Accuracy()
        assert completeness.measure(case) == pytest.approx(rows["asked"].mul(rows["answered"]).mean(), abs=1e-4)
        assert accuracy.measure(case) == pytest.approx(answered["faithful"].astype(float).mean(), abs=1e-4)
        for _, row in checks[checks["scenario"] == case.name].iterrows():
            metric = Adherence(row["check"])
            score = metric.measure(case)
            if pd.isna(row["passed"]):
                assert metric.skipped and score is None and metric.is_successful()
                assert metric.reason.startswith("does not apply")
            else:
                assert score == float(row["passed"]) and metric.success == bool(row["passed"])


def test_v2_fails_assert_test_naming_the_missed_questions_and_the_early_pitch(smoke_run: RunFolder) -> None:
    case = next(c for c in run_folder_cases(smoke_run, ["v2"]) if c.name == "v2/en_saas_small/r0")
    with pytest.raises(AssertionError) as failure:
        assert_test(case, lab_metrics(), run_async=False)
    message = str(failure.value)
    assert "Completeness" in message and "never asked" in message
    assert "Adherence [pitch_before_discovery]" in message and "failed at assistant turn(s)" in message
    assert "Adherence [forbidden_phrases]" not in message


def test_v1_passes_assert_test_with_the_release_thresholds(smoke_run: RunFolder) -> None:
    for case in run_folder_cases(smoke_run, ["v1"]):
        assert_test(case, lab_metrics(completeness=1.0, accuracy=0.9), run_async=False)


def test_a_per_question_metric_reads_one_question(smoke_run: RunFolder) -> None:
    scores = smoke_run.scores()
    case = next(c for c in run_folder_cases(smoke_run, ["v2"]) if c.name == "v2/en_saas_small/r0")
    rows = scores[scores["scenario"] == case.name].set_index("question_id")
    skipped = next(q for q, row in rows.iterrows() if not row["asked"])
    kept = next(q for q, row in rows.iterrows() if row["asked"] and row["answered"])
    missing = Completeness(skipped)
    assert missing.measure(case) == 0.0 and f"{skipped} (never asked)" in missing.reason
    assert missing.__name__ == f"Completeness [{skipped}]"
    assert Completeness(kept).measure(case) == 1.0
    assert Accuracy(skipped).measure(case) is None  # never answered: accuracy does not apply


def test_strict_mode_raises_the_threshold_to_one(smoke_run: RunFolder) -> None:
    case = next(c for c in run_folder_cases(smoke_run, ["v2"]) if c.name == "v2/en_saas_small/r0")
    lenient = Completeness(threshold=0.2)
    lenient.measure(case)
    strict = Completeness(threshold=0.2, strict_mode=True)
    strict.measure(case)
    assert lenient.is_successful() and not strict.is_successful()


def test_transcripts_of_a_run_survive_the_trip_through_a_test_case(smoke_run: RunFolder) -> None:
    for transcript in smoke_run.transcripts():
        case = to_test_case(transcript, smoke_run.personas[transcript.key.persona])
        assert [(t.role, t.content) for t in case.turns] == [(t.role, t.content) for t in transcript.turns]
        assert from_test_case(case) == transcript
        again = ConversationalTestCase.model_validate_json(case.model_dump_json())  # saved by deepeval
        assert from_test_case(again) == transcript


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(contents=st.lists(st.tuples(st.sampled_from(["user", "assistant"]), _text), min_size=1, max_size=8),
       captured=st.dictionaries(st.sampled_from(["company_size", "ai_owner", "budget"]), _text, max_size=3),
       latency=st.floats(0, 30, allow_nan=False), termination=st.sampled_from(["max_turns", "error"]))
def test_any_transcript_round_trips(contents: list[tuple[str, str]], captured: dict[str, str], latency: float,
                                    termination: str) -> None:
    turns = [Turn(index=i, role=role, content=text, started_at="2026-11-23T00:00:00", latency_s=latency,  # type: ignore[arg-type]
                  captured=captured if role == "assistant" else None,
                  disclosed=list(captured) if role == "user" else [])
             for i, (role, text) in enumerate(contents, start=1)]
    transcript = Transcript(key=ScenarioKey(persona="p", repetition=2, version="v9", seed=7), language="zh",
                            turns=turns, termination=termination, handoff=captured,  # type: ignore[arg-type]
                            error="Traceback: boom" if termination == "error" else None,
                            started_at="2026-11-23T00:00:00", duration_s=latency)
    assert from_test_case(to_test_case(transcript)) == transcript


def test_a_test_case_made_elsewhere_becomes_an_external_transcript() -> None:
    case = ConversationalTestCase(name="from-prod", turns=[
        DeepevalTurn(role="user", content="Здравствуйте, у нас 300 сотрудников."),
        DeepevalTurn(role="assistant", content="Сколько человек в компании?", latency_ms=250.0)])
    transcript = from_test_case(case)
    assert [t.index for t in transcript.turns] == [1, 2]
    assert transcript.language == "ru" and transcript.key.persona == "from-prod"
    assert transcript.key.version == "external" and transcript.turns[1].latency_s == 0.25
    with pytest.raises(MissingTestCaseParamsError, match="to_test_case"):
        Completeness().measure(case)


def test_an_errored_conversation_fails_with_its_error_not_a_score(smoke_run: RunFolder) -> None:
    transcript = smoke_run.transcripts()[0]
    broken = transcript.model_copy(update={"termination": "error", "error": "Traceback...\nTimeoutError: slow"})
    case = to_test_case(broken, smoke_run.personas[transcript.key.persona], smoke_run.suite.required_questions)
    metric = Completeness()
    assert metric.measure(case) is None
    assert metric.error == "conversation errored: TimeoutError: slow" and not metric.is_successful()


def test_unknown_adherence_check_is_named() -> None:
    with pytest.raises(ValueError, match="known: pitch_before_discovery"):
        Adherence("be_nice")
    assert len(lab_metrics()) == 2 + len(CHECKS)


def test_importing_the_lab_switches_deepeval_telemetry_off() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEEPEVAL_TELEMETRY_OPT_OUT"}
    code = "import lab.deepeval_metrics; from deepeval.telemetry.client import telemetry_opt_out as t; print(t())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(ROOT))
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr
