"""The rule signals the capture judge combines, without the embedding model: polarity, stance,
intensity, oversight, scope, derived figures, dates, named entities and word overlap."""

from __future__ import annotations

import pytest

from lab.scoring.config import load_scorer_config
from lab.scoring.features import (
    JUDGE_FEATURES,
    entities,
    intensity,
    judge_signals,
    oversight,
    polarity_negative,
    scope,
    stance,
    word_overlap,
)

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
    # yes/no words count at the start only: "a tariff that does not exist" answers nothing
    ("Было: модель придумала тариф, которого нет.", 0), ("AI已经直接面对客户了", 1), ("产品中尚未使用AI", -1),
])
def test_stance(text: str, expected: int) -> None:
    assert stance(text, CFG.stance.deny, CFG.stance.affirm) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("must be solved this quarter", 1), ("Can wait — not a priority this quarter.", -1),
    ("Не срочно, может подождать", -1), ("Аудит для нас критичен", 1), ("不急，可以等到明年", -1),
    ("必须这个季度解决", 1), ("support and onboarding", 0),
    ("不紧急，可以明年再考虑", -1), ("not urgent at all", -1), ("Это не критично", -1),
])
def test_intensity(text: str, expected: int) -> None:
    assert intensity(text, CFG.intensity.high, CFG.intensity.low) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("AI由我们CTO牵头。", {"CTO"}), ("Our Head of Customer Experience drives AI", {"CX"}),
    ("За AI отвечает финансовый директор", {"CFO"}), ("директор по клиентскому опыту", {"CX"}),
    ("Most loaded: support, then billing.", {"SUPPORT", "BILLING"}),
    ("We tried Intercom and then Drift.", {"INTERCOM", "DRIFT"}),
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


@pytest.mark.parametrize(("text", "expected"), [
    ("2 hours a day per operator", 1), ("~2 ч в день на всю команду", -1), ("每个坐席每天两个小时", 1),
    ("整个团队每天约2小时", -1), ("about 2 hours a day", 0),
])
def test_scope(text: str, expected: int) -> None:
    assert scope(text, CFG.scope.per_person, CFG.scope.total) == expected


def test_per_person_turned_into_per_team_is_unfaithful() -> None:
    signals = judge_signals("Каждый оператор тратит около 2 часов в день.", "~2 ч в день на всю команду", 0.9)
    assert any("whole team" in r for r in signals.reasons)


@pytest.mark.parametrize(("truth", "captured", "flagged"), [
    ("审批周期能从五天缩短到一天。", "审批周期可从5天缩至2天", True),  # a competing figure of the same kind
    ("кэшбэк 10 %", "кэшбэк 10 %, и ещё 20 часов в неделю на разбор споров", False),  # another topic's figure
    ("на комплект уходит 5–10 дней", "на один комплект уходит 5–10 дней", False),
])
def test_extra_numbers_only_count_against_figures_of_their_kind(truth: str, captured: str, flagged: bool) -> None:
    signals = judge_signals(truth, captured, 0.9)
    assert any("does not:" in r for r in signals.reasons) is flagged


@pytest.mark.parametrize(("truth", "captured"), [
    ("如果不改，半年之内我们就得再招二十个客服。", "不作为后果：6个月内需增招20名客服"),
    ("要在六月底之前上线。", "Urgent: must be live by end of June."),
    ("最耗人的是售后退换货咨询和物流查询。", "Most dialogue-heavy: after-sales returns and delivery-status inquiries"),
])
def test_faithful_rewordings_fire_no_decisive_signal(truth: str, captured: str) -> None:
    from lab.scoring.features import decisive

    assert not decisive(judge_signals(truth, captured, 0.8).features[None, :])[0]


CAPTURE = load_scorer_config().capture


def _signal(truth: str, captured: str, name: str) -> float:
    return float(judge_signals(truth, captured, similarity=0.8).features[JUDGE_FEATURES.index(name)])


