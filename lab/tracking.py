"""MLflow adapter: one experiment per suite, one parent run per prompt version, a nested run per
scenario, prompt versions in the MLflow prompt registry.

The run folder stays the source of truth; MLflow is a view of it. `mlflow.json` in the run folder
records which MLflow runs hold it, so a resumed or repeated `exolab run` never logs a run twice and
a logging step killed half-way is cleaned up and redone.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from lab.assistants.flow import Flow
from lab.kpis import version_kpis
from lab.paths import DEFAULT_TRACKING_URI
from lab.records import read_json, sha256_json, write_json
from lab.results import RunFolder
from lab.usage import KEYS as USAGE_KEYS
from lab.usage import mlflow_metrics

STATE_FILE = "mlflow.json"
REPORT_DATA_TAG = "exolab.report_data_sha256"
CONVERSATION_ROLES = ("assistant", "persona")
JUDGE_ROLES = ("judge",)
__all__ = ["DEFAULT_TRACKING_URI", "log_judge", "log_report", "log_run", "log_scorer_report",
           "register_prompt_version"]


def sqlite_store_missing(tracking_uri: str) -> bool:
    """True for a SQLite store whose file does not exist: opening it would create an empty one."""
    prefix = "sqlite:///"
    return tracking_uri.startswith(prefix) and not Path(tracking_uri[len(prefix):]).is_file()


def prompt_name(flow: Flow) -> str:
    return f"exolab-{flow.name}"


def prompt_alias(flow: Flow, version: str) -> str:
    """MLflow reserves aliases such as `v1`, so the registry alias is `<flow>-<version>`."""
    return f"{flow.name}-{version}"


def register_prompt_version(flow: Flow, version: str) -> str:
    """Register the version's prompt text unless the registry already holds it under the version's
    alias; returns the `prompts:/name/N` URI of the registered version."""
    import mlflow
    from mlflow.exceptions import MlflowException

    name, sha, alias = prompt_name(flow), flow.prompt_sha256(version), prompt_alias(flow, version)
    try:
        existing = mlflow.genai.load_prompt(f"prompts:/{name}@{alias}")
        if existing.tags.get("sha256") == sha:
            return f"prompts:/{name}/{existing.version}"
    except MlflowException:
        pass
    registered = mlflow.genai.register_prompt(
        name=name, template=flow.prompt_text(version),
        commit_message=f"{version}: {flow.versions[version].description}",
        tags={"sha256": sha, "exolab.version": version, "exolab.flow": flow.name},
    )
    mlflow.genai.set_prompt_alias(name, alias=alias, version=registered.version)
    return f"prompts:/{name}/{registered.version}"


def _metrics(values: dict[str, float | None]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None}


def _usage_metrics(figures: dict[str, Any], roles: tuple[str, ...]) -> dict[str, float]:
    return mlflow_metrics({role: figures[role] for role in roles if role in figures})


def _scenario_usage(usage: pd.DataFrame, scenario: str, roles: tuple[str, ...]) -> dict[str, float]:
    rows = usage[(usage["scenario"] == scenario) & usage["role"].isin(roles)]
    return _usage_metrics({str(r["role"]): r.drop(["role", *USAGE_KEYS]).to_dict() for _, r in rows.iterrows()}, roles)


def log_run(folder: RunFolder, summary: dict[str, Any], flow: Flow | None, tracking_uri: str) -> dict[str, Any]:
    """Log the run once per tracking URI; LLM-judged verdicts added later go onto the same runs."""
    state_path = folder.path / STATE_FILE
    state: dict[str, Any] = read_json(state_path) if state_path.exists() else {}
    if not (state.get("complete") and state.get("tracking_uri") == tracking_uri):
        state = _log_versions(folder, summary, flow, tracking_uri, state)
    log_judge(folder, state)
    return state


def _log_versions(folder: RunFolder, summary: dict[str, Any], flow: Flow | None, tracking_uri: str,
                  state: dict[str, Any]) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    state_path = folder.path / STATE_FILE
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    for run_id in state.get("created_runs", []) if state.get("tracking_uri") == tracking_uri else []:
        with contextlib.suppress(MlflowException):  # already deleted, or gone with its store
            client.delete_run(run_id)  # left by a logging step that was killed half-way
    experiment = f"exolab/{folder.suite.name}"
    mlflow.set_experiment(experiment)
    state = {"tracking_uri": tracking_uri, "experiment": experiment, "created_runs": [],
             "parent_runs": {}, "scenario_runs": {}, "prompts": {}, "complete": False}
    write_json(state_path, state)
    manifest = folder.manifest
    scores = folder.scores()
    checks = folder.adherence()
    transcripts = folder.transcripts()
    usage = folder.usage()
    llm_persona = folder.suite.simulator.kind != "offline"  # only a model-played persona is guarded
    flagged_turns = {t.key.id: sum(bool(turn.flags) for turn in t.turns) for t in transcripts}
    for version in summary["versions"]:
        # the built-in flow registers its versions; an OpenAI-compatible assistant's came from the registry
        prompt_uri = (register_prompt_version(flow, version) if flow is not None
                      else manifest["prompt_versions"][version].get("uri"))
        state["prompts"][version] = prompt_uri
        params = {
            "suite": folder.suite.name, "suite_version": folder.suite.version,
            "prompt_version": version, "prompt_uri": prompt_uri or "none",
            "prompt_sha256": manifest["prompt_versions"][version]["sha256"],
            "seed": folder.suite.seed, "repetitions": folder.suite.repetitions,
            "max_turns": folder.suite.max_turns, "embedding_model": manifest["embedding_model"]["id"],
            "assistant": f"{manifest['assistant']['kind']}:{manifest['assistant']['flow']}",
            "run_folder": folder.path.name, "git_commit": manifest["git"]["commit"] or "none",
            "git_dirty": manifest["git"]["dirty"],
        }
        with mlflow.start_run(run_name=f"{folder.suite.name} {version}",
                              tags={"exolab.run_id": manifest["run_id"], "exolab.kind": "version"}) as parent:
            state["created_runs"].append(parent.info.run_id)
            state["parent_runs"][version] = parent.info.run_id
            write_json(state_path, state)
            mlflow.log_params(params)
            mlflow.log_metrics(_metrics(summary["kpis"][version]))
            mlflow.log_metrics(_metrics({f"adherence.{check}": rate
                                         for check, rate in summary.get("adherence", {}).get(version, {}).items()}))
            mlflow.log_metrics(_usage_metrics(summary["usage"]["versions"].get(version, {}), CONVERSATION_ROLES))
            guard = summary.get("persona_guard", {}).get("versions", {}).get(version)
            if guard and llm_persona:
                mlflow.log_metrics({"persona_guard.flagged_turns": guard["flagged_turns"],
                                    "persona_guard.flagged_conversations": guard["flagged_conversations"]})
            if prompt_uri:
                client.link_prompt_version_to_run(parent.info.run_id, prompt_uri)
            mine = scores[scores["version"] == version]
            for scenario, rows in mine.groupby("scenario", sort=False):
                first = rows.iloc[0]
                with mlflow.start_run(run_name=str(scenario), nested=True,
                                      tags={"exolab.kind": "scenario"}) as child:
                    state["created_runs"].append(child.info.run_id)
                    state["scenario_runs"][str(scenario)] = child.info.run_id
                    mlflow.log_params({"persona": first["persona"], "repetition": int(first["repetition"]),
                                       "language": first["language"], "prompt_version": version})
                    values = {k: v for k, v in version_kpis(rows).items()
                              if k not in ("scenarios", "errored_scenarios")}
                    values["errored"] = float(bool(rows["errored"].any()))
                    for _, check in checks[checks["scenario"] == scenario].iterrows():
                        passed = check["passed"]
                        values[f"adherence.{check['check']}"] = None if pd.isna(passed) else float(passed)
                    mlflow.log_metrics(_metrics(values))
                    mlflow.log_metrics(_scenario_usage(usage, str(scenario), CONVERSATION_ROLES))
                    if llm_persona:
                        mlflow.log_metric("persona_guard.flagged_turns", flagged_turns.get(str(scenario), 0))
            with tempfile.TemporaryDirectory() as tmp:
                subset = Path(tmp) / "transcripts.jsonl"
                subset.write_text("".join(t.model_dump_json() + "\n" for t in transcripts
                                          if t.key.version == version), encoding="utf-8")
                mlflow.log_artifact(str(subset))
                mine.to_csv(Path(tmp) / "scores.csv", index=False)
                mlflow.log_artifact(str(Path(tmp) / "scores.csv"))
                checks[checks["version"] == version].to_csv(Path(tmp) / "adherence.csv", index=False)
                mlflow.log_artifact(str(Path(tmp) / "adherence.csv"))
            for name in ("summary.json", "manifest.json", "usage.csv"):
                if (folder.path / name).exists():
                    mlflow.log_artifact(str(folder.path / name))
        write_json(state_path, state)
    state["complete"] = True
    write_json(state_path, state)
    return state


def log_judge(folder: RunFolder, state: dict[str, Any]) -> None:
    """deepeval's LLM-judged scores beside the Lab's: `judge.<metric>` on each version's run (mean)
    and on each scenario's run, `judge.jsonl` as an artifact. Only verdicts not logged before."""
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from lab.judge import judge_frame, write_judge_jsonl

    frame = judge_frame(folder)
    if frame.empty:
        return
    fingerprint = sha256_json(frame.to_dict("records"))
    if state.get("judge_logged") == fingerprint:
        return
    client = MlflowClient(state["tracking_uri"])
    now = int(time.time() * 1000)
    usage = folder.usage()
    summary = read_json(folder.path / "summary.json")

    def metrics(values: dict[str, float]) -> list[Metric]:
        return [Metric(k, v, now, 0) for k, v in values.items()]

    for version, parent in state["parent_runs"].items():
        mine = frame[frame["version"] == version]
        if mine.empty:
            continue
        means = mine.groupby("metric")["score"].mean().dropna()
        judge_usage = _usage_metrics(summary["usage"]["versions"].get(version, {}), JUDGE_ROLES)
        client.log_batch(parent, metrics=metrics({**{f"judge.{m}": float(v) for m, v in means.items()},
                                                  **judge_usage}), params=[], tags=[])
        client.set_tag(parent, "exolab.judge", ", ".join(sorted(set(mine["judge"]))))
        for scenario, rows in mine.groupby("scenario"):
            child = state.get("scenario_runs", {}).get(str(scenario))
            scored = {f"judge.{r.metric}": float(r.score) for r in rows.dropna(subset=["score"]).itertuples()}
            values = {**scored, **_scenario_usage(usage, str(scenario), JUDGE_ROLES)}
            if child and values:
                client.log_batch(child, metrics=metrics(values), params=[], tags=[])
        with tempfile.TemporaryDirectory() as tmp:
            write_judge_jsonl(mine, Path(tmp) / "judge.jsonl")
            client.log_artifact(parent, str(Path(tmp) / "judge.jsonl"))
    state["judge_logged"] = fingerprint
    write_json(folder.path / STATE_FILE, state)


