"""Is a captured value faithful to the persona's ground truth for one question?

Cosine similarity alone passes "no incidents" for "an incident" and 10k for 100k. The judge
combines similarity with rule signals (quantities, periods, currencies, polarity, intensity, named
entities) in a calibrated logistic model; every verdict carries its probability and its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.scoring.calibration import judge_probability, judge_signal_rows, load_calibration
from lab.scoring.embeddings import configured_model_name, get_embedder


@dataclass(frozen=True)
class CaptureJudgement:
    faithful: bool
    probability: float
    similarity: float
    reasons: list[str] = field(default_factory=list)


def judge_capture(question_id: str, truth: str, captured: str | None,
                  model: str | None = None) -> CaptureJudgement:
    """The verdict with its probability, the cosine similarity and the signals that argued against."""
    if captured is None or not captured.strip():
        return CaptureJudgement(False, 0.0, 0.0, ["nothing captured"])
    name = model or configured_model_name()
    calibration = load_calibration(name)
    (signals,) = judge_signal_rows([truth], [captured], [question_id], get_embedder(name), calibration.answer_topics)
    probability = float(judge_probability(calibration.judge, signals.features[None, :])[0])
    faithful = probability >= calibration.judge.threshold
    reasons = [] if faithful else (signals.reasons or
                                   [f"similarity {signals.similarity:.2f} too low for a faithful capture"])
    return CaptureJudgement(faithful, round(probability, 4), signals.similarity, reasons)
