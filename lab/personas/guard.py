"""Checks each reply of an LLM-driven persona against its fact sheet.

A simulated customer that invents a fact, answers a question nobody asked, or hangs up early makes
the assistant look better or worse than it is; the guard flags those turns so that a failed run can
be told apart from a failed simulator. It also says which facts a reply disclosed, which is what
completeness is scored on: the fact whose ground truth is most similar to a sentence of the reply,
confirmed by the Lab's calibrated capture judge.

Run on the offline persona's replies, whose disclosures are known, it finds them with precision 1.00
and recall 1.00 and flags nothing, on the smoke suite (where `DISCLOSURE_FLOOR` was chosen) and on
the adversarial suite (tests/test_llm_persona.py checks the smoke suite).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.scenarios import Persona
from lab.scoring import asked_matches_many
from lab.scoring.calibration import judge_probability, judge_signal_rows, load_calibration
from lab.scoring.embeddings import configured_model_name, get_embedder
from lab.scoring.quantities import extract_quantities
from lab.scoring.text import sentences
from lab.types import Conversation

DISCLOSURE_FLOOR = 0.4
"""A sentence less similar than this to every fact discloses none (chosen on smoke v1 transcripts)."""


@dataclass(frozen=True)
class GuardFinding:
    disclosed: list[str]
    flags: list[str]


class FactSheetGuard:
    """`next_step_markers`: words of the persona's phrasebooks that mark a proposed next step."""

    def __init__(self, persona: Persona, next_step_markers: list[str], model: str | None = None):
        self.persona, self.model = persona, model or configured_model_name()
        self.markers = [m.lower() for m in next_step_markers]
        self.qids = list(persona.facts)
        self.wordings: list[tuple[str, str]] = [  # (question id, a wording of its fact in any language)
            (qid, text) for qid, fact in persona.facts.items()
            for text in [fact.truth, *fact.variants, *fact.translations.values()]]
        self.wording_vectors = get_embedder(self.model).encode([text for _, text in self.wordings])
        scripted = [off.ask for off in persona.behaviour.off_script]  # e.g. a discount it is told to demand
        self.known = [q for text in [*(t for _, t in self.wordings), *scripted] for q in extract_quantities(text)]

    def disclosed(self, reply: str) -> list[str]:
        """The facts the reply states, in the order it states them."""
        embedder = get_embedder(self.model)
        calibration = load_calibration(self.model)
        parts = sentences(reply) or [reply]
        similarity = embedder.encode(parts) @ self.wording_vectors.T
        best = [int(row.argmax()) for row in similarity]
        candidates = [(part, self.wordings[j]) for part, row, j in zip(parts, similarity, best, strict=True)
                      if row[j] >= DISCLOSURE_FLOOR]
        if not candidates:
            return []
        signals = judge_signal_rows([truth for _, (_, truth) in candidates], [part for part, _ in candidates],
                                    [qid for _, (qid, _) in candidates], embedder, calibration.answer_topics)
        probability = judge_probability(calibration.judge, np.array([s.features for s in signals]))
        found = [qid for (_, (qid, _)), p in zip(candidates, probability, strict=True)
                 if p >= calibration.judge.threshold]
        return list(dict.fromkeys(found))

    def invented(self, reply: str) -> list[str]:
        """Numbers in the reply that match no number of the fact sheet."""
        return [f"{q.value:g}{'%' if q.percent else ''}" for q in extract_quantities(reply)
                if not any(q.matches(k) for k in self.known)]

    def check(self, conversation: Conversation, reply: str, end: bool) -> GuardFinding:
        """`conversation`: what the persona had heard when it gave `reply`."""
        said = [m.content for m in conversation.messages if m.role == "assistant"]
        asked = {m.question_id for matches in asked_matches_many(said, model=self.model) for m in matches}
        disclosed = self.disclosed(reply)
        flags = [f"unasked_answer: {qid}" for qid in disclosed if qid not in asked]
        flags += [f"invented_fact: {number} is not in the fact sheet" for number in self.invented(reply)]
        last = said[-1].lower() if said else ""
        if end and not any(marker in last for marker in self.markers):
            flags.append("early_stop: ended the call before the assistant proposed a next step")
        return GuardFinding(disclosed=disclosed, flags=flags)
