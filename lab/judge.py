"""deepeval's LLM-judged conversational metrics (role adherence, knowledge retention, ...) beside the
Lab's own scores, when the user configures a judge model.

The judge is any OpenAI-compatible endpoint, reached through deepeval's own `LocalModel`; its API
key is read from an environment variable at call time and never written anywhere. Without a judge
these metrics are skipped with a message that says how to configure one: an LLM-judged number is
never made up offline. Each verdict is appended to `judge.jsonl` in the run folder as soon as it is
known, so an interrupted or repeated run never pays the judge twice for the same conversation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from lab.types import Frozen

if TYPE_CHECKING:  # the CLI reads the metric names at start-up: keep this module light to import
    import pandas as pd

    from lab.results import RunFolder

JUDGE_FILE = "judge.jsonl"
JUDGE_METRICS: dict[str, str] = {  # our name → deepeval class in deepeval.metrics
    "role_adherence": "RoleAdherenceMetric",
    "knowledge_retention": "KnowledgeRetentionMetric",
    "conversation_completeness": "ConversationCompletenessMetric",
    "turn_relevancy": "TurnRelevancyMetric",
}
DEFAULT_KEY_ENV = "EXOLAB_JUDGE_API_KEY"
NO_JUDGE = ("LLM-judged metrics skipped: no judge model configured (give --judge-model and --judge-base-url, "
            "or set EXOLAB_JUDGE_MODEL and EXOLAB_JUDGE_BASE_URL)")


@dataclass(frozen=True)
class JudgeConfig:
    """An OpenAI-compatible judge. `api_key_env` names the variable holding its key."""

    model: str
    base_url: str
    api_key_env: str = DEFAULT_KEY_ENV
    threshold: float = 0.5
    timeout_s: float = 120.0

    @classmethod
    def resolve(cls, model: str | None, base_url: str | None, api_key_env: str | None) -> JudgeConfig | None:
        """From command-line values, falling back to EXOLAB_JUDGE_*; None when no judge is configured."""
        model = model or os.environ.get("EXOLAB_JUDGE_MODEL")
        base_url = base_url or os.environ.get("EXOLAB_JUDGE_BASE_URL")
        if not model or not base_url:
            return None
        return cls(model=model, base_url=base_url, api_key_env=api_key_env or DEFAULT_KEY_ENV)

    @property
    def label(self) -> str:
        """How the judge is named in files, reports and MLflow: model and URL without credentials."""
        return f"{self.model} at {public_url(self.base_url)}"

    def api_key(self) -> str:
        # deepeval's client insists on a key; servers without keys (vLLM, Ollama) accept any value
        return os.environ.get(self.api_key_env) or "no-key"


def public_url(url: str) -> str:
    """The URL without user:password and query string, which may carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class JudgeRow(Frozen):
    scenario: str
    version: str
    persona: str
    repetition: int
    metric: str
    judge: str
    threshold: float
    score: float | None
    success: bool | None
    reason: str = ""
    error: str | None = None
    model: str | None = None
    latency_s: float | None = None
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Meter:
    """What the judge's API calls cost while one verdict was reached: deepeval's local-model client
    returns no usage, so every response it gets is counted on the way through."""

    def __init__(self) -> None:
        self.requests = self.prompt_tokens = self.completion_tokens = 0
        self.model: str | None = None

    def count(self, response: Any) -> None:
        usage = getattr(response, "usage", None)
        self.requests += 1
        self.model = getattr(response, "model", None) or self.model
        self.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
        self.completion_tokens += getattr(usage, "completion_tokens", 0) or 0


def metered_model(config: JudgeConfig, key: str, meter: Callable[[], Meter]) -> Any:
    """deepeval's `LocalModel` whose every chat completion is counted by the current `meter()`."""
    from deepeval.models import LocalModel

    class MeteredLocalModel(LocalModel):  # type: ignore[misc]
        def load_model(self, async_mode: bool = False) -> Any:
            client = super().load_model(async_mode)
            completions = client.chat.completions
            create = completions.create

            if async_mode:
                async def counted_async(*args: Any, **kwargs: Any) -> Any:
                    response = await create(*args, **kwargs)
                    meter().count(response)
                    return response
                completions.create = counted_async
            else:
                def counted(*args: Any, **kwargs: Any) -> Any:
                    response = create(*args, **kwargs)
                    meter().count(response)
                    return response
                completions.create = counted
            return client

    return MeteredLocalModel(model=config.model, base_url=config.base_url, api_key=key, timeout=config.timeout_s)


