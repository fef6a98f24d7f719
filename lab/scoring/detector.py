"""Which canonical discovery questions an assistant utterance asks.

Nearest-neighbour over the question bank's reference phrasings (ru/en/zh) in a multilingual
embedding space, with the bank's out-of-bank questions (price, budget, scheduling) as negatives.
Each interrogative sentence is judged whole and split at conjunctions, so one turn that asks two
questions yields both ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lab.bank import QuestionBank, load_bank
from lab.scoring.config import load_scorer_config
from lab.scoring.embeddings import CachedEmbedder, get_embedder
from lab.scoring.text import clause_candidates, questions

OUT_OF_BANK = "__out_of_bank__"


@dataclass(frozen=True)
class AskedMatch:
    question_id: str
    clause: str
    similarity: float
    margin: float


class QuestionDetector:
    def __init__(self, bank: QuestionBank, embedder: CachedEmbedder, min_similarity: float,
                 min_margin: float):
        self.bank, self.embedder = bank, embedder
        self.min_similarity, self.min_margin = min_similarity, min_margin
        labels, texts = [], []
        for q in bank.questions:
            for _, text in q.phrasings.all():
                labels.append(q.id)
                texts.append(text)
        for _, text in bank.out_of_bank.all():
            labels.append(OUT_OF_BANK)
            texts.append(text)
        self.labels = np.array(labels)
        self.reference = embedder.embed(texts)

    def matches(self, text: str) -> list[AskedMatch]:
        candidates = [c for q in questions(text) for c in clause_candidates(q)]
        if not candidates:
            return []
        sims = self.embedder.embed(candidates) @ self.reference.T
        out: dict[str, AskedMatch] = {}
        negative = self.labels == OUT_OF_BANK
        for clause, row in zip(candidates, sims, strict=True):
            neg_best = float(row[negative].max()) if negative.any() else -1.0
            pos = np.where(negative, -np.inf, row)
            best = int(np.argmax(pos))
            qid, sim = str(self.labels[best]), float(pos[best])
            margin = sim - neg_best
            if sim >= self.min_similarity and margin >= self.min_margin and (
                qid not in out or out[qid].similarity < sim
            ):
                out[qid] = AskedMatch(qid, clause, sim, margin)
        return sorted(out.values(), key=lambda m: m.question_id)


@lru_cache(maxsize=2)
def get_detector(model: str | None = None) -> QuestionDetector:
    cfg = load_scorer_config().asked_question
    return QuestionDetector(load_bank(), get_embedder(model), cfg.min_similarity,
                            cfg.min_margin_over_out_of_bank)
