"""`exolab scorer-report`: how far the scorers agree with human labels, beside a naive baseline.

Measured on the test split, which calibration never sees. The naive baseline is what peers ship:
cosine of the whole utterance to the nearest reference question over one threshold (for the
detector) and cosine of truth vs capture over one threshold (for the judge), thresholds chosen
on the same dev split.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from lab.bank import load_bank
from lab.scoring import asked_matches_many
from lab.scoring.calibration import (
    balanced_accuracy,
    build_reference,
    gold_matrix,
    judge_matrix,
    judge_probability,
    load_calibration,
    naive_detector_scores,
    plain_similarity,
)
from lab.scoring.data import capture_items, detector_items
from lab.scoring.embeddings import configured_model_name, get_embedder

FAITHFUL_KINDS = ("paraphrase", "translation")


def _prf(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    tp = int((pred & gold).sum())
    fp, fn = int((pred & ~gold).sum()), int((~pred & gold).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": int(gold.sum())}


def _detector_block(pred: np.ndarray, gold: np.ndarray, items: pd.DataFrame,
                    qids: list[str]) -> dict[str, Any]:
    assistant = (items["role"] == "assistant").to_numpy()
    non_question = assistant & ~gold.any(axis=1)
    customer = ~assistant
    any_pred: np.ndarray = np.asarray(pred.any(axis=1))
    return {
        "micro": _prf(pred.reshape(-1), gold.reshape(-1)),
        "per_question": {q: _prf(pred[:, j], gold[:, j]) for j, q in enumerate(qids)},
        "per_language": {lang: _prf(pred[mask].reshape(-1), gold[mask].reshape(-1))
                         for lang in ("ru", "en", "zh")
                         if (mask := (items["language"] == lang).to_numpy()).any()},
        "false_positive_rate_non_questions": round(float(any_pred[non_question].mean()), 4)
        if non_question.any() else 0.0,
        "false_positive_rate_customer_turns": round(float(any_pred[customer].mean()), 4)
        if customer.any() else 0.0,
        "non_question_items": int(non_question.sum()), "customer_items": int(customer.sum()),
    }


def _confusion(pred: np.ndarray, gold: np.ndarray, qids: list[str]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = {}
    for p_row, g_row in zip(pred, gold, strict=True):
        golds = [qids[j] for j in np.flatnonzero(g_row)] or ["(none)"]
        preds = [qids[j] for j in np.flatnonzero(p_row)] or ["(none)"]
        for g in golds:
            for p in preds:
                table.setdefault(g, Counter())[p] += 1
    return {g: dict(c) for g, c in table.items()}


def _judge_block(pred: np.ndarray, items: pd.DataFrame) -> dict[str, Any]:
    gold = items["label"].to_numpy()
    by_kind = {}
    positives = gold == 1
    for kind in items["kind"].unique():
        mask = (items["kind"] == kind).to_numpy()
        correct = float((pred[mask] == (gold[mask] == 1)).mean())
        entry = {"items": int(mask.sum()), "judged_correctly": round(correct, 4)}
        if kind not in FAITHFUL_KINDS:
            both = mask | positives
            entry["balanced_accuracy_vs_faithful"] = round(balanced_accuracy(pred[both], gold[both]), 4)
        by_kind[str(kind)] = entry
    return {
        "balanced_accuracy": round(balanced_accuracy(pred, gold), 4),
        "accuracy": round(float((pred == (gold == 1)).mean()), 4),
        "by_kind": by_kind,
        "per_language": {lang: round(balanced_accuracy(pred[m], gold[m]), 4)
                         for lang in ("ru", "en", "zh")
                         if (m := (items["truth_language"] == lang).to_numpy()).any()},
    }


def evaluate_scorers(model: str | None = None, split: str = "test") -> dict[str, Any]:
    name = model or configured_model_name()
    calibration = load_calibration(name)
    embedder = get_embedder(name)
    qids = load_bank().ids
    items = detector_items()
    items = items[items["split"] == split].reset_index(drop=True)
    gold = gold_matrix(items["labels"].tolist(), qids)
    found = asked_matches_many(items["text"].tolist(), items["role"].tolist(), name)
    ours = np.array([[qid in {m.question_id for m in ms} for qid in qids] for ms in found], dtype=bool)
    reference = build_reference(calibration.detector_references, embedder)
    naive = naive_detector_scores(items["text"].tolist(), reference, embedder, qids) \
        >= calibration.naive_detector_threshold
    caps = capture_items()
    caps = caps[caps["split"] == split].reset_index(drop=True)
    features = judge_matrix(caps["truth"].tolist(), caps["captured"].tolist(), caps["question_id"].tolist(),
                            embedder, calibration.answer_topics)
    judged = judge_probability(calibration.judge, features) >= calibration.judge.threshold
    naive_judged = plain_similarity(features) >= calibration.naive_judge_threshold
    return {
        "split": split, "embedding_model": calibration.embedding_model_id,
        "calibration_data_sha256": calibration.data_sha256,
        "detector_items": len(items), "judge_items": len(caps),
        "detector": {"lab": _detector_block(ours, gold, items, qids),
                     "naive": _detector_block(naive, gold, items, qids)},
        "confusion": _confusion(ours, gold, qids),
        "judge": {"lab": _judge_block(judged, caps), "naive": _judge_block(naive_judged, caps)},
        "thresholds": {"detector": calibration.detector.threshold, "judge": calibration.judge.threshold,
                       "naive_detector": calibration.naive_detector_threshold,
                       "naive_judge": calibration.naive_judge_threshold},
    }


def flat_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The figures worth a time series in MLflow."""
    out: dict[str, float] = {}
    for who in ("lab", "naive"):
        det, judge = report["detector"][who], report["judge"][who]
        out[f"{who}.detector.micro_f1"] = det["micro"]["f1"]
        out[f"{who}.detector.fp_rate_non_questions"] = det["false_positive_rate_non_questions"]
        out[f"{who}.detector.fp_rate_customer_turns"] = det["false_positive_rate_customer_turns"]
        out[f"{who}.judge.balanced_accuracy"] = judge["balanced_accuracy"]
        for qid, m in det["per_question"].items():
            out[f"{who}.detector.f1.{qid}"] = m["f1"]
        for kind, m in judge["by_kind"].items():
            out[f"{who}.judge.correct.{kind}"] = m["judged_correctly"]
    return out


