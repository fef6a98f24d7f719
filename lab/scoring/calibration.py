"""The fitted part of the scorers: a small, versioned JSON artefact per embedding model.

`exolab calibrate` fits logistic regressions (scikit-learn) on the train split of `datasets/`,
chooses decision thresholds on the dev split, and writes the weights, thresholds, the detector's
reference texts and the hashes of everything it was fitted on. Scoring needs only numpy and this
file; the test split is never used here.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from lab.bank import QuestionBank, load_bank
from lab.errors import SetupError
from lab.paths import metrics_dir
from lab.records import safe_filename
from lab.scoring.data import capture_items, data_sha256, detector_items
from lab.scoring.embeddings import CachedEmbedder, get_embedder
from lab.scoring.features import (
    DETECTOR_FEATURES,
    JUDGE_FEATURES,
    JudgeSignals,
    Reference,
    candidates,
    decisive,
    detector_features,
    judge_signals,
)

SCHEMA_VERSION = 1
MAX_FALSE_POSITIVE_RATE = 0.03
# the threshold is chosen to keep false positives on dev within half the target: dev holds about
# 70 non-question turns, and the rate on unseen turns scatters by a few points around it
DEV_FALSE_POSITIVE_RATE = MAX_FALSE_POSITIVE_RATE / 2
DETECTOR_C = 3.0  # inverse regularisation, chosen on the dev split among 0.3, 1, 3, 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearModel(_Model):
    features: list[str]
    coef: list[float]
    intercept: float
    threshold: float

    @cached_property
    def _weights(self) -> np.ndarray:
        return np.asarray(self.coef, dtype=np.float64)

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self._weights + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.score(x)))


class ClauseClassifier(_Model):
    """Multinomial logistic regression from a clause to the question it asks ("" for none):
    supervised evidence beside the nearest-reference similarity. It reads the clause's embedding
    and its character n-grams (hashed), which carry the wording cues an embedding blurs ("штат",
    "headcount", "多少人"); only the n-grams seen in fitting have weights, stored sparsely."""

    classes: list[str]
    coef: list[list[float]]
    intercept: list[float]
    lexical: dict[str, list[float]] = {}

    @cached_property
    def _weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrays built once: scoring runs on every turn, the lists are for the JSON artefact."""
        return np.asarray(self.coef, dtype=np.float64).T, np.asarray(self.intercept, dtype=np.float64)

    @cached_property
    def _lexical(self) -> np.ndarray:
        """A dense weight table (65 536 × classes, a few MB): sparse n-grams times a dense table is
        one cheap product per turn, where a sparse table costs a sparse-by-sparse product."""
        rows = np.array([int(k) for k in self.lexical], dtype=np.int64)
        weights = np.zeros((LEXICAL_FEATURES, len(self.classes)))
        if len(rows):
            weights[rows] = np.asarray(list(self.lexical.values()), dtype=np.float64)
        return weights

    def for_questions(self, vectors: np.ndarray, texts: list[str], question_ids: list[str]) -> np.ndarray:
        weights, intercept = self._weights
        z = np.asarray(vectors, dtype=np.float64) @ weights + intercept
        if self.lexical:
            # a run repeats its clauses (the same question in many calls): each is scored once
            distinct = list(dict.fromkeys(texts))
            row_of = {text: row for row, text in enumerate(distinct)}
            z += lexical_scores(distinct, self._lexical)[[row_of[text] for text in texts]]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        columns = [self.classes.index(q) for q in question_ids]
        return p[:, columns]


LEXICAL_FEATURES = 2 ** 16


