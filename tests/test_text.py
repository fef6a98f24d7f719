"""Clause splitting: a two-question turn must reach the detector as two questions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.scoring.features import _has_cue, candidates
from lab.scoring.text import (
    asks_as_list,
    clause_candidates,
    find_marker,
    opens_with_request,
    worded_as_question,
)


@pytest.mark.parametrize(("question", "parts"), [
    ("这事儿急不急，解决了以后对团队会有什么改变？", ["这事儿急不急", "解决了以后对团队会有什么改变"]),
    ("理想的流程是什么样的，审计留痕在其中有多重要？", ["理想的流程是什么样的", "审计留痕在其中有多重要"]),
    ("How many people and who drives AI?", ["How many people", "who drives AI"]),
    ("Где больше всего ошибок, во что они обходятся?", ["Где больше всего ошибок", "во что они обходятся"]),
    ("Сколько у вас сотрудников и какие направления самые загруженные?",
     ["Сколько у вас сотрудников", "какие направления самые загруженные"]),
    # a verb with the particle ли after a comma opens a yes-no question
    ("Какую роль играет Copilot, пробовали ли вы что-то до него?",
     ["Какую роль играет Copilot", "пробовали ли вы что-то до него"]),
    # what 以及 / 还有 join to a request is asked too, though it has no question word of its own
    ("说说过去做RPA卡在哪儿，以及您心目中理想的样子。", ["说说过去做RPA卡在哪儿", "您心目中理想的样子"]),
])
def test_conjunct_questions_are_split(question: str, parts: list[str]) -> None:
    assert clause_candidates(question) == [question, *parts]


@pytest.mark.parametrize(("question", "parts"), [
    ("Three quick ones: 1) headcount, 2) which team is under most pressure, 3) who drives AI.",
     ["Three quick ones", "headcount", "which team is under most pressure", "who drives AI"]),
    ("По пунктам: 1) где больше всего ручной работы, 2) во что это обходится.",
     ["По пунктам", "где больше всего ручной работы", "во что это обходится"]),
    ("Во-первых, какой у вас штат; во-вторых, какие процессы самые трудоёмкие.",
     ["какой у вас штат", "какие процессы самые трудоёмкие"]),
    ("想确认两点：1）员工总数；2）AI的负责人是谁。", ["想确认两点", "员工总数", "AI的负责人是谁"]),
    ("Пара вопросов: — какую роль ИИ играет; — кто за это отвечает.",
     ["Пара вопросов", "какую роль ИИ играет", "кто за это отвечает"]),
])
def test_numbered_lists_are_split_into_their_items(question: str, parts: list[str]) -> None:
    assert clause_candidates(question) == [question, *parts]


@pytest.mark.parametrize("text", [
    "Quick ones: 1) roughly how many staff are you, 2) which departments are most overloaded, 3) who owns AI.",
    "Ответьте, пожалуйста, на три вопроса: 1) сколько у вас сотрудников; 2) кто ведёт ИИ; 3) где больше ошибок.",
    "Пара вопросов: — какую роль ИИ сейчас играет; — кто внутри за это отвечает.",
    "想请教三件事：1）公司大概有多少员工；2）哪个部门压力最大。",
    # the spoken Chinese ordinals
    "我想先聊三件事：一是公司大概多少人，二是谁在牵头AI，三是现在AI用在哪些环节。",
    # after a colon, two items set apart by commas that ask
    "我想确认三件事：AI项目谁拍板，现在线上有没有在跑的AI，上线以来有没有闹过幻觉。",
    "Three things before we wrap: who signs off on AI, how many agents you have, and what you tried.",
])
def test_a_list_of_questions_asks_though_it_ends_on_a_full_stop(text: str) -> None:
    assert asks_as_list(text)


@pytest.mark.parametrize("text", [
    "Agenda for today: 1) introductions, 2) your current setup, 3) next steps.",
    "План на сегодня: знакомство; ваши процессы; следующие шаги.",
    "We cut handling time by 30 % in 2) of 3 pilots.",
    "Как вы и сказали: бюджет утверждён.",
    "我们选这个方案有两个原因：一是成本低，二是上线快。",
    # one item that asks, among commas, is a remark, not a list
    "Для контекста: у нас 200 человек, и кто-то из них уже пробовал ботов.",
    "So, to recap: 600 staff, two call centres, and a pilot that stalled.",
])
def test_an_agenda_or_a_single_item_is_not_a_list_of_questions(text: str) -> None:
    assert not asks_as_list(text)


@pytest.mark.parametrize("text", [
    "Ну и заодно — насколько вам важно, чтобы всё было прослеживаемо",
    "What would it unlock, and is there a hard deadline driving it",
    "Скажите, где у вас уже есть AI, и были ли случаи, когда он ошибался",
    "谁在负责你们的AI，目前AI都用在哪些地方",
    "Were there any incidents, and who owns the roadmap",
    # a Chinese sentence ending on 吗 or 呢 asks, wherever its question words are
    "上次模型乱报利率那回之后，还有别的类似情况吗",
    "那要是一直拖到年底都不处理呢",
    # the spoken 啥 and 咋
    "那个机器人现在主要干啥",
    "要是一直拖着，后面会咋样",
])
def test_a_question_without_its_mark_is_still_worded_as_one(text: str) -> None:
    assert worded_as_question(text)


@pytest.mark.parametrize("text", [
    "Вы уже пробовали UiPath и чат-бот на Drift, но оба упёрлись в потолок.",
    "We help teams like yours cut handling time.",
    "你们去年员工规模翻了一倍，这在行业里挺少见的。",
    # 啥的 is "and so on", not "what"
    "之前找外包做过机器人啥的，效果一般。",
    # an agenda names what will be asked, late in the sentence
    "Предлагаю сделать разговор практичным: сначала хочу разобраться, как у вас устроены процессы — где ошибки.",
    "我建议我们把这次交流做得务实：我想先了解一下贵公司的流程—— 哪里出错、哪里延误。",
    "I suggest we keep this practical: first I'd like to understand where errors come from.",
])
def test_a_statement_is_not_worded_as_a_question(text: str) -> None:
    assert not worded_as_question(text)


def test_a_sentence_opening_connective_joins_no_phrase_to_a_request() -> None:
    """另外 / 还有 opening a sentence lead into a condition, which is not asked on its own."""
    for opening in ("另外", "还有"):
        question = f"{opening}，如果设想一个理想的流程，它会是什么样子？"
        assert clause_candidates(question) == [question]


def test_a_chinese_preamble_is_not_a_question_of_its_own() -> None:
    assert clause_candidates("大概来说，如果不做，会怎样？") == ["大概来说，如果不做，会怎样？"]


@given(st.text(alphabet="急不要是没有好的吗，,?？ abc", max_size=40))
def test_the_whole_question_always_comes_first(question: str) -> None:
    found = clause_candidates(question)
    assert found[0] == question
    assert all(part.strip() for part in found[1:]) and len(found) != 2


def _find_marker_one_by_one(text: str, markers: list[str]) -> tuple[int, str] | None:
    """The definition `find_marker` compiles into one pattern: each marker searched on its own,
    the earliest kept, the first listed among those starting together."""
    best: tuple[int, str] | None = None
    for marker in markers:
        boundary = r"(?<![a-zа-яё0-9])" if re.match(r"[a-zа-яё0-9]", marker.lower()) else ""
        match = re.search(boundary + re.escape(marker.lower()), text.lower())
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), marker)
    return best


_MARKER_TEXT = st.text(alphabet="abАбёне 不没?.,1", max_size=30)


@given(_MARKER_TEXT, st.lists(st.text(alphabet="abАбёне 不没?.1", min_size=1, max_size=4), max_size=6))
def test_find_marker_is_the_earliest_marker_in_list_order(text: str, markers: list[str]) -> None:
    assert find_marker(text, markers) == _find_marker_one_by_one(text, markers)


def test_find_marker_respects_word_starts_but_not_in_chinese() -> None:
    assert find_marker("the average is", ["rag"]) is None
    assert find_marker("Tell me, what", ["what", "tell me"]) == (0, "tell me")
    assert find_marker("我们没有", ["没有", "没"]) == (2, "没有")


@pytest.mark.parametrize("text", [
    "Point me to the functions where workload is outpacing the people you have.",
    "Please rank your departments by how overloaded they are.",
    "Level with me on timing — this quarter or later.",
    "Обозначьте, пожалуйста, приоритет этой задачи.",
    "Пройдитесь по цепочке обработки заявки и отметьте, где она застревает.",
    "А набросайте, каким вы видите идеальный процесс.",
    # a Chinese polite request, opening the sentence or a clause after a condition
    "请把当时上线客服机器人的经历讲细一点。",
    "倘若这事拖到明年，请您推演一下对投诉量的影响。",
    "烦请用一句话概括：哪个团队最吃紧。",
])
def test_a_sentence_opening_on_a_request_verb_is_a_request(text: str) -> None:
    assert opens_with_request(text)


@pytest.mark.parametrize("text", [
    "We help teams like yours cut handling time.",
    "Construction firms tend to lose time on documentation.",
    "Знаете, у нас похожий кейс был в рознице.",
    "Хотите, покажу демо?",
    "Простите, связь пропала.",
    "Давайте я коротко расскажу, как это устроено.",
    "Point taken.",
    "我们请了外部顾问做评估。",
])
def test_a_remark_opening_on_a_pronoun_noun_or_apology_is_not_a_request(text: str) -> None:
    assert not opens_with_request(text)


@given(st.text(alphabet="abc скажиtell请问 ", max_size=30),
       st.lists(st.text(alphabet="abc скаж请问 ", min_size=1, max_size=5), max_size=6))
def test_cue_search_equals_a_substring_test_per_cue(text: str, cues: list[str]) -> None:
    assert _has_cue(text, cues) == any(cue.lower() in text.lower() for cue in cues)


def test_a_wish_to_hear_or_know_asks_as_a_request_does() -> None:
    found = candidates("Where do most errors happen? I'd also like to hear who owns AI on your side.")
    assert [c.interrogative for c in found] == [True, True]
