"""The Lab's public scoring API (stable): which bank questions a turn asks, and whether a captured
value is faithful to the ground truth. Both work offline with the default embedding model."""

from __future__ import annotations

from lab.scoring.capture import CaptureJudgement, judge_capture
from lab.scoring.detector import AskedMatch, get_detector

__all__ = ["AskedMatch", "CaptureJudgement", "asked_matches", "asked_questions", "capture_faithful",
           "judge_capture"]


def asked_matches(text: str, role: str = "assistant", model: str | None = None) -> list[AskedMatch]:
    """Like `asked_questions`, with the clause and similarity that decided each id."""
    if role != "assistant" or not text.strip():
        return []
    return get_detector(model).matches(text)


def asked_questions(text: str, role: str = "assistant", model: str | None = None) -> set[str]:
    """The canonical question ids that an assistant utterance asks; empty for any other role."""
    return {m.question_id for m in asked_matches(text, role, model)}


def capture_faithful(question_id: str, truth: str, captured: str | None, model: str | None = None) -> bool:
    """Whether `captured` (what the assistant wrote down for `question_id`) is faithful to `truth`."""
    return judge_capture(question_id, truth, captured, model).faithful