def _hashing(norm: str | None) -> Any:
    """The one n-gram hashing the fit and the scoring share; only the row norm differs."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=LEXICAL_FEATURES,
                             alternate_sign=False, norm=norm)


@cache
def _hashing_vectorizer() -> Any:
    """Built (and scikit-learn imported) once per process: the fit vectorises every clause."""
    return _hashing("l2")


def lexical_vectors(texts: list[str]) -> Any:
    """Hashed character 2–4-grams within words, L2-normalised: deterministic, no vocabulary to ship."""
    return _hashing_vectorizer().transform(texts)


@cache
def _ngram_counter() -> Any:
    """The same hashing as `_hashing_vectorizer`, unnormalised: the n-gram counts of single words."""
    return _hashing(None)


def load_lexical() -> None:
    """Build the n-gram counter (and import scikit-learn) now: the detector does it when it loads,
    so the first scored turn does not pay for it."""
    _ngram_counter().transform([""])
    _ngram_column("")
    _ngram_analyser()


# Below this many texts, remembering each word's n-gram columns beats one vectorised hashing call,
# whose fixed cost (input checks, sparse matrices) dominates a turn scored on its own.
SMALL_BATCH = 64


def lexical_scores(texts: list[str], weights: np.ndarray) -> np.ndarray:
    """`lexical_vectors(texts) @ weights` for scoring (a tested identity, on both paths).
    Character n-grams within words never cross a word, so a text's counts are the sum of its
    words' counts. A batch hashes its distinct words in one call and adds them up per text in one
    sparse product; a few texts use the remembered columns of each word. Vectorising each clause
    on its own re-derives the n-grams of every recurring word, a fair share of the encode on a
    run's worth of turns."""
    if len(texts) < SMALL_BATCH:
        return _lexical_scores_by_word(texts, weights)
    from scipy.sparse import csr_matrix

    words = [text.lower().split() for text in texts]
    vocabulary = {word: i for i, word in enumerate(dict.fromkeys(w for ws in words for w in ws))}
    per_word = _ngram_counter().transform(list(vocabulary) or [""])
    rows = np.repeat(np.arange(len(texts)), [len(ws) for ws in words])
    columns = np.fromiter((vocabulary[w] for ws in words for w in ws), dtype=np.int64, count=len(rows))
    incidence = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(texts), per_word.shape[0]))
    counts = (incidence @ per_word).tocsr()
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    return np.asarray(counts @ weights) / np.where(norms > 0, norms, 1.0)[:, None]


@lru_cache(maxsize=1 << 18)
def _ngram_column(ngram: str) -> int:
    """The column scikit-learn's hashing puts an n-gram in (signed MurmurHash3, absolute value)."""
    from sklearn.utils import murmurhash3_32

    h = murmurhash3_32(ngram, seed=0)
    return (2 ** 31 if h == -2 ** 31 else abs(h)) % LEXICAL_FEATURES


@cache
def _ngram_analyser() -> Callable[[str], list[str]]:
    return _ngram_counter().build_analyzer()  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 16)
def _word_columns(word: str) -> tuple[int, ...]:
    """The columns of a word's n-grams (with repeats): words recur from turn to turn."""
    return tuple(map(_ngram_column, _ngram_analyser()(word)))


def _lexical_scores_by_word(texts: list[str], weights: np.ndarray) -> np.ndarray:
    out = np.zeros((len(texts), weights.shape[1]))
    for row, text in enumerate(texts):
        found = [c for word in text.lower().split() for c in _word_columns(word)]
        if found:
            columns, counts = np.unique(np.asarray(found, dtype=np.int64), return_counts=True)
            out[row] = (counts / np.sqrt(np.dot(counts, counts))) @ weights[columns]
    return out


class ReferenceText(_Model):
    text: str
    label: str
    origin: str


class Calibration(_Model):
    schema_version: int
    embedding_model: str
    embedding_model_id: str
    data_sha256: str
    inputs_sha256: dict[str, str]
    scikit_learn: str
    detector: LinearModel
    detector_references: list[ReferenceText]
    clause_classifier: ClauseClassifier
    judge: LinearModel
    naive_detector_threshold: float
    naive_judge_threshold: float
    answer_topics: dict[str, list[float]]
    dev: dict[str, float]


def calibration_dir() -> Path:
    override = os.environ.get("EXOLAB_CALIBRATION_DIR")
    return Path(override) if override else Path(__file__).resolve().parent / "calibration"


def calibration_path(model: str) -> Path:
    return calibration_dir() / f"{safe_filename(model)}.json"


