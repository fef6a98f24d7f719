"""Scorer thresholds, read from `metrics/scorers.yaml` so they are data, versioned and hashed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from lab.paths import metrics_dir
from lab.yamlio import load_yaml, validate_as


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AskedQuestionConfig(_Strict):
    min_similarity: float = Field(ge=-1, le=1)
    min_margin_over_out_of_bank: float = Field(ge=0, le=2)


class CaptureConfig(_Strict):
    min_similarity: float = Field(ge=-1, le=1)
    quantity_tolerance: float = Field(ge=0, le=1)
    entity_aliases: dict[str, list[str]] = Field(default_factory=dict)


class ScorerConfig(_Strict):
    version: int
    asked_question: AskedQuestionConfig
    capture: CaptureConfig


@lru_cache(maxsize=2)
def load_scorer_config(path: Path | None = None) -> ScorerConfig:
    return validate_as(ScorerConfig, load_yaml(path or metrics_dir() / "scorers.yaml"))