@pytest.mark.parametrize(("text", "expected"), [
    ("Yes — our bot once promised a discount that didn't exist.", 1),
    ("Был один случай: бот пообещал скидку, которой не было.", 1),
    ("Нет, инцидентов не было.", -1),
    ("Хуже не станет, останется как есть.", -1),
    ("We tried UiPath; it broke whenever suppliers changed templates.", 1),
    ("之前从来没试过任何自动化工具。", -1),
    ("AI уже используется в продукте.", 1),
])
def test_stance_opening_verdict_and_word_starts(text: str, expected: int) -> None:
    assert stance(text, CAPTURE.stance.deny, CAPTURE.stance.affirm) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("The AI drafts the answer, an agent checks it and hits send.", 1),
    ("The AI should never send anything without a human approval.", 1),
    ("Модель только подсказывает операторам, клиентам напрямую не отвечает.", 1),
    ("发出前一定人工审核。", 1),
    ("Ideal: AI sends replies straight to the customer.", -1),
    ("GPT пишет ответы и отправляет клиентам напрямую.", -1),
    ("机器人回复直接发给客户。", -1),
    ("About 100 people in support.", 0),
])
def test_oversight(text: str, expected: int) -> None:
    assert oversight(text, CAPTURE.oversight.human, CAPTURE.oversight.autonomous) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Операторы ведут около 40 диалогов в день каждый.", 1),
    ("each buyer spends 3 hours a day", 1),
    ("每个客服一天两个小时", 1),
    ("~40 диалогов в день на всю смену", -1),
    ("3 hrs/day for the whole procurement team", -1),
    ("整个坐席团队每天多接40通", -1),
    ("каждый день около 40 диалогов", 0),
    ("3 hours each day", 0),
])
def test_scope_patterns(text: str, expected: int) -> None:
    assert scope(text, CAPTURE.scope.per_person, CAPTURE.scope.total) == expected


def test_a_derived_total_is_not_an_invented_number() -> None:
    truth = "Five analysts spend about 20 hours a week each on manual reports."
    assert _signal(truth, "5 analysts × 20 h = ~100 h/week on manual reports", "numbers_extra") == 0
    assert _signal(truth, "5 analysts, 20 h/week each, 300 h/week in total", "numbers_extra") == 1


def test_a_dropped_one_is_not_a_dropped_number() -> None:
    assert _signal("前年上过一套RPA，后来基本停用了。", "前年试过RPA，基本停用", "numbers_dropped") == 0
    assert _signal("Запуск нужен к 1 апреля.", "Дедлайн — 11 апреля", "number_mismatch") == 1


def test_month_abbreviations_are_not_a_swapped_entity() -> None:
    aliases = CAPTURE.entity_aliases
    assert entities("Live before the holiday peak in November.", aliases) == set()
    assert entities("Must be live before Nov peak; owner CTO", aliases) == {"CTO"}
    assert _signal("Needed before the November peak.", "Before the Nov peak", "entity_swap") == 0


def test_an_alias_starts_a_word() -> None:
    assert "RISK" not in entities("Mark it with an asterisk.", CAPTURE.entity_aliases)


def test_an_agreeing_intensity_explains_a_negation() -> None:
    truth = "Честно — это скорее nice-to-have, на этот год у нас другие приоритеты."
    assert _signal(truth, "Не срочно, nice-to-have", "polarity_mismatch") == 0



def test_an_agreeing_stance_explains_a_negation() -> None:
    assert _signal("останется так же, жить можно", "ничего не изменится, и это терпимо", "polarity_mismatch") == 0
    assert _signal("останется так же, жить можно", "станет хуже", "stance_mismatch") == 1

def test_shared_generic_acronyms_keep_no_entity() -> None:
    """Every answer about AI says "AI": sharing it must not hide that the CTO went missing."""
    assert _signal("AI у нас драйвит CTO.", "AI is used for application scoring", "entity_missing") == 1


def test_word_overlap_separates_a_condensed_note_from_another_fact() -> None:
    truth = "Чаще всего ошибаются при ручном вводе паспортных данных."
    assert word_overlap(truth, "Ошибки: ручной ввод паспортных данных") > 0.5
    assert word_overlap(truth, "Главная проблема — долгие согласования с юристами") == 0
    assert word_overlap("审批周期从五天变成一天", "审批周期5天→1天") > 0.5
