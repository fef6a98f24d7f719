"""Which canonical discovery questions an assistant utterance asks.

Each sentence (and each conjunct of a question, so one turn asking two things yields both ids) is
compared with reference phrasings of every bank question in a multilingual embedding space; the
calibrated model combines that similarity with its margins over other and out-of-bank questions
and with interrogative/restatement cues into a probability per question.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lab.bank import load_bank
from lab.scoring.calibration import (
    Calibration,
    build_reference,
    detector_matrix,
    detector_probability,
    load_calibration,
    load_lexical,
)
from lab.scoring.embeddings import CachedEmbedder, configured_model_name, get_embedder
from lab.scoring.features import load_cues


@dataclass(frozen=True)
class AskedMatch:
    question_id: str
    clause: str
    similarity: float
    probability: float


class QuestionDetector:
    def __init__(self, calibration: Calibration, embedder: CachedEmbedder):
        self.calibration, self.embedder = calibration, embedder
        self.question_ids = load_bank().ids
        self.reference = build_reference(calibration.detector_references, embedder)
        load_lexical()
        load_cues()

    def matches_many(self, texts: list[str]) -> list[list[AskedMatch]]:
        """One batched encode for all texts; a match list (sorted by id) per text."""
        if not texts:
            return []
        model = self.calibration.detector
        features, clauses = detector_matrix(texts, self.reference, self.embedder, self.question_ids, model=model,
                                            classifier=self.calibration.clause_classifier)
        probability = detector_probability(model, features).reshape(len(texts), len(self.question_ids))
        similarity = features[:, 0].reshape(len(texts), len(self.question_ids))
        out = []
        for i in range(len(texts)):
            out.append([AskedMatch(qid, clauses[i][j], float(similarity[i, j]), float(probability[i, j]))
                        for j, qid in enumerate(self.question_ids) if probability[i, j] >= model.threshold])
        return out


@lru_cache(maxsize=4)
def get_detector(model: str | None = None) -> QuestionDetector:
    name = model or configured_model_name()
    return QuestionDetector(load_calibration(name), get_embedder(name))