def render_markdown(report: dict[str, Any]) -> str:
    det, nd = report["detector"]["lab"], report["detector"]["naive"]
    jl, jn = report["judge"]["lab"], report["judge"]["naive"]
    lines = [
        f"# Scorer report — {report['split']} split",
        "",
        f"- Embedding model: `{report['embedding_model']}`",
        f"- Calibration fitted on data `{report['calibration_data_sha256'][:16]}`; "
        f"{report['detector_items']} detector items and {report['judge_items']} capture items in this split",
        f"- Naive baseline: cosine over one threshold (detector {report['thresholds']['naive_detector']:.3f}, "
        f"judge {report['thresholds']['naive_judge']:.3f}), thresholds chosen on dev by the "
        "Lab's rule (the Lab's detector threshold also sees its cross-fitted train turns; the baseline "
        "cannot, its references are those turns)",
        "",
        "## Asked-question detector",
        "",
        "| | Lab | naive |",
        "|---|---|---|",
        f"| micro precision | {det['micro']['precision']:.3f} | {nd['micro']['precision']:.3f} |",
        f"| micro recall | {det['micro']['recall']:.3f} | {nd['micro']['recall']:.3f} |",
        f"| micro F1 | {det['micro']['f1']:.3f} | {nd['micro']['f1']:.3f} |",
        f"| false positives on non-questions ({det['non_question_items']} items) | "
        f"{det['false_positive_rate_non_questions']:.1%} | {nd['false_positive_rate_non_questions']:.1%} |",
        f"| false positives on customer turns ({det['customer_items']} items) | "
        f"{det['false_positive_rate_customer_turns']:.1%} | {nd['false_positive_rate_customer_turns']:.1%} |",
        "",
        "| language | Lab P | Lab R | Lab F1 | naive F1 |",
        "|---|---|---|---|---|",
    ]
    for lang, m in det["per_language"].items():
        lines.append(f"| {lang} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                     f"{nd['per_language'][lang]['f1']:.3f} |")
    lines += ["", "| question | support | Lab P | Lab R | Lab F1 | naive F1 |", "|---|---|---|---|---|---|"]
    for qid, m in det["per_question"].items():
        lines.append(f"| `{qid}` | {m['support']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                     f"{nd['per_question'][qid]['f1']:.3f} |")
    qids = list(det["per_question"]) + ["(none)"]
    lines += ["", "Confusion (rows: labelled, columns: detected; an item asking two questions counts in both "
              "rows):", "", "| labelled \\ detected | " + " | ".join(q.replace("_", " ") for q in qids) + " |",
              "|---|" + "---|" * len(qids)]
    for g in qids:
        row = report["confusion"].get(g, {})
        lines.append(f"| `{g}` | " + " | ".join(str(row.get(p, "")) for p in qids) + " |")
    lines += ["", "## Capture judge", "",
              "| | Lab | naive |", "|---|---|---|",
              f"| balanced accuracy | {jl['balanced_accuracy']:.3f} | {jn['balanced_accuracy']:.3f} |",
              f"| accuracy | {jl['accuracy']:.3f} | {jn['accuracy']:.3f} |", ""]
    for lang, value in jl["per_language"].items():
        lines.append(f"- {lang}: balanced accuracy {value:.3f} (naive {jn['per_language'][lang]:.3f})")
    lines += ["", "| kind of change | items | Lab judged correctly | naive | Lab balanced acc. vs faithful | naive |",
              "|---|---|---|---|---|---|"]
    def optional(entry: dict[str, Any], key: str) -> str:
        return f"{entry[key]:.3f}" if key in entry else "—"

    for kind, m in jl["by_kind"].items():
        n = jn["by_kind"][kind]
        lines.append(f"| {kind} | {m['items']} | {m['judged_correctly']:.3f} | {n['judged_correctly']:.3f} | "
                     f"{optional(m, 'balanced_accuracy_vs_faithful')} | "
                     f"{optional(n, 'balanced_accuracy_vs_faithful')} |")
    return "\n".join(lines) + "\n"
