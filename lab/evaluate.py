"""Per-question verdicts for one finished transcript.

Reads only the transcript and the persona's fact sheet: asked (first assistant turn the detector
places the question in), answered (the persona disclosed that fact after it was asked), captured
(the assistant's final hand-off), faithful (the capture judge against the ground truth).
"""

from __future__ import annotations

from lab.scenarios import Persona
from lab.scoring import AskedMatch, asked_matches_many, judge_capture
from lab.types import QuestionScore, Transcript


def detect_questions(transcript: Transcript, model: str | None = None) -> dict[int, list[AskedMatch]]:
    """Turn index → the bank questions that turn asks (assistant turns only), in one batched encode."""
    found = asked_matches_many([t.content for t in transcript.turns], [t.role for t in transcript.turns], model)
    return {turn.index: matches for turn, matches in zip(transcript.turns, found, strict=True)}


def score_transcript(transcript: Transcript, persona: Persona, required: list[str],
                     model: str | None = None,
                     matches: dict[int, list[AskedMatch]] | None = None) -> list[QuestionScore]:
    matches = matches if matches is not None else detect_questions(transcript, model)
    first_asked: dict[str, tuple[int, float]] = {}
    for index in sorted(matches):
        for match in matches[index]:
            first_asked.setdefault(match.question_id, (index, match.probability))
    rows = []
    key = transcript.key
    for qid in required:
        asked_turn, asked_sim = first_asked.get(qid, (None, None))
        answer_turn = None
        if asked_turn is not None:
            answer_turn = next((t.index for t in transcript.turns
                                if t.role == "user" and t.index > asked_turn and qid in t.disclosed), None)
        captured = transcript.handoff.get(qid)
        faithful = probability = similarity = None
        reasons = ""
        if answer_turn is not None:
            verdict = judge_capture(qid, persona.facts[qid].truth, captured, model)
            faithful, probability, reasons = verdict.faithful, verdict.probability, "; ".join(verdict.reasons)
            similarity = round(verdict.similarity, 4)
        rows.append(QuestionScore(
            scenario=key.id, version=key.version, persona=key.persona, repetition=key.repetition,
            language=transcript.language, question_id=qid, asked=asked_turn is not None,
            asked_turn=asked_turn, asked_probability=None if asked_sim is None else round(asked_sim, 4),
            answered=answer_turn is not None, answer_turn=answer_turn, captured=captured,
            faithful=faithful, capture_probability=probability, capture_similarity=similarity,
            reasons=reasons,
            errored=transcript.termination == "error",
        ))
    return rows
