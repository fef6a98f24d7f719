"""The signals the two scorers combine, computed the same way for fitting and for scoring.

Detector, per (utterance, question id): similarity of the utterance's best clause to the
question's references, its margin over the other questions and over out-of-bank questions,
whether the clause is interrogative (a question mark or a request cue) and whether the utterance
restates what the customer said.

Judge, per (truth, capture): similarity, and rule signals a cosine cannot see: numbers and
magnitudes, units/periods, currencies, percentages, polarity, intensity ("critical" vs "can wait")
and named entities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from lab.scoring.config import load_scorer_config
from lab.scoring.quantities import Quantity, extract_quantities, month_number, relatively_close
from lab.scoring.text import (
    QUESTION_MARKS,
    asks_as_list,
    clause_candidates,
    detect_language,
    find_marker,
    opens_with_request,
    sentences,
    worded_as_question,
)

DETECTOR_FEATURES = ("similarity", "margin_other", "margin_out_of_bank", "top1", "interrogative", "restatement",
                     "conjunct_part", "clause_classifier", "clause_top")
JUDGE_FEATURES = ("similarity", "similarity_cross_language", "topic_margin", "cross_language", "numbers_dropped",
                  "number_mismatch", "period_mismatch",
                  "currency_mismatch", "polarity_mismatch", "stance_mismatch", "intensity_mismatch", "entity_swap",
                  "entity_missing", "numbers_added", "numbers_extra", "scope_mismatch", "oversight_mismatch",
                  "word_overlap")



@dataclass(frozen=True)
class Candidate:
    """A clause the detector judges: a sentence, or a conjunct part of a question (which stays
    interrogative though it has lost its question mark)."""

    text: str
    interrogative: bool
    part: bool = False


def candidates(text: str) -> list[Candidate]:
    cues = load_scorer_config().asked_question.interrogative_cues.all()
    out: dict[str, Candidate] = {}
    for sentence in sentences(text) or [text.strip()]:
        # a request asks as much as a question does ("Tell me what you tried and what the ideal
        # would look like." holds two questions), and so does a question that lost its mark
        marked = (sentence.endswith(QUESTION_MARKS) or _has_cue(sentence, cues) or asks_as_list(sentence)
                  or opens_with_request(sentence))
        asks = marked or worded_as_question(sentence)
        parts = (clause_candidates(sentence, lambda part: _opens_with_cue(part, cues), enumerations=marked)
                 if asks else [sentence])
        for part in parts:
            if part and part not in out:
                out[part] = Candidate(part, asks, part != sentence)
    # beside a sentence that asks, one that neither asks nor requests ("Понял.", "We help teams
    # like yours.") is preamble: judging it costs an encode and finds nothing
    asking = [c for c in out.values() if c.interrogative]
    return asking or list(out.values())


def load_cues() -> None:
    """Read the cue lists and compile their patterns now: a detector pays for them when it loads,
    not in the first turn it scores."""
    cfg = load_scorer_config().asked_question
    interrogative = cfg.interrogative_cues.all()
    _cue_pattern(tuple(interrogative))
    _cue_pattern(tuple(cfg.restatement_cues.all()))
    find_marker("", interrogative)


def _opens_with_cue(clause: str, cues: list[str]) -> bool:
    """A request that opens its clause (「方便说一下…」, "聊聊…"); a cue further in belongs to a
    condition or preamble (「如果用两三个步骤描述…，它会是什么样子」)."""
    found = find_marker(clause, cues)
    return found is not None and found[0] <= 3


def _has_cue(text: str, cues: list[str]) -> bool:
    """Whether any cue occurs in the text, anywhere (case-insensitive)."""
    return _cue_pattern(tuple(cues)).search(text.lower()) is not None


@lru_cache(maxsize=16)
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation per cue list, compiled once: a run checks every sentence against a hundred
    cues, which as a loop of substring tests cost a tenth of the scoring."""
    return re.compile("|".join(re.escape(cue.lower()) for cue in cues) or r"(?!)")


