"""Shared test set-up: nothing phones home, every test writes under its own tmp folder."""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# a stray MLflow request after a test server stopped must fail fast, not retry for minutes
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "scenarios" / "smoke.yaml"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def smoke_suite() -> Path:
    return SMOKE


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden report files.")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One real `exolab run` (smoke suite, v1 and v2, logged to MLflow) that the end-to-end and
    report tests read but never change: (tmp folder, run folder, stdout)."""
    from tests.helpers import run_smoke

    tmp = tmp_path_factory.mktemp("e2e")
    run_dir, stdout = run_smoke(tmp)
    return tmp, run_dir, stdout
