"""The price table and usage figures: exact names before patterns, the longest pattern wins, unknown
models and unmetered remote sides give no cost rather than a guessed one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.usage import ROLES, PriceTable, _costs, _figures, load_prices, mlflow_metrics
from lab.yamlio import InputErrors


def test_the_shipped_price_table_loads_and_prices_dated_model_names() -> None:
    prices = load_prices()
    assert prices.currency == "USD"
    mini = prices.price("gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.input_per_mtok == 0.15  # "gpt-4o-mini*" beats "gpt-4o*"
    assert prices.price("cotomi-pro") is None


def test_exact_names_win_over_patterns() -> None:
    table = PriceTable.model_validate({"models": {"m*": {"input_per_mtok": 1, "output_per_mtok": 1},
                                                  "m-large": {"input_per_mtok": 9, "output_per_mtok": 9}}})
    assert table.price("m-large").input_per_mtok == 9 and table.price("m-small").input_per_mtok == 1


def test_a_broken_price_table_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  gpt-x:\n    input_per_mtok: -1\n    output_per_mtok: 2\n")
    with pytest.raises(InputErrors) as caught:
        load_prices(path)
    assert "prices.yaml:3: models.gpt-x.input_per_mtok:" in str(caught.value)


def test_costs_are_unknown_for_unpriced_models_and_unmetered_remote_sides() -> None:
    calls = pd.DataFrame({"role": ["assistant", "persona", "judge", "assistant"],
                          "model": ["gpt-4o-mini", None, "judge-7b", None],
                          "prompt_tokens": [1_000_000, 0, 10, 0], "completion_tokens": [1_000_000, 0, 10, 0]})
    costs, why = _costs(calls, load_prices(), local={"persona"})
    assert costs == [pytest.approx(0.75), 0.0, None, None]
    assert why == ["assistant: reports no model or tokens", "judge: model 'judge-7b' is not in the price table"]


def test_figures_use_percentiles_of_calls_and_mlflow_gets_only_known_numbers() -> None:
    calls = pd.DataFrame({"latency_s": [float(i) for i in range(1, 101)], "ok": [True] * 99 + [False],
                          "requests": [1] * 100, "prompt_tokens": [2] * 100, "completion_tokens": [1] * 100,
                          "cost": [None] * 100, "model": ["m"] * 100})
    figures = _figures(calls)
    assert figures["latency_p50_s"] == 50.5 and figures["latency_p95_s"] == pytest.approx(95.05)
    assert figures["failed_calls"] == 1 and figures["cost"] is None
    metrics = mlflow_metrics({"assistant": figures})
    assert "usage.assistant.cost" not in metrics and metrics["usage.assistant.calls"] == 100.0
    assert "usage.assistant.models" not in metrics
    assert ROLES == ("assistant", "persona", "judge")
