"""Prompt versions side by side, with the statistics that separate a real change from noise.

Each side of a comparison is the per-question scores of one prompt version (from a run folder, an
MLflow run, or a prompt-registry alias). Scenarios are paired by persona × repetition: the same
customer with the same seed, talking to two versions. Per question id and KPI the comparison gives
both values, the delta, a paired bootstrap 95 % interval, an exact McNemar test and a verdict;
per version, pass@1, pass^k and the run-to-run noise floor measured from the repetitions.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lab.stats import ALPHA, McNemar, mcnemar_exact, paired_bootstrap_ci, verdict

KPIS = ("completeness", "accuracy")
PAIR = ["persona", "repetition"]


@dataclass
class Side:
    """The scores of one prompt version and where they came from."""

    label: str
    version: str
    suite: str
    origin: str
    scores: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> pd.DataFrame:
        return self.scores[~self.scores["errored"].astype(bool)]


def _scenario_outcomes(side: Side) -> pd.DataFrame:
    """One row per scenario (persona × repetition): overall completeness and accuracy, and whether
    it passed (every required question elicited, every captured answer faithful)."""
    ok = side.ok.copy()
    ok["faithful_f"] = ok["faithful"].astype("boolean").fillna(False).astype(float)
    ok.loc[~ok["answered"].astype(bool), "faithful_f"] = np.nan
    grouped = ok.groupby(PAIR + ["language"], sort=True)
    table = grouped.agg(completeness=("complete", "mean"), accuracy=("faithful_f", "mean")).reset_index()
    table["all_complete"] = grouped["complete"].all().to_numpy()
    table["all_faithful"] = grouped["faithful_f"].apply(lambda s: bool((s.dropna() == 1).all())).to_numpy()
    table["passed"] = table["all_complete"] & table["all_faithful"]
    return table


def _question_outcomes(side: Side, kpi: str) -> pd.DataFrame:
    """Per (pair, question id): 1/0 for the KPI, NaN where it is undefined (accuracy of an answer
    that was never elicited)."""
    ok = side.ok.copy()
    if kpi == "completeness":
        ok["value"] = ok["complete"].astype(float)
    else:
        ok["value"] = ok["faithful"].astype("boolean").fillna(False).astype(float)
        ok.loc[~ok["answered"].astype(bool), "value"] = np.nan
    return ok[PAIR + ["question_id", "value"]]


def _kpi(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else round(float(values.mean()), 4)


def _stats(a: np.ndarray, b: np.ndarray, test: McNemar, seed: int, alpha: float = ALPHA) -> dict[str, Any]:
    """Interval of the paired values' difference, and the verdict it reaches with `test` (McNemar
    on the same pairs' pass/fail outcomes)."""
    delta = float(np.mean(b) - np.mean(a)) if a.size else 0.0
    interval = paired_bootstrap_ci(a, b, seed=seed)
    return {
        "pairs": int(a.size), "paired_delta": round(delta, 4),
        "ci_low": None if math.isnan(interval.low) else round(interval.low, 4),
        "ci_high": None if math.isnan(interval.high) else round(interval.high, 4),
        "mcnemar_p": round(test.p_value, 6), "a_only": test.a_only, "b_only": test.b_only,
        "verdict": verdict(delta, interval, test, alpha) if a.size else "no paired data",
    }


def _values_row(kpi: str, question_id: str | None, a: float | None, b: float | None) -> dict[str, Any]:
    delta = None if a is None or b is None else round(b - a, 4)
    return {"kpi": kpi, "question_id": question_id, "a": a, "b": b, "delta": delta}


def compare_questions(a: Side, b: Side, question_ids: list[str], seed: int = 0,
                      alpha: float = ALPHA) -> list[dict[str, Any]]:
    rows = []
    for kpi in KPIS:
        qa, qb = _question_outcomes(a, kpi), _question_outcomes(b, kpi)
        joined = qa.merge(qb, on=PAIR + ["question_id"], suffixes=("_a", "_b"))
        for qid in question_ids:
            mine = joined[joined["question_id"] == qid].dropna(subset=["value_a", "value_b"])
            row = _values_row(kpi, qid, _kpi(qa.loc[qa["question_id"] == qid, "value"]),
                              _kpi(qb.loc[qb["question_id"] == qid, "value"]))
            a_values, b_values = mine["value_a"].to_numpy(), mine["value_b"].to_numpy()
            test = mcnemar_exact(a_values.astype(bool), b_values.astype(bool))
            row.update(_stats(a_values, b_values, test, seed, alpha))
            rows.append(row)
    return rows


def compare_overall(a: Side, b: Side, seed: int = 0, alpha: float = ALPHA) -> list[dict[str, Any]]:
    """Overall KPIs: the interval is over per-scenario values; McNemar over per-scenario pass
    (every question elicited / every captured answer faithful)."""
    sa, sb = _scenario_outcomes(a), _scenario_outcomes(b)
    joined = sa.merge(sb, on=PAIR, suffixes=("_a", "_b"))
    rows = []
    for kpi, flag in (("completeness", "all_complete"), ("accuracy", "all_faithful")):
        both = joined.dropna(subset=[f"{kpi}_a", f"{kpi}_b"])
        row = _values_row(kpi, None, _version_kpi(a, kpi), _version_kpi(b, kpi))
        test = mcnemar_exact(both[f"{flag}_a"].to_numpy(bool), both[f"{flag}_b"].to_numpy(bool))
        row.update(_stats(both[f"{kpi}_a"].to_numpy(float), both[f"{kpi}_b"].to_numpy(float), test, seed, alpha))
        rows.append(row)
    return rows


