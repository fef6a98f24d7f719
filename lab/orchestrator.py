"""Runs one conversation: persona ⇄ assistant until a next step is accepted or turns run out.

The loop only talks; it never judges. Scorers read the finished transcript, so any score can be
recomputed from a saved run.
"""

from __future__ import annotations

import time
import traceback
from datetime import UTC, datetime

from lab.assistants import Assistant
from lab.personas import PersonaSimulator
from lab.types import Conversation, Message, ScenarioKey, Termination, Transcript, Turn


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def run_conversation(key: ScenarioKey, persona: PersonaSimulator, assistant: Assistant,
                     max_turns: int, language: str) -> Transcript:
    """`max_turns` bounds the assistant's turns. An exception from either side ends the
    conversation as `error` with its traceback; the turns before it are kept."""
    started, t0 = _now(), time.perf_counter()
    turns: list[Turn] = []
    handoff: dict[str, str] = {}
    segment: str | None = None
    termination: Termination = "max_turns"
    error: str | None = None

    def conversation() -> Conversation:
        return Conversation(messages=[Message(role=t.role, content=t.content) for t in turns],
                            language_hint=language)

    def add_persona_turn(call) -> bool:  # type: ignore[no-untyped-def]
        at, s = _now(), time.perf_counter()
        reply = call()
        turns.append(Turn(index=len(turns) + 1, role="user", content=reply.text, started_at=at,
                          latency_s=round(time.perf_counter() - s, 6), disclosed=reply.disclosed,
                          evaded=reply.evaded))
        return reply.end

    try:
        add_persona_turn(persona.opening)
        for _ in range(max_turns):
            at, s = _now(), time.perf_counter()
            reply = assistant.respond(conversation())
            turns.append(Turn(index=len(turns) + 1, role="assistant", content=reply.text, started_at=at,
                              latency_s=round(time.perf_counter() - s, 6), stage=reply.stage,
                              captured=reply.captured))
            if reply.captured is not None:
                handoff = dict(reply.captured)
            segment = reply.segment or segment
            if reply.done:
                termination = "assistant_ended"
                break
            if add_persona_turn(lambda: persona.respond(conversation())):
                termination = "next_step_accepted"
                break
    except Exception:
        termination = "error"
        error = traceback.format_exc()
    return Transcript(key=key, language=language, turns=turns, termination=termination,
                      handoff=handoff, segment=segment, error=error, started_at=started,
                      duration_s=round(time.perf_counter() - t0, 6))
