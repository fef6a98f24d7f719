"""`--tracking-uri` against a real MLflow tracking server on loopback, started and stopped here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT, exolab


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{workdir / 'server.db'}",
         "--default-artifact-root", str(workdir / "artifacts")],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the MLflow tracking server did not come up")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_run_logs_to_a_tracking_server(tracking_server: str, tmp_path: Path) -> None:
    import mlflow

    result = exolab("run", "--suite", str(ROOT / "scenarios" / "smoke.yaml"), "--prompt-version", "v2",
                    "--runs-dir", str(tmp_path / "runs"), "--tracking-uri", tracking_server, "--quiet",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "mlflow.db").exists()
    mlflow.set_tracking_uri(tracking_server)
    experiment = mlflow.get_experiment_by_name("exolab/smoke")
    assert experiment is not None
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    parents = [r for r in runs if r.data.tags.get("exolab.kind") == "version"]
    assert len(parents) == 1 and parents[0].data.params["prompt_version"] == "v2"
    assert parents[0].data.metrics["completeness.urgency"] == 0.0
    assert len([r for r in runs if r.data.tags.get("exolab.kind") == "scenario"]) == 12
    # the registry client, not load_prompt: load_prompt links the prompt to the active experiment in
    # a background thread that would outlive the server this module stops
    prompt = mlflow.MlflowClient().get_prompt_version_by_alias("exolab-playbook", "playbook-v2")
    assert "pitch_generic" in prompt.template