def _version_kpi(side: Side, kpi: str) -> float | None:
    """The KPI exactly as the run summary defines it (lab.kpis), over all of the side's scenarios."""
    ok = side.ok
    if kpi == "completeness":
        return _kpi(ok["complete"].astype(float))
    answered = ok[ok["answered"].astype(bool)]
    return _kpi(answered["faithful"].astype("boolean").fillna(False).astype(float))


def reliability(side: Side) -> dict[str, Any]:
    """pass@1 over all scenarios; pass^k (all k repetitions of a persona pass) when the suite has
    k > 1 repetitions; and the noise floor: how far a KPI moves between repetitions of the same
    version, measured as the range of the per-repetition KPI."""
    outcomes = _scenario_outcomes(side)
    reps = sorted(outcomes["repetition"].unique())
    out: dict[str, Any] = {"repetitions": len(reps), "pass_at_1": _kpi(outcomes["passed"].astype(float))}
    if len(reps) > 1:
        per_persona = outcomes.groupby("persona")["passed"].agg(["all", "size"])
        complete = per_persona[per_persona["size"] == len(reps)]
        out["pass_hat_k"] = _kpi(complete["all"].astype(float))
        floors = {}
        for kpi in KPIS:
            per_rep = [_version_kpi(_subset(side, "repetition", rep), kpi) for rep in reps]
            values = [v for v in per_rep if v is not None]
            floors[kpi] = round(max(values) - min(values), 4) if values else None
        out["noise_floor"] = floors
    else:
        out["pass_hat_k"] = None
        out["noise_floor"] = {kpi: None for kpi in KPIS}
    return out


def breakdown(a: Side, b: Side, by: str) -> list[dict[str, Any]]:
    """KPIs per persona or per language, A beside B (descriptive: too few pairs per group for a
    test of their own)."""
    rows = []
    groups = sorted(set(a.ok[by]) | set(b.ok[by]))
    for group in groups:
        row: dict[str, Any] = {by: group}
        for kpi in KPIS:
            va = _version_kpi(_subset(a, by, group), kpi)
            vb = _version_kpi(_subset(b, by, group), kpi)
            row[f"{kpi}_a"], row[f"{kpi}_b"] = va, vb
            row[f"{kpi}_delta"] = None if va is None or vb is None else round(vb - va, 4)
        rows.append(row)
    return rows


def _subset(side: Side, by: str, value: Any) -> Side:
    return Side(side.label, side.version, side.suite, side.origin, side.scores[side.scores[by] == value])


def pairwise(a: Side, b: Side, question_ids: list[str], seed: int = 0, alpha: float = ALPHA) -> dict[str, Any]:
    if not set(map(tuple, a.ok[PAIR].drop_duplicates().to_numpy())) & \
            set(map(tuple, b.ok[PAIR].drop_duplicates().to_numpy())):
        raise ValueError(f"{a.label} and {b.label} share no persona × repetition: nothing to pair "
                         "(were they run on the same suite?)")
    return {
        "a": a.label, "b": b.label,
        "overall": compare_overall(a, b, seed, alpha),
        "questions": compare_questions(a, b, question_ids, seed, alpha),
        "per_persona": breakdown(a, b, "persona"),
        "per_language": breakdown(a, b, "language"),
    }


def rank(sides: list[Side]) -> list[Side]:
    """Best first: overall completeness, then accuracy."""
    def key(side: Side) -> tuple[float, float]:
        return (_version_kpi(side, "completeness") or 0.0, _version_kpi(side, "accuracy") or 0.0)
    return sorted(sides, key=key, reverse=True)


def compare(sides: list[Side], question_ids: list[str], seed: int = 0, alpha: float = ALPHA) -> dict[str, Any]:
    """Two sides: A (first) vs B (second). More: every pair, ranked best first, with the matrix of
    verdicts on the overall KPIs."""
    if len(sides) < 2:
        raise ValueError("a comparison needs at least two prompt versions")
    labels = [s.label for s in sides]
    if len(set(labels)) != len(labels):
        raise ValueError(f"the same version appears twice: {', '.join(labels)}")
    ranked = rank(sides) if len(sides) > 2 else sides
    result: dict[str, Any] = {
        "alpha": alpha, "seed": seed, "question_ids": question_ids,
        "sides": [{"label": s.label, "version": s.version, "suite": s.suite, "origin": s.origin,
                   "completeness": _version_kpi(s, "completeness"), "accuracy": _version_kpi(s, "accuracy"),
                   "scenarios": int(s.scores[PAIR].drop_duplicates().shape[0]),
                   "errored_scenarios": int(s.scores.loc[s.scores["errored"].astype(bool), PAIR]
                                            .drop_duplicates().shape[0]),
                   **reliability(s), **s.details} for s in ranked],
        "matrix": {kpi: {s.label: {q: _version_kpi(_subset(s, "question_id", q), kpi) for q in question_ids}
                         for s in ranked} for kpi in KPIS},
    }
    if len(sides) == 2:
        result["pairwise"] = [pairwise(sides[0], sides[1], question_ids, seed, alpha)]
    else:
        result["pairwise"] = [pairwise(x, y, question_ids, seed, alpha)
                              for x, y in itertools.combinations(ranked, 2)]
    return result


def significant_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (pair, KPI, question id) whose verdict is not "no detectable difference"."""
    out = []
    for pair in result["pairwise"]:
        for row in pair["overall"] + pair["questions"]:
            if row["verdict"] in ("better", "worse"):
                out.append({"a": pair["a"], "b": pair["b"], **row})
    return out
