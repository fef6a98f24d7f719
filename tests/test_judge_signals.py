"""The rule signals the capture judge combines: polarity, stance, intensity, named entities."""

from __future__ import annotations

import pytest

from lab.scoring.config import load_scorer_config
from lab.scoring.features import entities, intensity, judge_signals, polarity_negative, stance

CFG = load_scorer_config().capture


@pytest.mark.parametrize(("text", "negative"), [
    ("no incidents so far", True), ("we had an incident", False), ("инцидентов не было", True),
    ("был инцидент", False), ("没有发生过事故", True), ("发生过一次事故", False), ("we haven't tried", True),
])
def test_polarity(text: str, negative: bool) -> None:
    assert polarity_negative(text) is negative


@pytest.mark.parametrize(("text", "expected"), [
    ("No incidents so far.", -1), ("Yes, the bot invented a refund policy.", 1),
    ("Нет, такого не было.", -1), ("Да, был случай со скидкой.", 1), ("暂无机器人异常事件", -1),
    ("有，机器人承诺过不存在的折扣。", 1), ("Claims intake is the most dialogue-heavy.", 0),
])
def test_stance(text: str, expected: int) -> None:
    assert stance(text, CFG.stance.deny, CFG.stance.affirm) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("must be solved this quarter", 1), ("Can wait — not a priority this quarter.", -1),
    ("Не срочно, может подождать", -1), ("Аудит для нас критичен", 1), ("不急，可以等到明年", -1),
    ("必须这个季度解决", 1), ("support and onboarding", 0),
])
def test_intensity(text: str, expected: int) -> None:
    assert intensity(text, CFG.intensity.high, CFG.intensity.low) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("AI由我们CTO牵头。", {"AI", "CTO"}), ("Our Head of Customer Experience drives AI", {"AI", "CX"}),
    ("За AI отвечает финансовый директор", {"AI", "CFO"}), ("We tried Intercom and then Drift.", {"INTERCOM", "DRIFT"}),
    ("Intercom was our first attempt", {"INTERCOM"}), ("Just under 50,000 employees.", set()),
    ("最耗人的是理赔咨询", {"CLAIMS"}), ("поддержка и закупки", {"SUPPORT", "PROCUREMENT"}),
])
def test_entities_fold_aliases_across_languages(text: str, expected: set[str]) -> None:
    assert entities(text, CFG.entity_aliases) == expected


def test_signals_name_the_number_in_their_reasons() -> None:
    signals = judge_signals("about 100k employees", "about 10k employees", 0.9)
    assert any("100000" in r for r in signals.reasons)
    swapped = judge_signals("support and procurement", "HR and finance", 0.7)
    assert any("named entities differ" in r for r in swapped.reasons)
