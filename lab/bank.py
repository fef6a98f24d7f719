"""The question bank and the KPI gates, read from `metrics/`.

The 14 canonical discovery-question ids are a public contract (scenarios, datasets, MLflow metric
names and reports all use them), so the list lives in one data file rather than in code.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lab.paths import metrics_dir
from lab.yamlio import load_yaml, validate_as

Language = Literal["ru", "en", "zh"]
LANGUAGES: tuple[Language, ...] = ("ru", "en", "zh")
Stage = Literal["qualification", "discovery", "pain_confirmation"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phrasings(Strict):
    ru: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)
    zh: list[str] = Field(min_length=1)

    def all(self) -> list[tuple[Language, str]]:
        return [(lang, text) for lang in LANGUAGES for text in getattr(self, lang)]


class Question(Strict):
    """One canonical discovery question with reference phrasings the detector compares against."""

    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    stage: Stage
    playbook: str = Field(description="The playbook's wording (seed 000), in English.")
    phrasings: Phrasings


class QuestionBank(Strict):
    version: int
    questions: list[Question]
    out_of_bank: Phrasings = Field(
        description="Questions an assistant may ask that are NOT discovery questions "
        "(budget, price, scheduling): negatives for the asked-question detector."
    )

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def get(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(unknown_name_message("question id", question_id, self.ids))


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
        f"; known: {', '.join(known)}"
    return f"unknown {kind} {name!r}{hint}"


@lru_cache(maxsize=4)
def load_bank(path: Path | None = None) -> QuestionBank:
    return validate_as(QuestionBank, load_yaml(path or metrics_dir() / "questions.yaml"))


class Gate(Strict):
    """A floor for one KPI: `metric` is `completeness`, `accuracy`, or `<kpi>.<question id>`."""

    metric: str
    min: float = Field(ge=0.0, le=1.0)


class Gates(Strict):
    version: int
    gates: list[Gate]
    max_regression: float = Field(
        ge=0.0, le=1.0, description="Largest drop against the baseline version that still passes."
    )
    max_regression_per_question: float = Field(
        default=0.1, ge=0.0, le=1.0,
        description="Nightly: largest statistically significant drop of one question's completeness or "
                    "accuracy against the baseline that still passes.")
    alpha: float = Field(
        default=0.05, gt=0.0, lt=0.5,
        description="Nightly: a drop fails a regression gate only when it is significant at this level "
                    "(paired bootstrap CI excludes zero and exact McNemar p < alpha).")


@lru_cache(maxsize=4)
def load_gates(path: Path | None = None) -> Gates:
    """Gates name metrics by the public ids; a misspelt one would silently never fire."""
    doc = load_yaml(path or metrics_dir() / "gates.yaml")
    gates = validate_as(Gates, doc)
    bank = load_bank()
    known = ["completeness", "accuracy"] + [f"{k}.{q}" for k in ("completeness", "accuracy")
                                             for q in bank.ids]
    errors = [doc.error(("gates", i, "metric"), unknown_name_message("metric", g.metric, known))
              for i, g in enumerate(gates.gates) if g.metric not in known]
    if errors:
        from lab.yamlio import InputErrors

        raise InputErrors(errors)
    return gates
