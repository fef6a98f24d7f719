"""Recent nightly runs of a suite, read from MLflow, for the report's trend chart.

The report keeps what it read as a snapshot beside itself (report-inputs.json): the tracking store
goes on changing after the report is written, and `exolab verify` must recompute the same chart.
"""

from __future__ import annotations

from typing import Any

from lab.nightly import NIGHTLY_TAG
from lab.tracking import sqlite_store_missing

HISTORY_LIMIT = 14


def nightly_history(tracking_uri: str | None, suite: str, limit: int = HISTORY_LIMIT) -> dict[str, Any]:
    """{"source": …, "points": [...], "note": …}: the last `limit` nightly version runs of `suite`,
    oldest first. A missing store is a note, not an error: a first run has no history."""
    if not tracking_uri:
        return {"source": None, "points": [], "note": "no MLflow tracking store was given"}
    none_yet = {"source": tracking_uri, "points": [], "note": f"no nightly runs of suite {suite} in {tracking_uri} yet"}
    if sqlite_store_missing(tracking_uri):
        return none_yet
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment = client.get_experiment_by_name(f"exolab/{suite}")
        if experiment is None:
            return none_yet
        runs = client.search_runs([experiment.experiment_id],
                                  filter_string=f"tags.`exolab.kind` = 'version' and tags.`{NIGHTLY_TAG}` != ''",
                                  order_by=["attributes.start_time DESC"], max_results=limit)
    except MlflowException as exc:
        return {"source": tracking_uri, "points": [], "note": f"could not read {tracking_uri}: {exc}"}
    points = [{
        "run_id": run.data.tags.get("exolab.run_id", run.info.run_id),
        "version": run.data.params.get("prompt_version", "?"),
        "started_ms": run.info.start_time,
        "completeness": run.data.metrics.get("completeness"),
        "accuracy": run.data.metrics.get("accuracy"),
        "verdict": run.data.tags.get(NIGHTLY_TAG),
    } for run in reversed(runs)]
    return {**none_yet, "points": points, "note": None} if points else none_yet
