"""The offline persona: deterministic per seed, answers from its fact sheet, guards and evades as its
behaviour says, ends the call on a next step, and speaks its own language."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.assistants.flow import flow_path, load_flow
from lab.personas.offline import OfflinePersona
from lab.scenarios import LoadedSuite, load_suite
from lab.scoring.text import detect_language
from lab.types import Conversation, Message, PersonaReply

FLOW = load_flow(flow_path("playbook"))
ALL_IDS = list(FLOW.texts["en"].questions)
SMOKE_PERSONAS = ["ru_fintech_upper_mid", "ru_enterprise_cotomi", "en_insurance_upper_mid", "en_saas_small",
                  "zh_manufacturing_procurement", "ru_construction_docs"]
PILOT_PRICE = {"ru": "Сколько стоит пилот?", "en": "How much is a pilot?", "zh": "试点需要多少钱？"}


@pytest.fixture
def loaded(smoke_suite: Path) -> LoadedSuite:
    return load_suite(smoke_suite)


def _persona(loaded: LoadedSuite, pid: str, seed: int) -> OfflinePersona:
    persona = loaded.personas[pid]
    return OfflinePersona(persona, loaded.phrasebooks, seed)


def _ask(lang: str, qid: str) -> str:
    return FLOW.texts[lang].questions[qid].ask


def _talk(persona: OfflinePersona, assistant_turns: list[str]) -> list[PersonaReply]:
    """Opening, then one persona reply per scripted assistant turn."""
    opening = persona.opening()
    messages = [Message(role="user", content=opening.text)]
    replies = [opening]
    for text in assistant_turns:
        messages.append(Message(role="assistant", content=text))
        reply = persona.respond(Conversation(messages=messages))
        messages.append(Message(role="user", content=reply.text))
        replies.append(reply)
    return replies


def test_smoke_suite_personas(loaded: LoadedSuite) -> None:
    assert sorted(loaded.personas) == sorted(SMOKE_PERSONAS)


def test_opening_is_a_greeting(loaded: LoadedSuite) -> None:
    persona = _persona(loaded, "ru_fintech_upper_mid", 1)
    assert persona.opening().text in loaded.phrasebooks["ru"].greetings


@pytest.mark.parametrize("pid", ["ru_fintech_upper_mid", "en_saas_small", "zh_manufacturing_procurement"])
def test_same_seed_same_replies(loaded: LoadedSuite, pid: str) -> None:
    lang = loaded.personas[pid].language
    script = [_ask(lang, q) for q in ALL_IDS] + [_ask(lang, "cost_of_problem"), _ask(lang, "urgency")]
    first = _talk(_persona(loaded, pid, 42), script)
    second = _talk(_persona(loaded, pid, 42), script)
    assert [r.model_dump() for r in first] == [r.model_dump() for r in second]


def test_different_seeds_change_wording(loaded: LoadedSuite) -> None:
    script = [_ask("ru", q) for q in ("company_size", "loaded_functions", "ai_owner", "ai_role")]
    replies = {seed: [r.text for r in _talk(_persona(loaded, "ru_fintech_upper_mid", seed), script)[1:]]
               for seed in (1, 2)}
    assert any(a != b for a, b in zip(replies[1], replies[2], strict=True))
    # the facts disclosed do not depend on the seed, only their wording
    disclosed = {seed: [r.disclosed for r in _talk(_persona(loaded, "ru_fintech_upper_mid", seed), script)]
                 for seed in (1, 2)}
    assert disclosed[1] == disclosed[2]


@pytest.mark.parametrize("pid", SMOKE_PERSONAS)
def test_disclosed_fact_is_the_truth_or_a_variant(loaded: LoadedSuite, pid: str) -> None:
    persona = loaded.personas[pid]
    script = [_ask(persona.language, q) for q in ALL_IDS for _ in range(2)]  # twice: guarded/evasive
    replies = _talk(_persona(loaded, pid, 7), script)[1:]
    seen = set()
    for qid, reply in zip([q for q in ALL_IDS for _ in range(2)], replies, strict=True):
        if not reply.disclosed:
            continue
        assert reply.disclosed == [qid], reply.text
        fact = persona.facts[qid]
        assert any(wording in reply.text for wording in (fact.truth, *fact.variants)), reply.text
        seen.add(qid)
    assert seen == set(persona.facts)


def test_guarded_fact_is_evaded_then_disclosed(loaded: LoadedSuite) -> None:
    pid = "ru_fintech_upper_mid"
    assert "cost_of_problem" in loaded.personas[pid].behaviour.guarded
    fact = loaded.personas[pid].facts["cost_of_problem"]
    wordings = (fact.truth, *fact.variants)
    first, second = _talk(_persona(loaded, pid, 3), [_ask("ru", "cost_of_problem")] * 2)[1:]
    assert first.evaded == ["cost_of_problem"]
    assert first.disclosed == []
    assert first.text in loaded.phrasebooks["ru"].evasions
    assert not any(w in first.text for w in wordings)
    assert second.evaded == []
    assert second.disclosed == ["cost_of_problem"]
    assert any(w in second.text for w in wordings)


def test_unguarded_fact_with_no_evasiveness_is_given_first_time(loaded: LoadedSuite) -> None:
    reply = _talk(_persona(loaded, "ru_fintech_upper_mid", 3), [_ask("ru", "company_size")])[1]
    assert reply.disclosed == ["company_size"]
    assert reply.evaded == []


@pytest.mark.parametrize(
    ("pid", "text"),
    [
        ("ru_fintech_upper_mid", "Отлично. Как вам такой следующий шаг?"),
        ("ru_fintech_upper_mid", FLOW.texts["ru"].next_step["upper_mid"]),
        ("en_insurance_upper_mid", FLOW.texts["en"].next_step["upper_mid"]),
        ("zh_manufacturing_procurement", FLOW.texts["zh"].next_step["enterprise"]),
    ],
)
def test_next_step_proposal_ends_the_call(loaded: LoadedSuite, pid: str, text: str) -> None:
    book = loaded.phrasebooks[loaded.personas[pid].language]
    assert any(marker in text.lower() for marker in book.next_step_markers)
    reply = _talk(_persona(loaded, pid, 5), [text])[1]
    assert reply.end is True
    assert reply.text in book.accept_next_step
    assert reply.disclosed == []


def test_question_not_ending_the_call(loaded: LoadedSuite) -> None:
    reply = _talk(_persona(loaded, "ru_fintech_upper_mid", 5), [_ask("ru", "ai_owner")])[1]
    assert reply.end is False


@pytest.mark.parametrize(
    ("pid", "text"),
    [
        ("ru_fintech_upper_mid", "Сколько стоит пилот?"),
        ("ru_fintech_upper_mid", "Когда вам удобно созвониться на следующей неделе?"),
        ("en_insurance_upper_mid", "What is your budget for this project?"),
        ("zh_manufacturing_procurement", "试点需要多少钱？"),
    ],
)
def test_out_of_bank_question_discloses_nothing(loaded: LoadedSuite, pid: str, text: str) -> None:
    persona = loaded.personas[pid]
    reply = _talk(_persona(loaded, pid, 5), [text])[1]
    assert reply.disclosed == []
    assert reply.evaded == []
    assert reply.end is False
    assert reply.text in loaded.phrasebooks[persona.language].not_understood
    for fact in persona.facts.values():
        assert fact.truth not in reply.text


def test_pitch_gets_an_acknowledgement(loaded: LoadedSuite) -> None:
    reply = _talk(_persona(loaded, "ru_fintech_upper_mid", 5), [FLOW.texts["ru"].pitch_generic])[1]
    assert reply.disclosed == []
    assert reply.text in loaded.phrasebooks["ru"].acknowledgements


def test_off_script_question_at_its_turn(loaded: LoadedSuite) -> None:
    pid = "en_insurance_upper_mid"
    (off,) = loaded.personas[pid].behaviour.off_script
    assert off.at_turn == 3
    script = [_ask("en", q) for q in ("company_size", "ai_owner", "ai_role", "urgency")]
    replies = _talk(_persona(loaded, pid, 11), script)  # replies[i] is the persona's turn i + 1
    with_off = [i + 1 for i, r in enumerate(replies) if off.ask in r.text]
    assert with_off == [3]
    assert replies[2].disclosed == ["ai_owner"]  # the answer is still given alongside


@pytest.mark.parametrize("pid", SMOKE_PERSONAS)
def test_replies_are_in_the_persona_language(loaded: LoadedSuite, pid: str) -> None:
    persona = loaded.personas[pid]
    lang = persona.language
    script = [_ask(lang, q) for q in ALL_IDS] + [PILOT_PRICE[lang], FLOW.texts[lang].next_step["mid"]]
    for reply in _talk(_persona(loaded, pid, 13), script):
        assert detect_language(reply.text) == lang, reply.text
