"""Clause splitting: a two-question turn must reach the detector as two questions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.scoring.text import clause_candidates


@pytest.mark.parametrize(("question", "parts"), [
    ("这事儿急不急，解决了以后对团队会有什么改变？", ["这事儿急不急", "解决了以后对团队会有什么改变"]),
    ("理想的流程是什么样的，审计留痕在其中有多重要？", ["理想的流程是什么样的", "审计留痕在其中有多重要"]),
    ("How many people and who drives AI?", ["How many people", "who drives AI"]),
    ("Сколько у вас сотрудников и какие направления самые загруженные?",
     ["Сколько у вас сотрудников", "какие направления самые загруженные"]),
])
def test_conjunct_questions_are_split(question: str, parts: list[str]) -> None:
    assert clause_candidates(question) == [question, *parts]


def test_a_chinese_preamble_is_not_a_question_of_its_own() -> None:
    assert clause_candidates("大概来说，如果不做，会怎样？") == ["大概来说，如果不做，会怎样？"]


@given(st.text(alphabet="急不要是没有好的吗，,?？ abc", max_size=40))
def test_the_whole_question_always_comes_first(question: str) -> None:
    found = clause_candidates(question)
    assert found[0] == question
    assert all(part.strip() for part in found[1:]) and len(found) != 2