def inputs_sha256() -> dict[str, str]:
    return {name: hashlib.sha256((metrics_dir() / name).read_bytes()).hexdigest()
            for name in ("questions.yaml", "scorers.yaml")}


class CalibrationMissing(SetupError):
    pass


@lru_cache(maxsize=4)
def load_calibration(model: str) -> Calibration:
    path = calibration_path(model)
    if not path.is_file():
        raise CalibrationMissing(
            f"no scorer calibration for embedding model {model!r} ({path.name}); "
            f"run: exolab calibrate --embedding-model {model}")
    calibration = Calibration.model_validate_json(path.read_text(encoding="utf-8"))
    embedder_id = get_embedder(model).model_id
    if calibration.embedding_model_id != embedder_id:
        raise CalibrationMissing(
            f"calibration {path.name} was fitted with {calibration.embedding_model_id}, but {model!r} "
            f"loads {embedder_id}; run: exolab calibrate --embedding-model {model}")
    return calibration


def bank_references(bank: QuestionBank) -> list[ReferenceText]:
    refs = [ReferenceText(text=text, label=q.id, origin="") for q in bank.questions
            for _, text in q.phrasings.all()]
    refs += [ReferenceText(text=text, label="", origin="") for _, text in bank.out_of_bank.all()]
    return refs


def build_reference(refs: list[ReferenceText], embedder: CachedEmbedder) -> Reference:
    return Reference(texts=[r.text for r in refs], labels=np.array([r.label for r in refs]),
                     origins=np.array([r.origin for r in refs]), vectors=embedder.encode([r.text for r in refs]))


def detector_matrix(texts: list[str], reference: Reference, embedder: CachedEmbedder, question_ids: list[str],
                    exclude_own: list[str] | None = None, model: LinearModel | None = None,
                    classifier: ClauseClassifier | None = None) -> tuple[np.ndarray, list[list[str]]]:
    """Features of every (text, question id) pair, in one batched encode; rows grouped per text."""
    per_text = [candidates(t) for t in texts]
    flat = [c.text for cs in per_text for c in cs]
    if not flat:
        return np.zeros((0, len(DETECTOR_FEATURES))), [[] for _ in texts]
    vectors = embedder.encode(flat)
    probs = classifier.for_questions(vectors, flat, question_ids) if classifier else None
    return detector_features(texts, vectors, per_text, reference, question_ids, exclude_own,
                             model.score if model else None, probs)


def answer_topics(question_ids: list[str], texts: list[str], embedder: CachedEmbedder) -> dict[str, list[float]]:
    """Unit centroid of the known answers to each question: what an answer to it reads like."""
    vectors = embedder.encode(texts)
    out = {}
    for qid in sorted(set(question_ids)):
        mean = vectors[np.array(question_ids) == qid].mean(axis=0)
        out[qid] = [round(float(x), 5) for x in mean / max(float(np.linalg.norm(mean)), 1e-12)]
    return out


def judge_matrix(truths: list[str], captured: list[str], question_ids: list[str], embedder: CachedEmbedder,
                 topics: dict[str, list[float]] | None = None) -> np.ndarray:
    return np.vstack([s.features for s in judge_signal_rows(truths, captured, question_ids, embedder, topics)])


def judge_signal_rows(truths: list[str], captured: list[str], question_ids: list[str], embedder: CachedEmbedder,
                      topics: dict[str, list[float]] | None = None) -> list[JudgeSignals]:
    """The judge's signals for each (truth, capture) pair, with one batched encode for all pairs."""
    from lab.scoring.text import sentences

    parts = [[c, *[s for s in sentences(c) if s != c]] for c in captured]
    vectors = embedder.encode(list(truths) + [p for ps in parts for p in ps])
    truth_vecs, rest = vectors[:len(truths)], vectors[len(truths):]
    topic_ids = sorted(topics) if topics else []
    centroids = np.array([topics[q] for q in topic_ids], dtype=np.float32) if topics else None
    rows: list[JudgeSignals] = []
    start = 0
    for i, ps in enumerate(parts):
        chunk = rest[start:start + len(ps)]
        sim = float((chunk @ truth_vecs[i]).max())
        start += len(ps)
        margin = 0.0
        if centroids is not None and question_ids[i] in topics:  # type: ignore[operator]
            own = topic_ids.index(question_ids[i])
            # the sentence that reads most like an answer to its own question counts: a capture
            # may carry small talk around the fact
            topic_sims = chunk @ centroids.T
            margin = float((topic_sims[:, own] - np.delete(topic_sims, own, axis=1).max(axis=1)).max())
        rows.append(judge_signals(truths[i], captured[i], sim, margin))
    return rows