@dataclass(frozen=True)
class Reference:
    """Reference texts of the detector: labelled with a question id, or with "" (asks nothing)."""

    texts: list[str]
    labels: np.ndarray  # question id per text, "" for out-of-bank / non-question references
    origins: np.ndarray  # id of the labelled item a text came from ("" for the question bank)
    vectors: np.ndarray

    @cached_property
    def grouped(self) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """The columns ordered by label, where each label's run starts, and each label's run: the
        best similarity per label is then one `maximum.reduceat` instead of a pass per label."""
        order = np.argsort(self.labels, kind="stable")
        ordered = self.labels[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        return order, starts, {str(ordered[start]): k for k, start in enumerate(starts)}

    @cached_property
    def _grouped_vectors(self) -> np.ndarray:
        """The vectors in label order, so similarities come out grouped: gathering the columns of
        a clauses × references matrix afterwards cost as much as the product itself."""
        return np.ascontiguousarray(self.vectors[self.grouped[0]])

    def best_per_label(self, vectors: np.ndarray, labels: list[str], hide: np.ndarray | None = None) -> np.ndarray:
        """For each of `vectors`, the best similarity among each label's references; -1 for a
        label without any. `hide` (rows × references, in `origins` order) marks pairs to skip."""
        order, starts, run_of = self.grouped
        sims = vectors @ self._grouped_vectors.T
        if hide is not None:
            sims[hide[:, order]] = -1.0
        best = np.maximum.reduceat(sims, starts, axis=1)
        out = np.full((sims.shape[0], len(labels)), -1.0, dtype=np.float32)
        for j, label in enumerate(labels):
            if label in run_of:
                out[:, j] = best[:, run_of[label]]
        return out


def detector_features(texts: list[str], clause_vectors: np.ndarray, clauses: list[list[Candidate]],
                      reference: Reference, question_ids: list[str], exclude_origins: list[str] | None = None,
                      score: Callable[[np.ndarray], np.ndarray] | None = None,
                      clause_probs: np.ndarray | None = None) -> tuple[np.ndarray, list[list[str]]]:
    """For every text, one row per bank question: the features of the text's clause that best
    supports it, and that clause. `clause_vectors` holds every text's clauses in order. `score`
    ranks a clause's feature rows (the calibrated model's linear score); without it, similarity
    ranks. `clause_probs` (clauses × questions) is the supervised clause classifier's opinion.
    Computed for the whole batch at once: a run has thousands of turns, and per-turn numpy calls
    would cost a fair share of the encode."""
    cfg = load_scorer_config().asked_question
    counts = np.array([len(cs) for cs in clauses], dtype=np.int64)
    owner = np.repeat(np.arange(len(texts)), counts)
    flat = [c for cs in clauses for c in cs]
    origins, hide = exclude_origins or [], None
    if any(origins):  # fitting: a labelled turn must not find itself among the references
        hide = np.zeros((len(flat), len(reference.texts)), dtype=bool)
        for i, origin in enumerate(origins):
            if origin:
                hide[np.ix_(owner == i, reference.origins == origin)] = True
    n_c, n_q = len(flat), len(question_ids)
    best = reference.best_per_label(clause_vectors, [*question_ids, ""], hide)
    per_id, neg_best = best[:, :n_q], best[:, n_q]
    restatement_cues = cfg.restatement_cues.all()
    restatement = np.array([_has_cue(t, restatement_cues) for t in texts], dtype=np.float32)
    # best similarity among the *other* questions: the runner-up where j itself is the best
    if n_q > 1:
        order = np.argsort(-per_id, axis=1)
        first = np.take_along_axis(per_id, order[:, :1], axis=1)
        second = np.take_along_axis(per_id, order[:, 1:2], axis=1)
        other_best = np.where(np.arange(n_q)[None, :] == order[:, :1], second, first)
    else:
        other_best = np.full_like(per_id, -1.0)
    grid = np.zeros((n_c, n_q, len(DETECTOR_FEATURES)), dtype=np.float32)
    grid[:, :, 0] = per_id
    grid[:, :, 1] = per_id - other_best
    grid[:, :, 2] = per_id - neg_best[:, None]
    grid[:, :, 3] = per_id >= per_id.max(axis=1, keepdims=True)
    grid[:, :, 4] = np.array([c.interrogative for c in flat], dtype=np.float32)[:, None]
    grid[:, :, 5] = restatement[owner][:, None]
    grid[:, :, 6] = np.array([c.part for c in flat], dtype=np.float32)[:, None]
    if clause_probs is not None:
        grid[:, :, 7] = clause_probs
    ranking = score(grid.reshape(-1, grid.shape[2])).reshape(n_c, n_q) if score else per_id
    # a clause asks one thing: a question is supported only by a clause whose best question it is
    grid[:, :, 8] = ranking >= ranking.max(axis=1, keepdims=True)
    supported = np.where(grid[:, :, 8] > 0, ranking, ranking - 1e6)
    rows = np.zeros((len(texts), n_q, len(DETECTOR_FEATURES)), dtype=np.float32)
    chosen: list[list[str]] = []
    ends = np.cumsum(counts)
    for i, (begin, end) in enumerate(zip(ends - counts, ends, strict=True)):
        best = begin + supported[begin:end].argmax(axis=0)
        rows[i] = grid[best, np.arange(n_q)]
        chosen.append([flat[b].text for b in best])
    return rows.reshape(-1, len(DETECTOR_FEATURES)), chosen


# --- judge -----------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"(?<![А-Яа-яЁё])(?:не|нет|ни|никогда|ничего|без)(?![А-Яа-яЁё])(?!\s+только)"
    r"|\b(?:no|not|never|none|nothing|without|zero|non)\b(?!\s+only)|n't"
    # 不然 "otherwise", 不过 "but", 不少 "quite a few", 不仅 "not only", 不断 "constantly" negate nothing
    r"|没有|没|不(?![然过少仅断])|无|未|从未|从来没",
    re.IGNORECASE,
)
# Acronyms anywhere (CTO, HR, 1C aside), capitalised names not at the start of a sentence; ASCII
# look-arounds instead of \b so that "我们CTO牵头" still yields CTO.
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z][A-Z0-9]{1,}[a-z]?(?![A-Za-z])")
_NAME = re.compile(r"(?<![A-Za-z])(?<![.!?:;]\s)(?<!^)[A-Z][a-z]+(?:[A-Z][A-Za-z0-9]*)?(?![A-Za-z])", re.MULTILINE)
_COMMON_CAPITALISED = {"We", "The", "Our", "It", "In", "About", "Around", "Roughly", "And", "But",
                       "Yes", "No", "So", "Well", "Mostly", "They", "This", "That", "There", "Approx",
                       "Currently", "Today", "Now", "Only", "Some", "Customer", "Team", "Head"}
