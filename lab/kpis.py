"""From per-question verdicts to KPIs: completeness and accuracy per question id, per persona,
per version and overall, plus the gate verdicts.

completeness.<id> = share of scenarios where the question was asked AND its answer elicited.
accuracy.<id>     = share of elicited answers whose captured value is faithful to the ground truth
                    (a missing capture counts as unfaithful).
Errored scenarios are excluded from both and counted separately.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lab.bank import Gates
from lab.types import QuestionScore


def scores_frame(scores: list[QuestionScore]) -> pd.DataFrame:
    frame = pd.DataFrame([s.model_dump() for s in scores])
    if frame.empty:
        return frame
    frame["complete"] = frame["asked"] & frame["answered"]
    return frame


def _rate(series: pd.Series) -> float | None:
    series = series.dropna()
    return None if series.empty else round(float(series.astype(float).mean()), 4)


def version_kpis(frame: pd.DataFrame) -> dict[str, float | None]:
    """Flat metric dict for one version: `completeness`, `accuracy`, `completeness.<id>` …"""
    ok = frame[~frame["errored"]]
    answered = ok[ok["answered"]]
    out: dict[str, float | None] = {
        "completeness": _rate(ok["complete"]),
        "accuracy": _rate(answered["faithful"].fillna(False)) if not answered.empty else None,
        "scenarios": float(frame["scenario"].nunique()),
        "errored_scenarios": float(frame.loc[frame["errored"], "scenario"].nunique()),
    }
    for qid, group in ok.groupby("question_id", sort=False):
        out[f"completeness.{qid}"] = _rate(group["complete"])
        ans = group[group["answered"]]
        out[f"accuracy.{qid}"] = _rate(ans["faithful"].fillna(False)) if not ans.empty else None
    return out


def scenario_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, worst first (lowest completeness, then lowest accuracy)."""
    ok = frame.copy()
    ok["faithful_f"] = ok["faithful"].astype("float")
    table = ok.groupby(["scenario", "version", "persona", "repetition", "language"], sort=False).agg(
        completeness=("complete", "mean"), accuracy=("faithful_f", "mean"),
        asked=("asked", "sum"), answered=("answered", "sum"), errored=("errored", "max"),
    ).reset_index()
    return table.sort_values(["errored", "completeness", "accuracy"], ascending=[False, True, True],
                             na_position="first")


def persona_kpis(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, float | None]]]:
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for (version, persona), group in frame.groupby(["version", "persona"], sort=False):
        kpis = version_kpis(group)
        out.setdefault(str(version), {})[str(persona)] = {
            "completeness": kpis["completeness"], "accuracy": kpis["accuracy"]}
    return out


def apply_gates(kpis: dict[str, float | None], gates: Gates,
                baseline: dict[str, float | None] | None = None) -> list[dict[str, Any]]:
    """Every gate with its threshold, the measured value and pass/fail; a missing value fails."""
    results = []
    for gate in gates.gates:
        value = kpis.get(gate.metric)
        results.append({"gate": f"{gate.metric} >= {gate.min:g}", "metric": gate.metric,
                        "threshold": gate.min, "value": value,
                        "passed": value is not None and value >= gate.min})
    if baseline is not None:
        for metric in ("completeness", "accuracy"):
            value, base = kpis.get(metric), baseline.get(metric)
            if value is None or base is None:
                continue
            results.append({"gate": f"{metric} drop vs baseline <= {gates.max_regression:g}",
                            "metric": metric, "threshold": gates.max_regression,
                            "value": round(base - value, 4),
                            "passed": base - value <= gates.max_regression})
    return results
