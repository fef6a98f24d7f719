"""The Lab's public scoring API (stable): which bank questions a turn asks, and whether a captured
value is faithful to the ground truth. Both work offline with the default embedding model."""

from __future__ import annotations

from lab.scoring.capture import CaptureJudgement, judge_capture
from lab.scoring.detector import AskedMatch, get_detector

__all__ = ["AskedMatch", "CaptureJudgement", "asked_matches", "asked_matches_many", "asked_questions",
           "capture_faithful", "judge_capture"]


def asked_matches_many(texts: list[str], roles: list[str] | None = None,
                       model: str | None = None) -> list[list[AskedMatch]]:
    """`asked_matches` for many utterances with one batched encode: the way to score a whole run."""
    roles = roles or ["assistant"] * len(texts)
    keep = [i for i, (t, r) in enumerate(zip(texts, roles, strict=True)) if r == "assistant" and t.strip()]
    found = get_detector(model).matches_many([texts[i] for i in keep])
    out: list[list[AskedMatch]] = [[] for _ in texts]
    for i, matches in zip(keep, found, strict=True):
        out[i] = matches
    return out


def asked_matches(text: str, role: str = "assistant", model: str | None = None) -> list[AskedMatch]:
    """Like `asked_questions`, with the clause, similarity and probability that decided each id."""
    return asked_matches_many([text], [role], model)[0]


def asked_questions(text: str, role: str = "assistant", model: str | None = None) -> set[str]:
    """The canonical question ids that an assistant utterance asks; empty for any other role."""
    return {m.question_id for m in asked_matches(text, role, model)}


def capture_faithful(question_id: str, truth: str, captured: str | None, model: str | None = None) -> bool:
    """Whether `captured` (what the assistant wrote down for `question_id`) is faithful to `truth`."""
    return judge_capture(question_id, truth, captured, model).faithful
