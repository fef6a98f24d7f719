"""Where the two sides of a comparison come from: a run folder, an MLflow run id, or a prompt
registry alias. Each resolves to the per-question scores of one prompt version.

    runs/smoke-1a2b3c4d5e          every version in the run folder
    runs/smoke-1a2b3c4d5e@v2       one version of it
    3f2a…(32 hex)                  an MLflow parent run of one version (its scores.csv artefact)
    exolab-playbook@baseline       the newest MLflow run of the prompt version the alias points to
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from lab.compare import Side
from lab.results import RunFolder, read_scores_csv

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class SideNotFound(ValueError):
    pass


def from_run_folder(path: Path, version: str | None = None) -> list[Side]:
    folder = RunFolder(path)
    if not (folder.path / "scores.csv").is_file():
        raise SideNotFound(f"{path}: the run has no scores yet (run `exolab run` on its suite to finish it)")
    scores = folder.scores()
    versions = [version] if version else [v for v in folder.versions if v in set(scores["version"])]
    if version and version not in set(scores["version"]):
        raise SideNotFound(f"{path}: no version {version!r} in this run (it has {', '.join(folder.versions)})")
    many = len(versions) > 1 or version is None
    return [Side(label=f"{folder.path.name}@{v}" if not many else v, version=v, suite=folder.suite.name,
                 origin=f"run folder {folder.path.name}",
                 scores=scores[scores["version"] == v].reset_index(drop=True),
                 details={"run_id": folder.manifest["run_id"]})
            for v in versions]


def from_mlflow_run(run_id: str, tracking_uri: str) -> Side:
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    try:
        run = mlflow.MlflowClient().get_run(run_id)
    except MlflowException as exc:
        raise SideNotFound(f"no MLflow run {run_id} at {tracking_uri}") from exc
    params = run.data.params
    if "prompt_version" not in params or run.data.tags.get("exolab.kind") != "version":
        raise SideNotFound(f"MLflow run {run_id} is not an exolab version run (use the parent run of a version)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="scores.csv", dst_path=tmp)
        except (MlflowException, OSError) as exc:
            raise SideNotFound(f"MLflow run {run_id} has no scores.csv artefact") from exc
        scores = read_scores_csv(Path(path))
    version = params["prompt_version"]
    return Side(label=f"{version}@{run_id[:8]}", version=version, suite=params.get("suite", "?"),
                origin=f"MLflow run {run_id}", scores=scores,
                details={"mlflow_run_id": run_id, "prompt_uri": params.get("prompt_uri")})


def newest_run_of_prompt(name: str, alias: str, tracking_uri: str, suite: str | None = None,
                         exclude: frozenset[str] = frozenset()) -> str:
    """The newest version run logged with the prompt version `name@alias` points to (leaving out
    `exclude`: tonight's own runs are not their own baseline)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    try:
        prompt = client.get_prompt_version_by_alias(name, alias)
    except MlflowException as exc:
        raise SideNotFound(f"no prompt alias {name}@{alias} in the registry at {tracking_uri}") from exc
    uri = f"prompts:/{name}/{prompt.version}"
    filters = [f"params.prompt_uri = '{uri}'", "tags.`exolab.kind` = 'version'"]
    if suite:
        filters.append(f"params.suite = '{suite}'")
    runs = [r for r in mlflow.search_runs(search_all_experiments=True, filter_string=" and ".join(filters),
                                          order_by=["attributes.start_time DESC"], max_results=50,
                                          output_format="list")
            if r.info.run_id not in exclude]
    if not runs:
        raise SideNotFound(f"{name}@{alias} is prompt version {prompt.version}, but no run of it is logged"
                           + (f" for suite {suite}" if suite else ""))
    return str(runs[0].info.run_id)


def resolve(spec: str, tracking_uri: str, suite: str | None = None) -> list[Side]:
    """Sides named by one command-line argument (a run folder may hold several versions)."""
    path_part, _, version = spec.partition("@")
    if Path(spec).is_dir():
        return from_run_folder(Path(spec))
    if version and Path(path_part).is_dir():
        return from_run_folder(Path(path_part), version)
    if _RUN_ID.match(spec):
        return [from_mlflow_run(spec, tracking_uri)]
    if version:
        name = path_part.removeprefix("prompts:/")
        side = from_mlflow_run(newest_run_of_prompt(name, version, tracking_uri, suite), tracking_uri)
        side.label, side.origin = f"{name}@{version}", f"{side.origin} (prompt alias {name}@{version})"
        return [side]
    raise SideNotFound(f"{spec!r} is neither a run folder, an MLflow run id nor a prompt alias NAME@ALIAS")


def last_passing_nightly(suite: str, tracking_uri: str, exclude: frozenset[str] = frozenset()) -> str | None:
    """The newest version run of `suite` that a nightly marked as passing."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(search_all_experiments=True,
                              filter_string=f"tags.`exolab.nightly` = 'pass' and params.suite = '{suite}'",
                              order_by=["attributes.start_time DESC"], max_results=50, output_format="list")
    return next((str(r.info.run_id) for r in runs if r.info.run_id not in exclude), None)


def nightly_baseline(prompt_name: str, alias: str, suite: str, tracking_uri: str,
                     exclude: frozenset[str]) -> tuple[Side | None, str]:
    """The baseline a nightly compares with, and a note saying which it is: the newest run of the
    prompt version the alias points to, else the last passing nightly run, else none."""
    try:
        run_id: str | None = newest_run_of_prompt(prompt_name, alias, tracking_uri, suite, exclude)
        note = f"prompt alias {prompt_name}@{alias}"
    except SideNotFound as exc:
        run_id = last_passing_nightly(suite, tracking_uri, exclude)
        note = "last passing nightly run" if run_id else \
            f"none ({exc}; no passing nightly run either): regression gates skipped"
    if run_id is None:
        return None, note
    side = from_mlflow_run(run_id, tracking_uri)
    side.label, side.origin = f"baseline {side.version}", f"{side.origin}, {note}"
    return side, note
