"""Per-question verdicts for one finished transcript.

Reads only the transcript and the persona's fact sheet: asked (first assistant turn the detector
places the question in), answered (the persona disclosed that fact after it was asked), captured
(the assistant's final hand-off), faithful (the capture judge against the ground truth).
"""

from __future__ import annotations

from lab.scenarios import Persona
from lab.scoring import asked_matches, judge_capture
from lab.types import QuestionScore, Transcript


def score_transcript(transcript: Transcript, persona: Persona, required: list[str],
                     model: str | None = None) -> list[QuestionScore]:
    first_asked: dict[str, tuple[int, float]] = {}
    for turn in transcript.turns:
        if turn.role != "assistant":
            continue
        for match in asked_matches(turn.content, "assistant", model):
            first_asked.setdefault(match.question_id, (turn.index, match.similarity))
    rows = []
    key = transcript.key
    for qid in required:
        asked_turn, asked_sim = first_asked.get(qid, (None, None))
        answer_turn = None
        if asked_turn is not None:
            answer_turn = next((t.index for t in transcript.turns
                                if t.role == "user" and t.index > asked_turn and qid in t.disclosed), None)
        captured = transcript.handoff.get(qid)
        faithful = similarity = None
        reasons = ""
        if answer_turn is not None:
            verdict = judge_capture(qid, persona.facts[qid].truth, captured, model)
            faithful, similarity, reasons = verdict.faithful, round(verdict.similarity, 4), \
                "; ".join(verdict.reasons)
        rows.append(QuestionScore(
            scenario=key.id, version=key.version, persona=key.persona, repetition=key.repetition,
            language=transcript.language, question_id=qid, asked=asked_turn is not None,
            asked_turn=asked_turn, asked_similarity=None if asked_sim is None else round(asked_sim, 4),
            answered=answer_turn is not None, answer_turn=answer_turn, captured=captured,
            faithful=faithful, capture_similarity=similarity, reasons=reasons,
            errored=transcript.termination == "error",
        ))
    return rows