def check_metric_names(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in JUDGE_METRICS]
    if unknown:
        raise ValueError(f"unknown judge metric(s) {', '.join(unknown)}; known: {', '.join(JUDGE_METRICS)}")
    return list(dict.fromkeys(names))


def read_judge_rows(folder: RunFolder) -> list[JudgeRow]:
    path = folder.path / JUDGE_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(JudgeRow.model_validate_json(line))
        except ValueError:
            continue  # a line torn by a crash: that verdict is asked again
    return rows


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if len(secret) >= 4 else text


def _describe(exc: BaseException) -> str:
    """The error a user can act on: deepeval wraps the endpoint's own in a retry error."""
    last = getattr(exc, "last_attempt", None)
    inner = last.exception() if last is not None else None
    exc = inner or exc
    return f"{type(exc).__name__}: {exc}"


def judge_run(folder: RunFolder, config: JudgeConfig, metrics: list[str],
              progress: Callable[[int, int], None] | None = None) -> list[JudgeRow]:
    """Ask the judge for every (conversation, metric) not yet in `judge.jsonl`; returns all rows."""
    import time

    import deepeval.metrics

    from lab.deepeval_metrics import run_folder_cases

    metrics = check_metric_names(metrics)
    done = {(r.scenario, r.metric, r.judge) for r in read_judge_rows(folder)}
    key = config.api_key()
    current = Meter()
    model = metered_model(config, key, lambda: current)
    transcripts = {t.key.id: t for t in folder.transcripts()}
    cases = run_folder_cases(folder)
    total, finished = len(cases) * len(metrics), 0
    with (folder.path / JUDGE_FILE).open("a", encoding="utf-8") as log:
        for case in cases:
            transcript = transcripts[str(case.name)]
            for name in metrics:
                finished += 1
                if (transcript.key.id, name, config.label) in done:
                    continue
                fields: dict[str, Any] = {"score": None, "success": None}
                if transcript.termination == "error":
                    fields["error"] = "conversation errored; not judged"
                else:
                    metric = getattr(deepeval.metrics, JUDGE_METRICS[name])(
                        threshold=config.threshold, model=model, async_mode=False, verbose_mode=False)
                    current, started = Meter(), time.perf_counter()
                    try:
                        metric.measure(case)
                        fields = {"score": metric.score, "success": metric.is_successful(),
                                  "reason": _redact(str(metric.reason or ""), key)}
                    except Exception as exc:  # one failed verdict is recorded; the others go on
                        fields["error"] = _redact(_describe(exc), key)[:2000]
                    fields.update(model=current.model or config.model,
                                  latency_s=round(time.perf_counter() - started, 6), requests=current.requests,
                                  prompt_tokens=current.prompt_tokens,
                                  completion_tokens=current.completion_tokens)
                key_ = transcript.key
                row = JudgeRow(scenario=key_.id, version=key_.version, persona=key_.persona,
                               repetition=key_.repetition, metric=name, judge=config.label,
                               threshold=config.threshold, **fields)
                log.write(row.model_dump_json() + "\n")
                log.flush()
                os.fsync(log.fileno())
                if progress:
                    progress(finished, total)
    return read_judge_rows(folder)


def judge_frame(folder: RunFolder) -> pd.DataFrame:
    """The latest verdict per (scenario, metric): a repeated run with another judge replaces it."""
    import pandas as pd

    rows = read_judge_rows(folder)
    frame = pd.DataFrame([r.model_dump() for r in rows], columns=list(JudgeRow.model_fields))
    return frame.drop_duplicates(["scenario", "metric"], keep="last").reset_index(drop=True)


def judge_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Mean judged score per version and metric, with the judges used and the verdicts that failed."""
    if frame.empty:
        return {}
    scores: dict[str, dict[str, float | None]] = {}
    for (version, metric), rows in frame.groupby(["version", "metric"], sort=False):
        valid = rows["score"].dropna()
        scores.setdefault(str(version), {})[str(metric)] = None if valid.empty else round(float(valid.mean()), 4)
    return {"judges": sorted(set(frame["judge"])), "scores": scores,
            "errors": int(frame["error"].notna().sum()), "verdicts": len(frame)}


def write_judge_jsonl(frame: pd.DataFrame, path: Path) -> None:
    frame.to_json(path, orient="records", lines=True, force_ascii=False)