def log_report(folder: RunFolder, out_dir: Path, hashes: dict[str, Any]) -> str | None:
    """The report's data hash as a tag and its files as artefacts on every version run of a logged
    run folder: an independent record of what was reported, for `exolab verify` and for auditors.
    Returns the tracking URI it wrote to, or None when the run was never logged."""
    from mlflow import MlflowClient

    from lab.report.integrity import HASHES_FILE, SNAPSHOT_FILE

    state_path = folder.path / STATE_FILE
    state = read_json(state_path) if state_path.is_file() else {}
    if not state.get("parent_runs") or sqlite_store_missing(state["tracking_uri"]):
        return None
    client = MlflowClient(state["tracking_uri"])
    for parent in state["parent_runs"].values():
        client.set_tag(parent, REPORT_DATA_TAG, hashes["data_sha256"])
        for name in [*hashes["files"], HASHES_FILE, SNAPSHOT_FILE]:
            client.log_artifact(parent, str(out_dir / name))
    return str(state["tracking_uri"])


def log_scorer_report(report: dict[str, Any], metrics: dict[str, float], markdown: Path,
                      tracking_uri: str) -> str:
    """One run in experiment `exolab/scorers` per scorer report, so agreement is tracked over time."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("exolab/scorers")
    with mlflow.start_run(run_name=f"scorer-report {report['split']}",
                          tags={"exolab.kind": "scorer-report"}) as run:
        mlflow.log_params({"split": report["split"], "embedding_model": report["embedding_model"],
                           "calibration_data_sha256": report["calibration_data_sha256"],
                           "detector_items": report["detector_items"], "judge_items": report["judge_items"]})
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(markdown))
        return str(run.info.run_id)
