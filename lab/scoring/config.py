"""Scorer settings that are data (cue words, aliases, lexicons), read from `metrics/scorers.yaml`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lab.paths import metrics_dir
from lab.yamlio import load_yaml, validate_as


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerLanguage(_Strict):
    ru: list[str]
    en: list[str]
    zh: list[str]

    def all(self) -> list[str]:
        return [*self.ru, *self.en, *self.zh]

    def get(self, language: str) -> list[str]:
        return list(getattr(self, language))


class AskedQuestionConfig(_Strict):
    interrogative_cues: PerLanguage
    restatement_cues: PerLanguage


class Intensity(_Strict):
    high: list[str] = Field(min_length=1)
    low: list[str] = Field(min_length=1)


class Stance(_Strict):
    deny: list[str] = Field(min_length=1)
    affirm: list[str] = Field(min_length=1)


class Scope(_Strict):
    per_person: list[str] = Field(min_length=1)
    total: list[str] = Field(min_length=1)


class Oversight(_Strict):
    human: list[str] = Field(min_length=1)
    autonomous: list[str] = Field(min_length=1)


class CaptureConfig(_Strict):
    quantity_tolerance: float = Field(ge=0, le=1)
    entity_aliases: dict[str, list[str]] = Field(default_factory=dict)
    intensity: Intensity
    stance: Stance
    scope: Scope
    oversight: Oversight


class ScorerConfig(_Strict):
    version: int
    asked_question: AskedQuestionConfig
    capture: CaptureConfig


@lru_cache(maxsize=2)
def load_scorer_config(path: Path | None = None) -> ScorerConfig:
    return validate_as(ScorerConfig, load_yaml(path or metrics_dir() / "scorers.yaml"))