# acronyms every answer about AI shares: they name no one, so sharing them keeps no entity
_GENERIC_ACRONYMS = {"AI", "LLM", "LLMS", "ML", "NLP", "GENAI"}


def polarity_negative(text: str) -> bool:
    """Whether the text negates anything at all. Presence, not parity: paraphrases often add or
    drop a second negation ("nothing without audit") while keeping the meaning."""
    return bool(_NEGATION.search(text))


def entities(text: str, aliases: dict[str, list[str]] | None = None) -> set[str]:
    """Acronyms and capitalised names, with spelled-out aliases (any language) folded into their
    canonical name, so "support and procurement" and "поддержка и закупки" name the same things."""
    for canonical, spellings in (aliases or {}).items():
        for spelling in sorted(spellings, key=len, reverse=True):
            # a Latin or Cyrillic spelling starts a word ("risk" is not in "asterisk"); CJK has no words
            boundary = r"(?<![A-Za-zА-Яа-яЁё0-9])" if re.match(r"[A-Za-zА-Яа-яЁё]", spelling) else ""
            text = re.sub(boundary + re.escape(spelling), f" {canonical} ", text, flags=re.IGNORECASE)
    found = {m.group(0).upper() for m in _ACRONYM.finditer(text)}
    found |= {m.group(0).upper() for m in _NAME.finditer(text.strip()) if m.group(0) not in _COMMON_CAPITALISED}
    # months are compared as dates by the quantity signals: "Nov" and "November" are one month
    return {name for name in found - _GENERIC_ACRONYMS
            if month_number(name.capitalize() if name == "MAY" else name) is None}


