"""Runs one conversation: persona ⇄ assistant until a next step is accepted or turns run out.

The loop only talks; it never judges. Scorers read the finished transcript, so any score can be
recomputed from a saved run. It is a coroutine so that a run can hold many conversations with slow
endpoints open at once; sides that answer synchronously (the built-in flow, the offline persona)
are called directly.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from lab.assistants import Assistant, HandoffResult
from lab.assistants.resilience import EndpointDown
from lab.personas import PersonaSimulator
from lab.types import Call, CallRole, Conversation, Message, ScenarioKey, Termination, Transcript, Turn, Usage

T = TypeVar("T")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def _resolve(value: T | Awaitable[T]) -> T:
    return await value if inspect.isawaitable(value) else value  # type: ignore[no-any-return]


def _call(role: CallRole, turn: int | None, latency: float, usage: Usage | None,
          error: BaseException | None = None) -> Call:
    return Call(role=role, turn=turn, latency_s=round(latency, 6), ok=error is None,
                error=None if error is None else f"{type(error).__name__}: {error}"[:500],
                model=usage.model if usage else getattr(error, "model", None),
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                attempts=usage.attempts if usage else getattr(error, "attempts", 1))


async def converse(key: ScenarioKey, persona: PersonaSimulator, assistant: Assistant, max_turns: int,
                   language: str, handoff_questions: list[str] | None = None) -> Transcript:
    """`max_turns` bounds the assistant's turns. An exception from either side ends the
    conversation as `error` with its traceback; the turns before it are kept. With
    `handoff_questions`, an assistant that never returned structured captures is asked for them
    once the call is over."""
    started, t0 = _now(), time.perf_counter()
    turns: list[Turn] = []
    calls: list[Call] = []
    handoff: dict[str, str] = {}
    handoff_error: str | None = None
    segment: str | None = None
    termination: Termination = "max_turns"
    error: str | None = None

    def conversation() -> Conversation:
        return Conversation(messages=[Message(role=t.role, content=t.content) for t in turns],
                            language_hint=language)

    async def timed(role: CallRole, make: Callable[[], Any]) -> Any:
        at, s = _now(), time.perf_counter()
        try:
            reply = await _resolve(make())
        except Exception as exc:
            calls.append(_call(role, len(turns) + 1, time.perf_counter() - s, None, exc))
            raise
        latency = time.perf_counter() - s
        calls.append(_call(role, len(turns) + 1, latency, getattr(reply, "usage", None)))
        return reply, at, latency

    async def persona_turn(make: Callable[[], Any]) -> Termination | None:
        """How the persona ended the call, if it did: by accepting a next step, or early."""
        reply, at, latency = await timed("persona", make)
        turns.append(Turn(index=len(turns) + 1, role="user", content=reply.text, started_at=at,
                          latency_s=round(latency, 6), disclosed=reply.disclosed, evaded=reply.evaded,
                          flags=reply.flags))
        if not reply.end:
            return None
        return "persona_ended" if any(f.startswith("early_stop") for f in reply.flags) else "next_step_accepted"

    try:
        ended = await persona_turn(persona.opening)
        termination = ended or termination
        for _ in range(0 if ended else max_turns):
            reply, at, latency = await timed("assistant", lambda: assistant.respond(conversation()))
            turns.append(Turn(index=len(turns) + 1, role="assistant", content=reply.text, started_at=at,
                              latency_s=round(latency, 6), stage=reply.stage, captured=reply.captured))
            if reply.captured is not None:
                handoff = dict(reply.captured)
            segment = reply.segment or segment
            if reply.done:
                termination = "assistant_ended"
                break
            ended = await persona_turn(lambda: persona.respond(conversation()))
            if ended:
                termination = ended
                break
        ask = getattr(assistant, "handoff", None)
        if handoff_questions and not handoff and ask is not None:
            s = time.perf_counter()
            try:
                result: HandoffResult = await _resolve(ask(conversation(), handoff_questions))
                calls.append(_call("handoff", None, time.perf_counter() - s, result.usage))
                handoff, handoff_error = result.captured, result.error
            except EndpointDown:
                raise
            except Exception as exc:  # the call happened; only what was learned is missing
                calls.append(_call("handoff", None, time.perf_counter() - s, None, exc))
                handoff_error = f"hand-off request failed: {type(exc).__name__}: {exc}"
    except (asyncio.CancelledError, EndpointDown):
        raise  # a cancelled run, or one stopped by the circuit breaker, records nothing half-done
    except Exception:
        termination = "error"
        error = traceback.format_exc()
    return Transcript(key=key, language=language, turns=turns, termination=termination,
                      handoff=handoff, handoff_error=handoff_error, segment=segment, error=error,
                      started_at=started, duration_s=round(time.perf_counter() - t0, 6), calls=calls)


def run_conversation(key: ScenarioKey, persona: PersonaSimulator, assistant: Assistant, max_turns: int,
                     language: str) -> Transcript:
    """`converse` for callers outside an event loop."""
    return asyncio.run(converse(key, persona, assistant, max_turns, language))
