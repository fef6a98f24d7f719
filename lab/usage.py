"""Token usage, latency and cost per role (assistant, persona, judge), from what a run recorded.

Every number comes from the saved run: latency as the Lab's client measured it around each turn
(retries included), tokens as the API reported them, cost from the price table. A model missing from
the table, or a remote side that reports no tokens (a Python function), leaves that role's cost
unknown and says why, rather than priced at a guess. Sides that run inside the Lab (the built-in
flow, the offline persona) make no API calls and cost nothing.
"""

from __future__ import annotations

import math
import numbers
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from lab.paths import metrics_dir
from lab.textfmt import number
from lab.types import Frozen
from lab.yamlio import load_yaml, validate_as

if TYPE_CHECKING:
    import pandas as pd

    from lab.results import RunFolder

ROLES = ("assistant", "persona", "judge")
ROLE_OF_CALL = {"assistant": "assistant", "handoff": "assistant", "persona": "persona", "judge": "judge"}
"""The hand-off goes to the assistant's endpoint and is billed with it."""
KEYS = ["scenario", "version", "persona", "repetition"]
"""What names a scenario in usage.csv: never logged as a figure."""


class ModelPrice(Frozen):
    input_per_mtok: float = Field(ge=0, description="Price per million prompt tokens.")
    output_per_mtok: float = Field(ge=0, description="Price per million completion tokens.")


class PriceTable(Frozen):
    currency: str = "USD"
    models: dict[str, ModelPrice] = Field(default_factory=dict,
                                          description="Model name or glob pattern → price.")

    def price(self, model: str) -> ModelPrice | None:
        if model in self.models:
            return self.models[model]
        matches = [pattern for pattern in self.models if fnmatchcase(model, pattern)]
        return self.models[max(matches, key=len)] if matches else None


def load_prices(path: Path | None = None) -> PriceTable:
    return validate_as(PriceTable, load_yaml(path or metrics_dir() / "prices.yaml"))


def local_roles(manifest: dict[str, Any]) -> set[str]:
    """The roles played inside the Lab in this run, which make no API calls."""
    roles = set()
    if manifest.get("assistant", {}).get("kind", "builtin") == "builtin":
        roles.add("assistant")
    if manifest.get("persona", {}).get("kind", "offline") == "offline":
        roles.add("persona")
    return roles


def call_frame(folder: RunFolder) -> pd.DataFrame:
    """One row per call: every assistant, hand-off and persona turn, and every judge verdict."""
    import pandas as pd

    from lab.judge import read_judge_rows

    rows: list[dict[str, Any]] = []
    for t in folder.transcripts():
        k = t.key
        for c in t.calls:
            rows.append({"scenario": k.id, "version": k.version, "persona": k.persona, "repetition": k.repetition,
                         "role": ROLE_OF_CALL[c.role], "model": c.model, "ok": c.ok, "latency_s": c.latency_s,
                         "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
                         "requests": c.attempts})
    for j in read_judge_rows(folder):
        if j.latency_s is None:
            continue  # a verdict recorded before the judge was metered
        rows.append({"scenario": j.scenario, "version": j.version, "persona": j.persona,
                     "repetition": j.repetition, "role": "judge", "model": j.model, "ok": j.error is None,
                     "latency_s": j.latency_s, "prompt_tokens": j.prompt_tokens,
                     "completion_tokens": j.completion_tokens, "requests": j.requests})
    columns = [*KEYS, "role", "model", "ok", "latency_s", "prompt_tokens", "completion_tokens", "requests"]
    return pd.DataFrame(rows, columns=columns)


def _costs(calls: pd.DataFrame, prices: PriceTable, local: set[str]) -> tuple[list[float | None], list[str]]:
    """Cost of each call (None when unknown) and why any cost is unknown."""
    costs: list[float | None] = []
    why: list[str] = []
    for role, model, prompt, completion in zip(calls["role"], calls["model"], calls["prompt_tokens"],
                                               calls["completion_tokens"], strict=True):
        if not isinstance(model, str) or not model:
            costs.append(0.0 if role in local else None)
            if role not in local:
                why.append(f"{role}: reports no model or tokens")
            continue
        price = prices.price(model)
        if price is None:
            costs.append(None)
            why.append(f"{role}: model {model!r} is not in the price table")
            continue
        costs.append((prompt * price.input_per_mtok + completion * price.output_per_mtok) / 1e6)
    return costs, sorted(set(why))


