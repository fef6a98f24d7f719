"""Is a captured value faithful to the persona's ground truth for one question?

Cosine similarity alone passes "no incidents" for "an incident" and 10k for 100k. The judge first
applies rule checks that meaning-changing edits trip (quantities, periods, polarity, named
entities), then requires topical similarity. Every verdict carries its reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.scoring.config import load_scorer_config
from lab.scoring.embeddings import get_embedder
from lab.scoring.quantities import Quantity, extract_quantities
from lab.scoring.text import sentences

_NEGATION = re.compile(
    r"(?<![А-Яа-яЁё])(?:не|нет|ни|никогда|ничего|без)(?![А-Яа-яЁё])"
    r"|\b(?:no|not|never|none|nothing|without|n't)\b|n't"
    r"|没有|没|不|无|未|从未",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"\b(?:[A-Z]{2,}[a-z]?|[A-Z][a-z]+[A-Z]\w*|[A-Z][a-z]{2,})\b")
_COMMON_CAPITALISED = {"We", "The", "Our", "It", "In", "About", "Around", "Roughly", "And", "But",
                       "Yes", "No", "So", "Well", "Mostly", "They", "This", "That", "There"}


@dataclass(frozen=True)
class CaptureJudgement:
    faithful: bool
    similarity: float
    reasons: list[str] = field(default_factory=list)


def polarity_negative(text: str) -> bool:
    """Whether the text negates anything at all. Presence, not parity: paraphrases often add or
    drop a second negation ("nothing without audit") while keeping the meaning."""
    return bool(_NEGATION.search(text))


def entities(text: str, aliases: dict[str, list[str]] | None = None) -> set[str]:
    """Capitalised names and acronyms, with spelled-out aliases folded into their canonical name."""
    for canonical, spellings in (aliases or {}).items():
        for spelling in sorted(spellings, key=len, reverse=True):
            text = re.sub(re.escape(spelling), f" {canonical} ", text, flags=re.IGNORECASE)
    return {m.upper() for m in _ENTITY.findall(text) if m not in _COMMON_CAPITALISED}


def _quantity_reasons(truth: list[Quantity], captured: list[Quantity], tol: float) -> list[str]:
    reasons = []
    if truth and not captured:
        return ["the captured value drops the number(s) in the ground truth"]
    for t in truth:
        same = [c for c in captured if c.matches(t, tol)]
        if not same:
            reasons.append(f"number {t.value:g}{'%' if t.percent else ''} not found in the captured value")
            continue
        if t.periods and not any(not c.periods or set(c.periods) == set(t.periods) for c in same):
            reasons.append(f"period/unit differs for {t.value:g}: {'/'.join(t.periods)} expected")
        if t.currency and not any(c.currency in (None, t.currency) for c in same):
            reasons.append(f"currency differs for {t.value:g}: {t.currency} expected")
    return reasons


def judge_capture(question_id: str, truth: str, captured: str | None,
                  model: str | None = None) -> CaptureJudgement:
    """The verdict with its cosine similarity and the reasons it failed (empty when faithful)."""
    if captured is None or not captured.strip():
        return CaptureJudgement(False, 0.0, ["nothing captured"])
    cfg = load_scorer_config().capture
    # A capture may hold more than the fact (a recap, the customer's small talk): the best match of
    # the whole value or any one of its sentences is the similarity that counts.
    parts = [captured, *[s for s in sentences(captured) if s != captured]]
    vectors = get_embedder(model).embed([truth, *parts])
    similarity = float((vectors[1:] @ vectors[0]).max())
    reasons = _quantity_reasons(extract_quantities(truth), extract_quantities(captured),
                                cfg.quantity_tolerance)
    if polarity_negative(truth) != polarity_negative(captured):
        reasons.append("polarity differs (negated in one, affirmed in the other)")
    truth_entities = entities(truth, cfg.entity_aliases)
    captured_entities = entities(captured, cfg.entity_aliases)
    # swapped: each side names something the other does not (CTO vs CFO, Intercom vs Drift)
    if truth_entities - captured_entities and captured_entities - truth_entities:
        reasons.append(f"named entities differ: {sorted(truth_entities)} vs {sorted(captured_entities)}")
    if similarity < cfg.min_similarity:
        reasons.append(f"similarity {similarity:.2f} below {cfg.min_similarity:.2f}")
    return CaptureJudgement(not reasons, similarity, reasons)