def _opens_with(lowered: str, cues: list[str]) -> bool:
    return any(c.startswith("^") and lowered.startswith(c[1:]) for c in cues)


def _mentions(lowered: str, cues: list[str]) -> bool:
    return find_marker(lowered, [c for c in cues if not c.startswith("^")]) is not None


def _lowered(text: str) -> str:
    return text.lower().lstrip(" \"'«“—-")


def stance(text: str, deny: list[str], affirm: list[str]) -> int:
    """-1 denies, +1 affirms, 0 neither. An answer that opens with its verdict ("Yes — it promised
    a discount that didn't exist", "Был случай …") stands by it; otherwise a denial anywhere wins:
    "no incidents so far" denies though it names an incident. Cues starting with "^" count only at
    the start; the others at the start of a word ("never" is not in "whenever")."""
    lowered = _lowered(text)
    if _opens_with(lowered, deny):
        return -1
    if _opens_with(lowered, affirm):
        return 1
    if _mentions(lowered, deny):
        return -1
    return int(_mentions(lowered, affirm))


def first_cue(text: str, negative: list[str], positive: list[str]) -> int:
    """-1 or +1 by the cue that comes first (the longest where two start together: "напрямую не"
    before "напрямую"), 0 when there is none."""
    lowered = _lowered(text)
    hits = [(found[0], -len(cue), sign) for sign, cues in ((-1, negative), (1, positive)) for cue in cues
            if (found := find_marker(lowered, [cue]))]
    return min(hits)[2] if hits else 0


# a negation right before a pressing word turns it around: "не срочно", "not urgent", "不紧急"
_NEGATED_BEFORE = re.compile(
    r"(?:(?<![а-яё])(?:не|нет)\s+|\b(?:not|no|never)\s+(?:that\s+|very\s+|so\s+)?|[不没非]|没那么)$")


def intensity(text: str, high: list[str], low: list[str]) -> int:
    """+1 stated as pressing, -1 as not pressing, 0 neither. Low is looked for first: "не срочно"
    and "not a priority this quarter" contain the words of the pressing side."""
    lowered = text.lower()
    if any(w in lowered for w in low):
        return -1
    pressing = [m.start() for w in high for m in re.finditer(re.escape(w), lowered)]
    if any(_NEGATED_BEFORE.search(lowered[max(0, at - 12):at]) for at in pressing):
        return -1
    return int(bool(pressing))


def scope(text: str, per_person: list[str], total: list[str]) -> int:
    """+1 a figure per person, -1 for the whole team, 0 unsaid (the cues are regular expressions)."""
    lowered = text.lower()
    return (int(any(re.search(p, lowered) for p in per_person))
            - int(any(re.search(p, lowered) for p in total)))


def oversight(text: str, human: list[str], autonomous: list[str]) -> int:
    """+1 a human reviews what the AI produces, -1 the AI acts alone, 0 unsaid."""
    return first_cue(text, autonomous, human)


_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]{4,}|[\u4e00-\u9fff]+")


def content_words(text: str) -> set[str]:
    """Crude stems of the words of four letters or more (their first five letters, so inflected
    forms meet), and the character pairs of Chinese text."""
    out: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if "\u4e00" <= word[0] <= "\u9fff":
            out |= {word[i:i + 2] for i in range(len(word) - 1)} or {word}
        else:
            out.add(word[:5])
    return out


def word_overlap(truth: str, captured: str) -> float:
    """Share of the capture's content words that the ground truth has: a note condenses what was
    said, so a faithful one mostly reuses its words, while an answer about something else does not."""
    words = content_words(captured)
    return len(words & content_words(truth)) / len(words) if words else 0.0


