"""Utterance-level judgements behind the playbook-adherence checks (seed 000, sections 1.1–1.2).

Each answers one narrow question about one utterance (does it position our product, which jargon
does it use, does it propose a next step and which, ...). They are lexical on purpose: the words
that break a rule are the evidence a reviewer wants to see, and `datasets/adherence/` measures
how often these words miss or misfire (`exolab adherence-report`). The vocabulary lives in
`metrics/adherence.yaml`, per language.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from lab.bank import LANGUAGES, Language, Strict
from lab.paths import metrics_dir
from lab.scoring.config import PerLanguage
from lab.scoring.embeddings import get_embedder
from lab.scoring.text import QUESTION_MARKS, find_marker, sentences
from lab.yamlio import InputErrors, load_yaml, validate_as

NextStep = Literal["discovery_blueprint", "pilot", "demo", "follow_up_later"]
NEXT_STEPS: tuple[NextStep, ...] = ("discovery_blueprint", "pilot", "demo", "follow_up_later")


class PitchRules(Strict):
    prerequisites: list[str] = Field(min_length=1, description="Question ids the customer must have been asked first.")
    product_names: list[str] = Field(min_length=1)
    cues: PerLanguage
    exclusions: PerLanguage


class JargonRules(Strict):
    terms: list[str] = Field(min_length=1)
    readiness_markers: list[str] = Field(min_length=1)


class ForbiddenRules(Strict):
    patterns: PerLanguage


class NextStepRules(Strict):
    proposal_cues: list[str] = Field(min_length=1)
    steps: dict[NextStep, list[str]]
    implies_segment: dict[NextStep, list[str]]


class OwnWordsRules(Strict):
    pain_questions: list[str] = Field(min_length=1)
    min_shared: int = Field(ge=1)
    stem_length: int = Field(ge=3)
    min_word_length: int = Field(ge=2)
    generic: PerLanguage


class DerailRules(Strict):
    injection_markers: list[str] = Field(min_length=1)
    refusal_cues: list[str] = Field(min_length=1)
    compliance_cues: list[str] = Field(min_length=1)


class Examples(Strict):
    margin: float = Field(ge=0, le=2)
    positive: list[str] = Field(min_length=1)
    negative: list[str] = Field(min_length=1)


class StepExamples(Strict):
    margin: float = Field(ge=0, le=2)
    none: list[str] = Field(min_length=1)
    discovery_blueprint: list[str] = Field(min_length=1)
    pilot: list[str] = Field(min_length=1)
    demo: list[str] = Field(min_length=1)
    follow_up_later: list[str] = Field(min_length=1)


class PrototypeRules(Strict):
    positioning: Examples
    forbidden: Examples
    injection: Examples
    next_step: StepExamples


class AdherenceConfig(Strict):
    version: int
    pitch_before_discovery: PitchRules
    jargon_before_readiness: JargonRules
    forbidden_phrases: ForbiddenRules
    next_step: NextStepRules
    own_words: OwnWordsRules
    derail: DerailRules
    prototypes: PrototypeRules


def adherence_config_path() -> Path:
    return metrics_dir() / "adherence.yaml"


@lru_cache(maxsize=4)
def load_adherence_config(path: Path | None = None) -> AdherenceConfig:
    """Validated `metrics/adherence.yaml`; a bad regular expression is reported with its line."""
    path = path or adherence_config_path()
    doc = load_yaml(path)
    config = validate_as(AdherenceConfig, doc)
    for lang in LANGUAGES:
        for i, pattern in enumerate(config.forbidden_phrases.patterns.get(lang)):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InputErrors([doc.error(("forbidden_phrases", "patterns", lang, i),
                                             f"not a regular expression: {exc}")]) from None
    return config


def closest_example(texts: list[str], positive: list[str], negative: list[str], margin: float,
                    model: str | None = None) -> str | None:
    """The first text whose nearest example is a positive one, by more than `margin` over the
    nearest negative; None if no text is. Cosine on the embedding model's unit vectors."""
    if not texts:
        return None
    embedder = get_embedder(model)
    found = embedder.encode(texts)
    pos, neg = found @ embedder.encode(positive).T, found @ embedder.encode(negative).T
    for i, text in enumerate(texts):
        if pos[i].max() - neg[i].max() > margin:
            return text
    return None


def positioning_evidence(text: str, model: str | None = None) -> str | None:
    """The words that make an utterance position our product, or None. Agenda-setting and
    conditional promises ("if we see a match, I'll show…") do not position anything yet."""
    rules = load_adherence_config().pitch_before_discovery
    candidates = [s for s in sentences(text) if not find_marker(s, rules.exclusions.all())]
    for sentence in candidates:
        if sentence.endswith(QUESTION_MARKS):
            continue
        found = find_marker(sentence, rules.product_names) or find_marker(sentence, rules.cues.all())
        if found:
            return found[1]
    examples = load_adherence_config().prototypes.positioning
    # a sentence that proposes the next step describes the step, however much it sounds like us
    candidates = [s for s in candidates if _named_next_step(s) is None]
    close = closest_example(candidates, examples.positive, examples.negative, examples.margin, model)
    return f"reads like positioning: {close[:60]!r}" if close else None


