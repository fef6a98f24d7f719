"""The offline persona: answers from its fact sheet, deterministically for a given seed.

It hears the assistant through the same public scorer the Lab judges with
(`lab.scoring.asked_matches`), so a question the detector cannot recognise is, for the persona too,
a question it did not understand.
"""

from __future__ import annotations

import random
from collections import Counter

from lab.scenarios import Persona, Phrasebook
from lab.scoring import asked_matches
from lab.scoring.text import QUESTION_MARKS, sentences
from lab.types import Conversation, PersonaReply

HOSTILE_REMARK_CHANCE = 0.5


class OfflinePersona:
    """`phrasebooks` holds the persona's language and, for one that switches mid-call, the other."""

    def __init__(self, persona: Persona, phrasebooks: dict[str, Phrasebook], seed: int,
                 embedding_model: str | None = None):
        self.persona, self.books = persona, phrasebooks
        self.persona_id = persona.id
        self.rng = random.Random(seed)
        self.model = embedding_model
        self.times_asked: Counter[str] = Counter()
        self.turn = 0

    @property
    def language(self) -> str:
        switch = self.persona.behaviour.switch_language
        return switch.to if switch and self.turn >= switch.at_turn else self.persona.language

    @property
    def book(self) -> Phrasebook:
        return self.books[self.language]

    def opening(self) -> PersonaReply:
        self.turn += 1
        return PersonaReply(text=self.rng.choice(self.book.greetings))

    def _fact_sentence(self, qid: str) -> str:
        fact = self.persona.facts[qid]
        if self.language == self.persona.language:
            wording = self.rng.choice([fact.truth, *fact.variants])
        else:
            wording = fact.translations[self.language]  # type: ignore[index]
        wrapper = self.rng.choice(self.book.answer_wrappers[self.persona.behaviour.style])
        return wrapper.replace("{fact}", wording)

    def _should_evade(self, qid: str) -> bool:
        behaviour = self.persona.behaviour
        first_time = self.times_asked[qid] == 0
        if qid in behaviour.guarded:
            return first_time
        return first_time and self.rng.random() < behaviour.evasiveness

    def respond(self, conversation: Conversation) -> PersonaReply:
        self.turn += 1
        text = next((m.content for m in reversed(conversation.messages) if m.role == "assistant"), "")
        lowered = text.lower()
        if any(marker in lowered for marker in self.book.next_step_markers):
            return PersonaReply(text=self.rng.choice(self.book.accept_next_step), end=True)
        matches = sorted(asked_matches(text, "assistant", self.model),
                         key=lambda m: text.find(m.clause) if m.clause in text else len(text))
        parts: list[str] = []
        disclosed: list[str] = []
        evaded: list[str] = []
        for match in matches:
            qid = match.question_id
            if qid not in self.persona.facts or self._should_evade(qid):
                evaded.append(qid)
            else:
                parts.append(self._fact_sentence(qid))
                disclosed.append(qid)
            self.times_asked[qid] += 1
        if evaded:
            parts.insert(0, self.rng.choice(self.book.evasions))
        if not matches:
            # a lone question it cannot place confuses the customer; a pitch that ends with
            # "does that resonate?" gets a nod
            lone_question = any(mark in text for mark in QUESTION_MARKS) and len(sentences(text)) < 2
            parts.append(self.rng.choice(self.book.not_understood if lone_question
                                         else self.book.acknowledgements))
        style = self.persona.behaviour.style
        if style == "verbose":
            parts.append(self.rng.choice(self.book.verbose_asides))
        elif style == "hostile" and self.rng.random() < HOSTILE_REMARK_CHANCE:
            parts.append(self.rng.choice(self.book.sceptical_remarks))
        for off in self.persona.behaviour.off_script:
            if off.at_turn == self.turn:
                parts.append(off.ask)
        return PersonaReply(text=" ".join(parts), disclosed=disclosed, evaded=evaded)