def _same_kind(a: Quantity, b: Quantity) -> bool:
    """Both a share, both money in one currency, or both counting in one unit/period: "from 5 days
    to 2" adds a competing figure, "10 % cashback … 20 hours a week" only mentions something else."""
    if a.percent or b.percent:
        return a.percent == b.percent
    if a.currency or b.currency:
        return a.currency == b.currency
    return bool(set(a.periods) & set(b.periods))


def _bare(q: Quantity) -> bool:
    return not (q.percent or q.currency or q.periods)


def _bare_one(q: Quantity) -> bool:
    return q.value == 1 and _bare(q)


DERIVED_TOLERANCE = 0.1  # "× 5 analysts ≈ 100 h/week" is rounded


def _derived(value: float, truth: list[float]) -> bool:
    """A figure a note computed from the ground truth's own figures: a product or a sum of two."""
    pairs = [(a, b) for i, a in enumerate(truth) for b in truth[i + 1:]]
    return any(relatively_close(value, a * b, DERIVED_TOLERANCE) or relatively_close(value, a + b, DERIVED_TOLERANCE)
               for a, b in pairs)


def quantity_signals(truth: list[Quantity], captured: list[Quantity], tol: float) -> tuple[dict[str, float], list[str]]:
    """Flags and the reasons behind them; each reason names the number it is about."""
    out = {"numbers_dropped": 0.0, "number_mismatch": 0.0, "period_mismatch": 0.0,
           "currency_mismatch": 0.0, "numbers_added": float(bool(captured) and not truth), "numbers_extra": 0.0}
    reasons: list[str] = []
    if not captured:
        truth = [t for t in truth if not _bare_one(t)]  # "一套", "every one of": nothing to keep
    if truth and not captured:
        out["numbers_dropped"] = 1.0
        return out, ["the captured value drops the number(s) of the ground truth"]
    for t in truth:
        shown = f"{t.value:g}{'%' if t.percent else ''}"
        same = [c for c in captured if c.matches(t, tol)]
        if not same and _bare_one(t) and not any(_bare(c) and not any(x.matches(c, tol) for x in truth)
                                                 for c in captured):
            continue  # "once", "one of", "一次": a note may drop it, unless it puts another figure there
        if not same:
            out["number_mismatch"] = 1.0
            reasons.append(f"number {shown} of the ground truth is not in the captured value")
            continue
        # conflicting, not merely less specific: {hour, week} vs {hour, month}, {people} vs {hour}
        if t.periods and not any(t.same_duration(c, tol)
                                 or not (set(t.periods) - set(c.periods) and set(c.periods) - set(t.periods))
                                 for c in same):
            out["period_mismatch"] = 1.0
            reasons.append(f"unit or period differs for {shown}: {'/'.join(t.periods)} expected")
        if t.currency and not any(c.currency in (None, t.currency) for c in same):
            out["currency_mismatch"] = 1.0
            reasons.append(f"currency differs for {shown}: {t.currency} expected")
    extra = [c for c in captured if any(_same_kind(t, c) for t in truth) and not any(t.matches(c, tol) for t in truth)
             and not _derived(c.value, [t.value for t in truth])]
    if extra:
        # not decisive: a note may add a derived figure ("20 FTE, about $1M a year")
        out["numbers_extra"] = 1.0
        reasons.append(f"the captured value has number(s) the ground truth does not: "
                       f"{', '.join(f'{c.value:g}' for c in extra)}")
    if out["numbers_added"]:
        reasons.append("the captured value has numbers the ground truth does not")
    return out, reasons


# Signals that make a capture unfaithful by definition (a different number, magnitude, period,
# currency, named entity, urgency, or per person turned into per team), whatever the similarity:
# the model never overrules them.
DECISIVE = ("number_mismatch", "period_mismatch", "currency_mismatch", "entity_swap", "intensity_mismatch",
            "scope_mismatch")