def _figures(calls: pd.DataFrame) -> dict[str, Any]:
    """Counts, tokens, cost and latency percentiles of one group of calls (of one role)."""
    latency = calls["latency_s"].astype(float)
    cost = None if calls["cost"].isna().any() else round(float(calls["cost"].sum()), 6)
    return {
        "calls": len(calls), "failed_calls": int((~calls["ok"].astype(bool)).sum()),
        "requests": int(calls["requests"].sum()),
        "prompt_tokens": int(calls["prompt_tokens"].sum()),
        "completion_tokens": int(calls["completion_tokens"].sum()),
        "cost": cost,
        "latency_p50_s": round(float(latency.quantile(0.5)), 4),
        "latency_p95_s": round(float(latency.quantile(0.95)), 4),
        "latency_total_s": round(float(latency.sum()), 4),
        "models": ", ".join(sorted({m for m in calls["model"] if isinstance(m, str) and m})),
    }


def priced_calls(folder: RunFolder, prices: PriceTable) -> tuple[pd.DataFrame, list[str]]:
    calls = call_frame(folder)
    costs, why = _costs(calls, prices, local_roles(folder.manifest))
    calls["cost"] = costs
    return calls, why


def usage_frame(calls: pd.DataFrame) -> pd.DataFrame:
    """usage.csv: one row per scenario and role."""
    import pandas as pd

    rows = [{**dict(zip([*KEYS, "role"], key, strict=True)), **_figures(group)}
            for key, group in calls.groupby([*KEYS, "role"], sort=False)]
    columns = [*KEYS, "role", "calls", "failed_calls", "requests", "prompt_tokens", "completion_tokens", "cost",
               "latency_p50_s", "latency_p95_s", "latency_total_s", "models"]
    return pd.DataFrame(rows, columns=columns)


def usage_summary(calls: pd.DataFrame, prices: PriceTable, unknown_cost: list[str]) -> dict[str, Any]:
    """Per version and role, over all its calls (percentiles of calls, not means of scenarios)."""
    versions: dict[str, dict[str, Any]] = {}
    for (version, role), group in sorted(calls.groupby(["version", "role"], sort=False),
                                         key=lambda item: ROLES.index(item[0][1])):
        versions.setdefault(str(version), {})[str(role)] = _figures(group)
    for roles in versions.values():
        known = [r["cost"] for r in roles.values()]
        roles["total"] = {"cost": None if any(c is None for c in known) else round(sum(known), 6)}
    return {"currency": prices.currency, "versions": versions, "unknown_cost": unknown_cost}


def mlflow_metrics(figures: dict[str, dict[str, Any]]) -> dict[str, float]:
    """`usage.<role>.<figure>` for a version's or a scenario's roles; unknown costs are left out."""
    out: dict[str, float] = {}
    for role, values in figures.items():
        for name, value in values.items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value):
                out[f"usage.{role}.{name}"] = float(value)
    return out


def usage_table(usage: dict[str, Any]) -> dict[str, Any] | None:
    """The summary's usage as display text, one row per version and role, for the CLI and reports."""
    if not usage.get("versions"):
        return None
    rows = [{"version": version, "role": role, "calls": str(f["calls"]), "failed": str(f["failed_calls"]),
             "tokens_in": f"{f['prompt_tokens']:,}", "tokens_out": f"{f['completion_tokens']:,}",
             "cost": number(f["cost"], ".4f"), "p50": f"{f['latency_p50_s']:.3f} s",
             "p95": f"{f['latency_p95_s']:.3f} s"}
            for version, roles in usage["versions"].items() for role, f in roles.items() if role != "total"]
    totals = [{"version": v, "cost": number(roles["total"]["cost"], ".4f")} for v, roles in usage["versions"].items()]
    return {"currency": usage["currency"], "rows": rows, "totals": totals, "unknown_cost": usage["unknown_cost"]}
