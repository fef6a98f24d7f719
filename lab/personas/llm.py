"""A persona played by a language model behind an OpenAI-compatible API, fed its fact sheet and
behaviour, with every reply checked by the fact-sheet guard.

The offline persona stays the default: it is deterministic and free. An LLM persona speaks more like
a real customer, and also errs like a model; the guard's flags are kept on each turn, in the
summary and in the report, so that a conversation spoiled by the simulator is visible as such.
"""

from __future__ import annotations

from typing import Any

from lab.assistants.openai_chat import chat
from lab.assistants.resilience import CircuitBreaker, RetryPolicy
from lab.bank import QuestionBank
from lab.personas.guard import FactSheetGuard
from lab.scenarios import Persona
from lab.types import Conversation, PersonaReply

END_MARKER = "[END]"
OPENING_CUE = "(The sales assistant has answered your call. Say your first line.)"
LANGUAGE_NAMES = {"ru": "Russian", "en": "English", "zh": "Chinese"}
STYLE_NOTES = {
    "terse": "Answer in as few words as you can.",
    "neutral": "Answer plainly, one or two sentences.",
    "verbose": "You like to talk: add an off-topic remark now and then, but never a new fact.",
    "hostile": "You are sceptical of AI vendors and say so, without inventing anything.",
}


def persona_prompt(persona: Persona, bank: QuestionBank, instructions: str | None = None) -> str:
    """The system prompt: who the customer is, what they know (and only that), how they behave."""
    b, c = persona.behaviour, persona.company
    facts = "\n".join(f"- When asked \"{bank.get(qid).playbook}\": {fact.truth}" for qid, fact in persona.facts.items())
    lines = [
        f"You are {persona.name}, {persona.role} at {c.name} ({c.industry}, {c.employees} employees"
        f"{', ' + c.country if c.country else ''}). You are on a call with a sales assistant of ExoChat.",
        f"Speak {LANGUAGE_NAMES[persona.language]}. {STYLE_NOTES[b.style]}",
        "What you know, and the only facts you may state (say you do not know anything else):",
        facts,
        "Rules: answer only what the assistant has just asked; never volunteer another fact; never make up "
        "numbers, names or events; do not ask about anything the assistant did not raise unless told below.",
        f"When the assistant proposes a concrete next step you would accept ({', '.join(persona.next_step)}), "
        f"accept it and end your message with {END_MARKER}. Do not end the call before that.",
    ]
    if b.guarded:
        lines.append("Dodge the first time you are asked about: "
                     + "; ".join(bank.get(q).playbook for q in b.guarded) + ". Answer when asked again.")
    if b.evasiveness:
        lines.append(f"You dodge about {b.evasiveness:.0%} of questions the first time they are asked.")
    for off in b.off_script:
        lines.append(f"On your reply number {off.at_turn}, also say: \"{off.ask}\"")
    if b.switch_language:
        lines.append(f"From your reply number {b.switch_language.at_turn} on, speak "
                     f"{LANGUAGE_NAMES[b.switch_language.to]}.")
    if instructions:
        lines.append(instructions)
    return "\n".join(lines)


class LLMPersona:
    def __init__(self, persona: Persona, system_prompt: str, guard: FactSheetGuard, client: Any, model: str,
                 temperature: float, max_tokens: int, policy: RetryPolicy, breaker: CircuitBreaker):
        self.persona, self.persona_id = persona, persona.id
        self.system_prompt, self.guard = system_prompt, guard
        self.client, self.model, self.temperature, self.max_tokens = client, model, temperature, max_tokens
        self.policy, self.breaker = policy, breaker

    async def _say(self, conversation: Conversation) -> tuple[str, bool, Any]:
        # the model plays the customer: the assistant's messages are its "user" turns
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": OPENING_CUE}]
        messages += [{"role": "user" if m.role == "assistant" else "assistant", "content": m.content}
                     for m in conversation.messages]
        text, usage = await chat(self.client, self.model, messages, self.temperature, self.max_tokens,
                                 self.policy, self.breaker)
        end = END_MARKER in text
        return text.replace(END_MARKER, "").strip(), end, usage

    async def opening(self) -> PersonaReply:
        text, end, usage = await self._say(Conversation(messages=[]))
        finding = self.guard.check(Conversation(messages=[]), text, end)
        return PersonaReply(text=text, end=end, usage=usage, disclosed=finding.disclosed, flags=finding.flags)

    async def respond(self, conversation: Conversation) -> PersonaReply:
        text, end, usage = await self._say(conversation)
        finding = self.guard.check(conversation, text, end)
        return PersonaReply(text=text, end=end, usage=usage, disclosed=finding.disclosed, flags=finding.flags)
