"""Where the Lab finds the data folders it reads (scenarios/, metrics/, prompts/, reports/).

The package is installed editable from the project checkout, so the data lives beside it; a user
who keeps their suites elsewhere points `EXOLAB_HOME` at that project folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    override = os.environ.get("EXOLAB_HOME")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[1]


def metrics_dir() -> Path:
    return project_root() / "metrics"


def prompts_dir() -> Path:
    return project_root() / "prompts"


def scenarios_dir() -> Path:
    return project_root() / "scenarios"


def templates_dir() -> Path:
    return project_root() / "reports" / "templates"


DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"  # MLflow store in the working directory unless --tracking-uri
