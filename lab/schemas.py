"""JSON Schemas of every YAML file users edit, for editors (yaml-language-server)."""

from __future__ import annotations

from typing import Any

from lab.assistants.flow import Flow
from lab.bank import Gates, QuestionBank
from lab.nightly import NightlyConfig
from lab.report.redact import RedactionConfig
from lab.scenarios import AssistantFile, SimulatorFile, json_schemas
from lab.scoring.adherence import AdherenceConfig
from lab.scoring.config import ScorerConfig
from lab.usage import PriceTable


def all_schemas() -> dict[str, dict[str, Any]]:
    return {
        **json_schemas(),
        "flow": Flow.model_json_schema(),
        "questions": QuestionBank.model_json_schema(),
        "gates": Gates.model_json_schema(),
        "scorers": ScorerConfig.model_json_schema(),
        "nightly": NightlyConfig.model_json_schema(),
        "adherence": AdherenceConfig.model_json_schema(),
        "prices": PriceTable.model_json_schema(),
        "redaction": RedactionConfig.model_json_schema(),
        "assistant": AssistantFile.model_json_schema(),
        "simulator": SimulatorFile.model_json_schema(),
    }
