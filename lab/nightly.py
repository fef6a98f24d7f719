"""`exolab nightly`: run the configured suites, compare with the baseline, apply the gates, and
answer the scheduler with an exit code and a JUnit XML file.

Exit codes: 0 every gate passed; 1 a gate failed (each failing gate is listed with its numbers);
2 the run itself could not complete (bad configuration, an assistant that errored, a crash).

Regression gates fail only on drops that are statistically significant (paired bootstrap CI
excludes zero and exact McNemar p < alpha): the point of a nightly gate is to catch real
regressions, not to page someone about run-to-run noise.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from lab.bank import Gates
from lab.paths import metrics_dir, project_root
from lab.textfmt import number
from lab.types import Transcript
from lab.yamlio import InputErrors, load_yaml, validate_as

BASELINE_ALIAS = "baseline"
NIGHTLY_TAG = "exolab.nightly"  # "pass" or "fail" on the candidate's MLflow version run


class NightlyConfig(BaseModel):
    """What the scheduler runs every night (metrics/nightly.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    suites: list[str] = Field(min_length=1, description="Suite files, relative to the project root.")
    prompt_version: str = Field(description="The candidate: a version of the suite's flow.")
    baseline_alias: str = Field(
        default=BASELINE_ALIAS,
        description="Prompt-registry alias of the baseline; without it, the last passing nightly run.")
    embedding_model: str | None = None


def load_nightly_config(path: Path | None = None) -> NightlyConfig:
    """The configuration, with every suite file checked to exist: a scheduler learns about a
    typo at 02:30 from exit code 2 and a file:line, not from a half-run night."""
    doc = load_yaml(path or metrics_dir() / "nightly.yaml")
    config = validate_as(NightlyConfig, doc)
    missing = [doc.error(("suites", i), f"no suite file {suite} (paths are relative to the project root)")
               for i, suite in enumerate(config.suites) if not suite_path(suite).is_file()]
    if missing:
        raise InputErrors(missing)
    return config


def suite_path(suite: str) -> Path:
    return Path(suite) if Path(suite).is_absolute() else project_root() / suite


def gate_results(summary_gates: list[dict[str, Any]], comparison: dict[str, Any] | None,
                 gates: Gates) -> list[dict[str, Any]]:
    """The absolute floors (as `exolab run` computes them) plus the regression gates against the
    baseline: overall KPIs with `max_regression`, each question id with
    `max_regression_per_question`; a regression counts only when the comparison calls it "worse"."""
    results = [{**g, "kind": "floor"} for g in summary_gates if "baseline" not in g["gate"]]
    if comparison is None:
        return results
    pair = comparison["pairwise"][0]
    for row in pair["overall"] + pair["questions"]:
        limit = gates.max_regression if row["question_id"] is None else gates.max_regression_per_question
        metric = row["kpi"] if row["question_id"] is None else f"{row['kpi']}.{row['question_id']}"
        drop = None if row["delta"] is None else round(-row["delta"], 4)
        failed = row["verdict"] == "worse" and drop is not None and drop > limit
        results.append({
            "gate": f"{metric} significant drop vs baseline <= {limit:g}", "metric": metric, "kind": "regression",
            "threshold": limit, "value": drop, "passed": not failed,
            "detail": (f"baseline {number(row['a'], '.1%')}, now {number(row['b'], '.1%')}, 95% CI of the change "
                       f"[{number(row['ci_low'], '+.3f')}, {number(row['ci_high'], '+.3f')}], McNemar p "
                       f"{number(row['mcnemar_p'], '.3g')}, "
                       f"verdict {row['verdict']}"),
        })
    return results


def failure_message(gate: dict[str, Any]) -> str:
    value = "no value" if gate["value"] is None else f"{gate['value']:.4g}"
    if gate["kind"] == "floor":
        text = f"{gate['metric']} = {value}, below the floor {gate['threshold']:g}"
    else:
        text = f"{gate['metric']} dropped by {value} (limit {gate['threshold']:g})"
    return text + (f"; {gate['detail']}" if gate.get("detail") else "")


def junit_xml(suites: list[dict[str, Any]], path: Path) -> Path:
    """One <testsuite> of gates and one of scenarios per suite: CI dashboards show each failing
    gate and each failing conversation as a failed test, an errored conversation as an error."""
    root = ET.Element("testsuites", name="exolab nightly")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for entry in suites:
        gates_el = _testsuite(root, f"{entry['suite']}.gates", entry["timestamp"])
        for gate in entry["gates"]:
            case = ET.SubElement(gates_el, "testcase", name=gate["gate"], classname=f"{entry['suite']}.gates",
                                 time="0")
            if not gate["passed"]:
                ET.SubElement(case, "failure", type=f"{gate['kind']} gate", message=failure_message(gate))
        scen_el = _testsuite(root, f"{entry['suite']}.scenarios", entry["timestamp"])
        for scenario in entry["scenarios"]:
            case = ET.SubElement(scen_el, "testcase", name=scenario["scenario"],
                                 classname=f"{entry['suite']}.scenarios", time=f"{scenario['seconds']:.3f}")
            if scenario["errored"]:
                ET.SubElement(case, "error", type="conversation error",
                              message=scenario["error"] or "the conversation errored")
            elif not scenario["passed"]:
                ET.SubElement(case, "failure", type="scenario", message=scenario["why"])
        for element in (gates_el, scen_el):
            counts = {"tests": len(element), "failures": len(element.findall("testcase/failure")),
                      "errors": len(element.findall("testcase/error"))}
            element.set("tests", str(counts["tests"]))
            element.set("failures", str(counts["failures"]))
            element.set("errors", str(counts["errors"]))
            element.set("skipped", "0")
            for key in totals:
                totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _testsuite(root: ET.Element, name: str, timestamp: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name, timestamp=timestamp, time="0",
                         tests="0", failures="0", errors="0")


def scenario_cases(scores: pd.DataFrame, transcripts: list[Transcript]) -> list[dict[str, Any]]:
    """One JUnit case per conversation: passed when every required question was elicited and every
    captured answer was faithful; the failure message names what was missed."""
    by_id = {t.key.id: t for t in transcripts}
    cases = []
    for scenario, rows in scores.groupby("scenario", sort=False):
        transcript = by_id.get(str(scenario))
        missed = rows.loc[~rows["complete"].astype(bool), "question_id"].tolist()
        answered = rows[rows["answered"].astype(bool)]
        wrong = answered.loc[~answered["faithful"].astype("boolean").fillna(False).astype(bool),
                             "question_id"].tolist()
        why = "; ".join(part for part in (
            f"not elicited: {', '.join(missed)}" if missed else "",
            f"captured unfaithfully: {', '.join(wrong)}" if wrong else "") if part)
        cases.append({
            "scenario": str(scenario), "errored": bool(rows["errored"].any()),
            "error": transcript.error if transcript else None, "passed": not missed and not wrong,
            "why": why, "seconds": transcript.duration_s if transcript else 0.0,
        })
    return cases
