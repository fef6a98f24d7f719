"""Report charts: inline-ready, accessible SVG that is byte-identical for the same input, so a report
re-rendered from the same run folder keeps its hash."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from lab.report.charts import TrendPoint, first_question_svg, question_heatmap_svg, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
QUESTIONS = ["company_size", "industry", "budget", "decision_timeline", "decision_makers", "current_tools",
             "pain_points", "region", "contact_email", "use_case", "integration_needs", "team_size",
             "competitors", "next_step"]


def texts(svg: str) -> list[str]:
    """The visible text of a chart, after checking it is an inline-ready, labelled SVG root."""
    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


def frames(versions: list[str], questions: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    size = len(questions) * len(versions)
    values = [[(i * len(versions) + j) / max(size - 1, 1) for j in range(len(versions))] for i in range(len(questions))]
    completeness = pd.DataFrame(values, index=questions, columns=versions)
    accuracy = 1 - completeness
    completeness.iloc[0, 0] = math.nan
    return completeness, accuracy


def test_heatmap_labels_questions_versions_and_missing_cells() -> None:
    completeness, accuracy = frames(["v1", "v2", "v3"], QUESTIONS)
    svg = question_heatmap_svg(completeness, accuracy)
    shown = texts(svg)
    assert 'aria-label="Completeness and accuracy per question and prompt version"' in svg
    assert {"Completeness", "Accuracy", "v1", "v2", "v3", *QUESTIONS} <= set(shown)
    assert shown.count("n/a") == 1
    assert "0%" in shown and "100%" in shown  # cell annotations are whole percentages
    assert all(re.fullmatch(r"\d{1,3}%|n/a", t) for t in shown if t.endswith("%") or t == "n/a")


def test_heatmap_with_a_single_version() -> None:
    completeness, accuracy = frames(["v2"], QUESTIONS[:3])
    shown = texts(question_heatmap_svg(completeness, accuracy))
    assert {"v2", "company_size", "industry", "budget", "n/a"} <= set(shown)
    assert "v1" not in shown


def test_trend_marks_this_run_and_leaves_gaps_for_missing_values() -> None:
    points = [TrendPoint("11-19", 0.6, 0.7), TrendPoint("11-20", None, 0.72),
              TrendPoint("11-21", 0.8, None, current=True), TrendPoint("11-22", 0.9, 0.95)]
    svg = trend_svg(points)
    shown = texts(svg)
    assert 'aria-label="Completeness and accuracy across runs"' in svg
    assert {"11-19", "11-20", "11-21", "11-22", "this run", "Completeness", "Accuracy"} <= set(shown)
    assert shown.count("this run") == 1


@pytest.mark.parametrize("points", [
    [TrendPoint("run-1", 0.5, 0.9, current=True)],
    [TrendPoint("run-1", None, None, current=True)],
    [TrendPoint(f"r{i:02d}", i / 30, 1 - i / 30, current=i == 29) for i in range(30)],
])
def test_trend_edge_cases(points: list[TrendPoint]) -> None:
    shown = texts(trend_svg(points))
    assert "this run" in shown
    assert {p.label for p in points} <= set(shown)


def test_trend_without_a_current_run_has_no_marker() -> None:
    assert "this run" not in texts(trend_svg([TrendPoint("a", 0.5, 0.5), TrendPoint("b", 0.6, 0.4)]))


def test_first_question_groups_turns_with_never_at_the_right() -> None:
    svg = first_question_svg({"v1": [1, 2, 2, None], "v2": [1, 1, 3, 1], "v3": [None, None, None, None]})
    shown = texts(svg)
    assert 'aria-label="Turn of the first discovery question per prompt version"' in svg
    ticks = [t for t in shown if t in {"1", "2", "3", "never"}]
    assert ticks[:4] == ["1", "2", "3", "never"]  # x axis first: turns in order, then "never"
    assert any(t.startswith("v1") for t in shown) and any(t.startswith("v3") for t in shown)


@pytest.mark.parametrize("turns", [{}, {"v1": []}])
def test_first_question_without_scenarios(turns: dict[str, list[int | None]]) -> None:
    shown = texts(first_question_svg(turns))
    assert shown == ["no scenarios"]


def test_first_question_when_no_version_asks() -> None:
    shown = texts(first_question_svg({"v1": [None, None]}))
    assert "never" in shown and "v1 (n=2)" in shown


def charts() -> dict[str, str]:
    completeness, accuracy = frames(["v1", "v2"], QUESTIONS[:5])
    return {
        "heatmap": question_heatmap_svg(completeness, accuracy),
        "trend": trend_svg([TrendPoint("run-a", 0.5, 0.6), TrendPoint("run-b", 0.7, None, current=True)]),
        "first": first_question_svg({"v1": [1, 3, None], "v2": [2, 2, 2]}),
        "empty": first_question_svg({}),
    }


def test_same_input_gives_byte_identical_svg_without_dates() -> None:
    first, second = charts(), charts()
    assert first == second
    for name, svg in first.items():
        assert not DATE.search(svg), name
        assert "Matplotlib" not in svg and "matplotlib.org" not in svg, name


def test_charts_can_share_one_html_page() -> None:
    page = [svg for name, svg in charts().items() if name != "empty"]  # "empty" replaces "first" on a page
    ids = [i for svg in page for i in re.findall(r'\bid="([^"]+)"', svg)]
    assert len(ids) == len(set(ids))
    for svg in charts().values():
        root = ET.fromstring(svg).get("id")
        assert re.search(rf"<style[^>]*>#{root} \*\{{", svg)  # matplotlib's `*{...}` rule stays inside its chart


def test_labels_are_not_read_as_math() -> None:
    shown = texts(trend_svg([TrendPoint("$5k deal$", 0.5, 0.5, current=True)]))
    assert "$5k deal$" in shown


def test_heatmap_accepts_none_from_nested_dicts() -> None:
    """The report context holds {question: {version: value or None}}; None must read as missing, not fail."""
    nested = {"company_size": {"v1": None, "v2": 0.5}, "budget": {"v1": None, "v2": None}}
    frame = pd.DataFrame(nested).T
    shown = texts(question_heatmap_svg(frame, frame))
    assert shown.count("n/a") == 6 and shown.count("50%") == 3  # two cells and the colour scale