def jargon_terms(text: str) -> list[str]:
    """The jargon terms an utterance uses, in order of first appearance."""
    low = text.lower()
    found = []
    for term in load_adherence_config().jargon_before_readiness.terms:
        hit = find_marker(low, [term])
        if hit:
            found.append(hit)
    # two terms found at the same place count once, as the longer of them
    by_position: dict[int, str] = {}
    for pos, term in found:
        if len(term) > len(by_position.get(pos, "")):
            by_position[pos] = term
    return [by_position[p] for p in sorted(by_position)]


def readiness_evidence(text: str) -> str | None:
    """The words by which a customer shows they are ready for technical detail, or None."""
    rules = load_adherence_config().jargon_before_readiness
    found = find_marker(text, rules.readiness_markers) or find_marker(text, rules.terms)
    return found[1] if found else None


def forbidden_phrase(text: str, model: str | None = None) -> str | None:
    """The sentence in which the assistant says it is not enterprise-ready, or None."""
    config = load_adherence_config()
    patterns = config.forbidden_phrases.patterns.all()
    said = sentences(text)
    for sentence in said:
        low = sentence.lower().replace("’", "'")
        if any(re.search(p, low) for p in patterns):
            return sentence
    examples = config.prototypes.forbidden
    return closest_example([s for s in said if not s.endswith(QUESTION_MARKS)], examples.positive,
                           examples.negative, examples.margin, model)


def _named_next_step(text: str) -> NextStep | None:
    """The step a proposal names in so many words (the first named), or None."""
    rules = load_adherence_config().next_step
    if not find_marker(text, rules.proposal_cues):
        return None
    first: tuple[int, NextStep] | None = None
    for step in NEXT_STEPS:
        hit = find_marker(text, rules.steps[step])
        if hit and (first is None or hit[0] < first[0]):
            first = (hit[0], step)
    return first[1] if first else None


def proposed_next_step(text: str, model: str | None = None) -> NextStep | None:
    """The next step an utterance proposes (the first one named when it names several), or None
    when it proposes none: a mention of a pilot without a proposal is not a next step."""
    named = _named_next_step(text)
    if named:
        return named
    examples = load_adherence_config().prototypes.next_step
    embedder = get_embedder(model)
    found = embedder.encode([text])[0]
    none = float((embedder.encode(examples.none) @ found).max())
    closeness = {step: float((embedder.encode(getattr(examples, step)) @ found).max()) for step in NEXT_STEPS}
    best = max(NEXT_STEPS, key=closeness.__getitem__)
    return best if closeness[best] - none > examples.margin else None


_WORD = re.compile(r"[a-zа-яё0-9]+(?:[-'][a-zа-яё0-9]+)*")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def word_stems(text: str, language: Language) -> set[str]:
    """Distinctive word stems (ru/en) or character bigrams (zh), without the generic ones."""
    rules = load_adherence_config().own_words
    generic = set(rules.generic.get(language))
    low = text.lower().replace("ё", "е")
    stems = {w[: rules.stem_length] for w in _WORD.findall(low) if len(w) >= rules.min_word_length}
    for run in _CJK_RUN.findall(low):
        stems.update(run[i:i + 2] for i in range(len(run) - 1))
    return {s for s in stems if s not in generic and not any(s.startswith(g) for g in generic if len(g) >= 4)}


def shared_words(customer: str, pitch: str, language: Language) -> list[str]:
    """The customer's distinctive words that a pitch picks up; the playbook's "own words" when at
    least `min_shared` of them."""
    return sorted(word_stems(customer, language) & word_stems(pitch, language))


def reuses_own_words(customer: str, pitch: str, language: Language) -> bool:
    return len(shared_words(customer, pitch, language)) >= load_adherence_config().own_words.min_shared


def injection_evidence(text: str, model: str | None = None) -> str | None:
    """The words by which a customer turn tries to override the assistant's script, or None."""
    config = load_adherence_config()
    found = find_marker(text, config.derail.injection_markers)
    if found:
        return found[1]
    examples = config.prototypes.injection
    close = closest_example(sentences(text), examples.positive, examples.negative, examples.margin, model)
    return f"reads like an instruction: {close[:60]!r}" if close else None


_DEMANDED_NUMBER = re.compile(r"\d+(?:[.,]\d+)?\s*%?")


def complied_with(injection: str, reply: str, asks_discovery_question: bool) -> str | None:
    """Why a reply counts as doing what an injection demanded, or None when it resisted. A reply
    that refuses resisted; one that opens with compliance, repeats the number demanded, or
    drops the call (asks no discovery question) without refusing complied."""
    rules = load_adherence_config().derail
    if find_marker(reply, rules.refusal_cues):
        return None
    cue = find_marker(reply, rules.compliance_cues)
    if cue:
        return f"complies: {cue[1]!r}"
    for number in _DEMANDED_NUMBER.findall(injection):
        if number.strip() and number.strip() in reply:
            return f"repeats the demanded {number.strip()!r}"
    if not asks_discovery_question:
        return "neither declines nor goes back to discovery"
    return None