def judge_probability(model: LinearModel, features: np.ndarray) -> np.ndarray:
    """The judge's probability that a capture is faithful; 0 where a decisive signal fired."""
    return np.where(decisive(features), 0.0, model.probability(features))


def plain_similarity(judge_features: np.ndarray) -> np.ndarray:
    """The cosine of truth vs capture, whatever the languages: the naive judge's only signal."""
    return judge_features[:, 0] + judge_features[:, 1]


def detector_probability(model: LinearModel, features: np.ndarray) -> np.ndarray:
    """The detector's probability per (utterance, question) row; 0 where no clause of the utterance
    has that question as its best match (one clause asks one thing)."""
    owned = np.asarray(features)[:, DETECTOR_FEATURES.index("clause_top")] > 0
    return np.where(owned, model.probability(features), 0.0)


def _fit_logistic(x: np.ndarray, y: np.ndarray, balanced: bool, c: float = 1.0) -> tuple[list[float], float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
    model.fit(x, y)
    return [float(c) for c in model.coef_[0]], float(model.intercept_[0])


def _micro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    tp = float((pred & gold).sum())
    fp, fn = float((pred & ~gold).sum()), float((~pred & gold).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
THRESHOLD_WINDOW = 5  # grid steps either side: a threshold is judged with its neighbours
# How far below the best a threshold may score and still count as on the plateau: a point where
# the scores come from about a hundred held-out items per class (the judge's dev captures), half a
# point where they come from four times as many (the detector's dev and cross-fitted train turns),
# whose scatter is half as wide.
PLATEAU_TOLERANCE = 0.01
DETECTOR_PLATEAU_TOLERANCE = 0.005


def _smoothed(values: np.ndarray) -> np.ndarray:
    """Each grid threshold's value averaged with its neighbours' (±`THRESHOLD_WINDOW` steps)."""
    padded = np.pad(values, THRESHOLD_WINDOW, mode="edge")
    return np.convolve(padded, np.ones(2 * THRESHOLD_WINDOW + 1) / (2 * THRESHOLD_WINDOW + 1), mode="valid")


def _highest_near_best(smooth: np.ndarray, allowed: np.ndarray, tolerance: float) -> float:
    """The highest allowed grid threshold whose smoothed score is within `tolerance` of the best
    allowed one: on a broad plateau, the precise end carries over better to turns unlike any
    labelled one (a customer asking about stress)."""
    candidates = np.flatnonzero(allowed)
    near = candidates[smooth[candidates] >= smooth[candidates].max() - tolerance]
    return float(THRESHOLD_GRID[near[-1]])


def _steadiest_best(score: Callable[[float], float], tolerance: float = PLATEAU_TOLERANCE) -> float:
    """The grid threshold whose neighbourhood scores best on average. A single dev item moves the
    edge of a plateau, and two distant thresholds can tie by chance; the middle of a broad good
    region is what carries over to unseen turns."""
    smooth = _smoothed(np.array([score(float(t)) for t in THRESHOLD_GRID]))
    return _highest_near_best(smooth, np.ones(len(smooth), dtype=bool), tolerance)


def choose_detector_threshold(prob: np.ndarray, gold: np.ndarray, negative_items: np.ndarray,
                              n_ids: int) -> float:
    """Best micro-F1 among the thresholds that keep false positives on non-question items within
    `DEV_FALSE_POSITIVE_RATE`, both judged with their neighbours (see `_steadiest_best`). The two
    are smoothed apart: scoring a threshold over the limit as 0 and smoothing that would push the
    choice a whole window past where the limit binds, and cost recall for no false positive."""
    f1, fp_rate = [], []
    for t in THRESHOLD_GRID:
        pred = prob >= t
        per_item: np.ndarray = np.asarray(pred.reshape(-1, n_ids).any(axis=1))
        f1.append(_micro_f1(pred, gold))
        fp_rate.append(float(per_item[negative_items].mean()) if negative_items.any() else 0.0)
    smooth_fp = _smoothed(np.array(fp_rate))
    allowed = smooth_fp <= DEV_FALSE_POSITIVE_RATE
    if not allowed.any():  # nothing keeps within the limit: the threshold that comes closest
        allowed = smooth_fp <= smooth_fp.min()
    return _highest_near_best(_smoothed(np.array(f1)), allowed, DETECTOR_PLATEAU_TOLERANCE)


def balanced_accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    pos, neg = gold == 1, gold == 0
    tpr = float(pred[pos].mean()) if pos.any() else 0.0
    tnr = float((~pred[neg]).mean()) if neg.any() else 0.0
    return (tpr + tnr) / 2


def choose_judge_threshold(prob: np.ndarray, gold: np.ndarray) -> float:
    return _steadiest_best(lambda t: balanced_accuracy(prob >= t, gold))


def naive_detector_scores(texts: list[str], reference: Reference, embedder: CachedEmbedder,
                          question_ids: list[str]) -> np.ndarray:
    """The usual baseline: cosine of the whole utterance to the nearest reference of each question."""
    return reference.best_per_label(embedder.encode(texts), question_ids)


def gold_matrix(labels: list[list[str]], question_ids: list[str]) -> np.ndarray:
    return np.array([[qid in ls for qid in question_ids] for ls in labels], dtype=bool)


def training_references(bank: QuestionBank, train: pd.DataFrame) -> list[ReferenceText]:
    """The bank's phrasings plus the single-question and no-question training turns."""
    refs = bank_references(bank)
    refs += [ReferenceText(text=row.text, label=row.labels[0] if row.labels else "", origin=row.item_id)
             for row in train.itertuples() if len(row.labels) <= 1]
    return refs


CLASSIFIER_C = 10.0
CLASSIFIER_FOLDS = 5


def fit_clause_classifier(train: pd.DataFrame, bank: QuestionBank, embedder: CachedEmbedder) -> ClauseClassifier:
    """Clauses of single-question turns labelled with their question, clauses of turns that ask
    nothing labelled "", plus the bank's phrasings; then the clauses of multi-question turns, each
    labelled with the question a first classifier finds it asks best (so the classifier also
    learns from the second half of "How urgent is it, and what would waiting cost you?")."""
    texts, labels = [], []
    for row in train.itertuples():
        if len(row.labels) > 1:
            continue
        found = candidates(row.text)
        asking = [c.text for c in found if c.interrogative] or [row.text]
        for text in (asking if row.labels else [c.text for c in found]):
            texts.append(text)
            labels.append(row.labels[0] if row.labels else "")
    for question in bank.questions:
        for _, text in question.phrasings.all():
            texts.append(text)
            labels.append(question.id)
    for _, text in bank.out_of_bank.all():
        texts.append(text)
        labels.append("")
    first = _fit_clause_classifier(texts, labels, embedder)
    for row in train.itertuples():
        if len(row.labels) > 1:
            for text, label in _assign_clauses(row.text, row.labels, first, embedder):
                texts.append(text)
                labels.append(label)
    return _fit_clause_classifier(texts, labels, embedder)


def _assign_clauses(text: str, gold: list[str], classifier: ClauseClassifier,
                    embedder: CachedEmbedder) -> list[tuple[str, str]]:
    """Each asked question paired with the clause that asks it best, where that clause asks no
    other of the turn's questions better."""
    clauses = [c.text for c in candidates(text) if c.interrogative and c.text != text]
    if len(clauses) < len(gold):
        return []
    probs = classifier.for_questions(embedder.encode(clauses), clauses, gold)
    pairs = []
    for j, qid in enumerate(gold):
        best = int(probs[:, j].argmax())
        if int(probs[best].argmax()) == j:
            pairs.append((clauses[best], qid))
    return pairs


def _fit_clause_classifier(texts: list[str], labels: list[str], embedder: CachedEmbedder) -> ClauseClassifier:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    dense = embedder.encode(texts)
    lexical = lexical_vectors(texts)
    model = LogisticRegression(C=CLASSIFIER_C, max_iter=5000).fit(hstack([csr_matrix(dense), lexical]).tocsr(),
                                                                  labels)
    width = dense.shape[1]
    # n-grams met in one training text only carry little and would double the artefact: dropped
    # (the thresholds are chosen with the classifier as stored, so what is measured is what ships)
    seen = np.flatnonzero(np.bincount(lexical.indices, minlength=LEXICAL_FEATURES) >= 2)
    return ClauseClassifier(classes=[str(c) for c in model.classes_],
                            coef=[[round(float(x), 6) for x in row[:width]] for row in model.coef_],
                            intercept=[round(float(x), 6) for x in model.intercept_],
                            lexical={str(i): [round(float(x), 4) for x in model.coef_[:, width + i]] for i in seen})


@dataclass(frozen=True)
class DetectorFit:
    """The fitted detector, and its probabilities on the training turns as scored by clause
    classifiers that never saw them (item × question, with the gold matrix), for choosing the
    threshold on more than the dev turns."""

    model: LinearModel
    classifier: ClauseClassifier
    train_probability: np.ndarray
    train_gold: np.ndarray


def fit_detector(train: pd.DataFrame, reference: Reference, embedder: CachedEmbedder, bank: QuestionBank
                 ) -> DetectorFit:
    """The clause classifier's opinion of a training turn comes from a classifier that never saw it
    (cross-fitting), so the model learns how far to trust it on unseen turns. Each question is judged
    on the clause that best supports it, and which clause that is depends on the model: fit twice,
    first ranking clauses by similarity, then by the first model."""
    qids = bank.ids
    train = train.reset_index(drop=True)
    fold = np.arange(len(train)) % CLASSIFIER_FOLDS
    fold_classifiers = [fit_clause_classifier(train[fold != k], bank, embedder) for k in range(CLASSIFIER_FOLDS)]
    order = np.concatenate([np.flatnonzero(fold == k) for k in range(CLASSIFIER_FOLDS)])
    ordered = train.iloc[order]
    y = gold_matrix(ordered["labels"].tolist(), qids).reshape(-1)
    fitted: LinearModel | None = None
    for _ in range(2):
        parts = []
        for k in range(CLASSIFIER_FOLDS):
            part = train[fold == k]
            x, _ = detector_matrix(part["text"].tolist(), reference, embedder, qids, part["item_id"].tolist(),
                                   fitted, fold_classifiers[k])
            parts.append(x)
        x = np.vstack(parts)
        owned = x[:, DETECTOR_FEATURES.index("clause_top")] > 0
        coef, intercept = _fit_logistic(x[owned], y[owned], balanced=False, c=DETECTOR_C)
        fitted = LinearModel(features=list(DETECTOR_FEATURES), coef=coef, intercept=intercept, threshold=0.5)
    assert fitted is not None
    return DetectorFit(fitted, fit_clause_classifier(train, bank, embedder),
                       detector_probability(fitted, x).reshape(-1, len(qids)), y.reshape(-1, len(qids)))


def fit_judge(train: pd.DataFrame, embedder: CachedEmbedder) -> tuple[LinearModel, dict[str, list[float]]]:
    """The judge's model and the answer topics it measures captures against."""
    known = train[train["label"] == 1]
    topics = answer_topics(train["question_id"].tolist() + known["question_id"].tolist(),
                           train["truth"].tolist() + known["captured"].tolist(), embedder)
    x = judge_matrix(train["truth"].tolist(), train["captured"].tolist(), train["question_id"].tolist(),
                     embedder, topics)
    coef, intercept = _fit_logistic(x, train["label"].to_numpy(), balanced=True)
    return LinearModel(features=list(JUDGE_FEATURES), coef=coef, intercept=intercept, threshold=0.5), topics


def fit_calibration(model: str, progress: Any = None) -> Calibration:
    """Fit on train, choose thresholds on dev. Deterministic for the same data and model."""
    embedder = get_embedder(model)
    bank = load_bank()
    qids = bank.ids
    items = detector_items()
    assistant = items[items["role"] == "assistant"]
    train, dev = assistant[assistant["split"] == "train"], assistant[assistant["split"] == "dev"]
    refs = training_references(bank, train)
    reference = build_reference(refs, embedder)
    if progress:
        progress("detector features")
    fit = fit_detector(train, reference, embedder, bank)
    detector, classifier = fit.model, fit.classifier
    x_dev, _ = detector_matrix(dev["text"].tolist(), reference, embedder, qids, model=detector,
                               classifier=classifier)
    gold_dev = gold_matrix(dev["labels"].tolist(), qids)
    negatives = np.array([not ls for ls in dev["labels"]])
    # dev alone holds under a hundred turns that ask nothing, so one turn moves the false-positive
    # rate by more than a point: the threshold is chosen on dev together with the training turns
    # as scored by clause classifiers that never saw them (the n-gram and embedding classifier is
    # what could overfit; the nine-weight combining model hardly can)
    held_out_prob = np.vstack([fit.train_probability, detector_probability(detector, x_dev).reshape(-1, len(qids))])
    held_out_gold = np.vstack([fit.train_gold, gold_dev])
    threshold = choose_detector_threshold(held_out_prob.reshape(-1), held_out_gold.reshape(-1),
                                          np.asarray(~held_out_gold.any(axis=1)), len(qids))
    detector = detector.model_copy(update={"threshold": threshold})
    naive_dev = naive_detector_scores(dev["text"].tolist(), reference, embedder, qids)
    naive_detector_t = choose_detector_threshold(naive_dev.reshape(-1), gold_dev.reshape(-1), negatives,
                                                 len(qids))

    if progress:
        progress("judge features")
    caps = capture_items()
    c_train, c_dev = caps[caps["split"] == "train"], caps[caps["split"] == "dev"]
    judge, topics = fit_judge(c_train, embedder)
    xj_dev = judge_matrix(c_dev["truth"].tolist(), c_dev["captured"].tolist(), c_dev["question_id"].tolist(),
                          embedder, topics)
    gold_j = c_dev["label"].to_numpy()
    judge = judge.model_copy(update={"threshold": choose_judge_threshold(judge_probability(judge, xj_dev), gold_j)})
    naive_judge_t = choose_judge_threshold(plain_similarity(xj_dev), gold_j)

    pred_dev = detector_probability(detector, x_dev).reshape(-1, len(qids)) >= detector.threshold
    return Calibration(
        schema_version=SCHEMA_VERSION, embedding_model=model, embedding_model_id=embedder.model_id,
        data_sha256=data_sha256(), inputs_sha256=inputs_sha256(),
        scikit_learn=importlib.metadata.version("scikit-learn"),
        detector=detector, detector_references=refs, clause_classifier=classifier, judge=judge,
        naive_detector_threshold=naive_detector_t, naive_judge_threshold=naive_judge_t, answer_topics=topics,
        dev={"detector_micro_f1": round(_micro_f1(pred_dev.reshape(-1), gold_dev.reshape(-1)), 4),
             "judge_balanced_accuracy": round(balanced_accuracy(judge_probability(judge, xj_dev) >= judge.threshold,
                                                                gold_j), 4),
             "detector_items": float(len(dev)), "judge_items": float(len(c_dev))},
    )


_NUMBER_LIST = re.compile(r"\[\s*(-?[0-9][-0-9.e+]*(?:,\s*-?[0-9][-0-9.e+]*)*)\s*\]")


def save_calibration(calibration: Calibration) -> Path:
    path = calibration_path(calibration.embedding_model)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = calibration.model_dump_json(indent=1)
    # one line per list of numbers: a readable diff without a line per weight
    text = _NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    path.write_text(text + "\n", encoding="utf-8")
    load_calibration.cache_clear()
    return path