@dataclass(frozen=True)
class JudgeSignals:
    features: np.ndarray
    reasons: list[str]
    similarity: float


def decisive(features: np.ndarray) -> np.ndarray:
    """Rows (of a judge feature matrix) that a decisive signal marks unfaithful."""
    columns = [JUDGE_FEATURES.index(name) for name in DECISIVE]
    return np.asarray(np.asarray(features)[:, columns].astype(bool).any(axis=1))


def judge_signals(truth: str, captured: str, similarity: float, topic_margin: float = 0.0) -> JudgeSignals:
    """`topic_margin`: how much closer the capture is to answers of its own question than to
    answers of any other question (0 when no topic model is given)."""
    cfg = load_scorer_config().capture
    q, quantity_reasons = quantity_signals(extract_quantities(truth), extract_quantities(captured),
                                           cfg.quantity_tolerance)
    cross = float(detect_language(truth) != detect_language(captured))
    polarity = float(polarity_negative(truth) != polarity_negative(captured))
    t_int = intensity(truth, cfg.intensity.high, cfg.intensity.low)
    c_int = intensity(captured, cfg.intensity.high, cfg.intensity.low)
    intensity_mismatch = float(t_int * c_int < 0)
    t_stance = stance(truth, cfg.stance.deny, cfg.stance.affirm)
    c_stance = stance(captured, cfg.stance.deny, cfg.stance.affirm)
    stance_mismatch = float(t_stance * c_stance < 0)
    scope_mismatch = float(scope(truth, cfg.scope.per_person, cfg.scope.total)
                           * scope(captured, cfg.scope.per_person, cfg.scope.total) < 0)
    t_over = oversight(truth, cfg.oversight.human, cfg.oversight.autonomous)
    c_over = oversight(captured, cfg.oversight.human, cfg.oversight.autonomous)
    oversight_mismatch = float(t_over * c_over < 0)
    # a negation already accounted for by a signal that agrees ("не срочно" vs "nice-to-have",
    # "не ухудшится" vs "хуже не станет", "останется так же" vs "ничего не изменится") is not a
    # change of meaning
    if polarity and ((t_int == c_int != 0) or (t_over == c_over != 0) or (t_stance == c_stance != 0)):
        polarity = 0.0
    t_ent, c_ent = entities(truth, cfg.entity_aliases), entities(captured, cfg.entity_aliases)
    swap = float(bool(t_ent - c_ent) and bool(c_ent - t_ent))
    missing = float(bool(t_ent) and not (t_ent & c_ent) and not swap)
    values = {"similarity": similarity * (1 - cross), "similarity_cross_language": similarity * cross,
              "topic_margin": topic_margin, "cross_language": cross, **q, "polarity_mismatch": polarity,
              "stance_mismatch": stance_mismatch,
              "intensity_mismatch": intensity_mismatch, "entity_swap": swap, "entity_missing": missing,
              "scope_mismatch": scope_mismatch, "oversight_mismatch": oversight_mismatch,
              "word_overlap": word_overlap(truth, captured) * (1 - cross)}
    reasons = list(quantity_reasons)
    if polarity:
        reasons.append("polarity differs (negated in one, affirmed in the other)")
    if stance_mismatch:
        reasons.append("one affirms what the other denies")
    if topic_margin < 0:
        reasons.append("the captured value reads like the answer to another question")
    if intensity_mismatch:
        reasons.append("intensity differs (pressing in one, not pressing in the other)")
    if scope_mismatch:
        reasons.append("a figure per person in one is a figure for the whole team in the other")
    if oversight_mismatch:
        reasons.append("a human reviews in one, the AI acts alone in the other")
    if swap:
        reasons.append(f"named entities differ: {sorted(t_ent)} vs {sorted(c_ent)}")
    if missing:
        reasons.append(f"named entities missing: {sorted(t_ent)}")
    features = np.array([values[name] for name in JUDGE_FEATURES], dtype=np.float32)
    return JudgeSignals(features, reasons, similarity)
