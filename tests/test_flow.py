"""The built-in playbook flow, driven directly with scripted customer messages (no persona)."""

from __future__ import annotations

import pytest

from lab.assistants.flow import AskStep, PlaybookFlowAssistant, check_versions, flow_path, load_flow
from lab.scoring.text import detect_language
from lab.types import Conversation, Message, Reply
from lab.yamlio import InputErrors

PATH = flow_path("playbook")
FLOW = load_flow(PATH)
RU, EN, ZH = FLOW.texts["ru"], FLOW.texts["en"], FLOW.texts["zh"]
PAIN_CONFIRMATION = ("urgency", "cost_of_inaction", "impact_if_solved")
EVASION = "Сложно сказать так сразу."  # scenarios/phrasebooks/ru.yaml, evasions
NEUTRAL = {"ru": "Да, у нас это устроено примерно так.", "en": "Yes, that is roughly how it works here.",
           "zh": "是的，我们这里大致是这样运作的。"}


class Call:
    """One conversation with the flow: the customer speaks, the assistant replies."""

    def __init__(self, version: str, seed: int = 0):
        self.assistant = PlaybookFlowAssistant(FLOW, version, seed)
        self.messages: list[Message] = []
        self.replies: list[Reply] = []

    def say(self, text: str) -> Reply:
        self.messages.append(Message(role="user", content=text))
        reply = self.assistant.respond(Conversation(messages=list(self.messages)))
        self.messages.append(Message(role="assistant", content=reply.text))
        self.replies.append(reply)
        return reply

    def until_done(self, answer: str, limit: int = 40) -> list[Reply]:
        for _ in range(limit):
            if self.say(answer).done:
                return self.replies
        raise AssertionError("the flow never finished")


def _asks(version: str) -> list[list[str]]:
    return [list(step.ask) for step in FLOW.versions[version].steps if isinstance(step, AskStep)]


def _asked_ids(text: str, lang: str = "ru") -> list[str]:
    texts = FLOW.texts[lang]
    return [qid for qid, q in texts.questions.items() if q.ask in text]


def test_v1_asks_company_size_first_then_one_question_per_turn_in_step_order() -> None:
    call = Call("v1")
    first = call.say("Здравствуйте!")
    assert first.text.startswith(RU.welcome)
    assert _asked_ids(first.text) == ["company_size"]
    assert first.stage == "qualification"
    replies = call.until_done(NEUTRAL["ru"])
    asked = [_asked_ids(r.text) for r in replies]
    expected = _asks("v1")
    assert [a for a in asked if a] == expected
    assert all(len(a) <= 1 for a in asked)
    assert asked[:len(expected)] == expected  # no turn without a question until the bank is done
    stages = [r.stage for r in replies]
    assert stages[len(expected):] == ["positioning", "next_step", "closing"]
    assert any(replies[1].text.startswith(ack) for ack in RU.acknowledge)


def test_v3_asks_two_questions_per_turn() -> None:
    call = Call("v3")
    call.say("Hi there.")
    replies = call.until_done(NEUTRAL["en"])
    pairs = _asks("v3")
    assert all(len(p) == 2 for p in pairs)
    for reply, pair in zip(replies, pairs, strict=False):
        assert EN.joiner.join(EN.questions[q].ask for q in pair) in reply.text
        assert _asked_ids(reply.text, "en") == pair
    assert [r.stage for r in replies[len(pairs):]] == ["positioning", "next_step", "closing"]


def test_v2_pitches_before_discovery_and_skips_pain_confirmation() -> None:
    call = Call("v2")
    call.say("Hello.")
    replies = call.until_done(NEUTRAL["en"])
    stages = [r.stage for r in replies]
    assert "discovery" in stages
    assert stages.index("positioning") < stages.index("discovery")
    assert EN.pitch_generic in replies[stages.index("positioning")].text
    assert "pain_confirmation" not in stages
    for reply in replies:
        for qid in PAIN_CONFIRMATION:
            assert EN.questions[qid].ask not in reply.text
            assert EN.questions[qid].follow_up not in reply.text
    assert {qid for r in replies for qid in _asked_ids(r.text, "en")}.isdisjoint(PAIN_CONFIRMATION)


def test_evasion_gets_a_follow_up_in_v1() -> None:
    call = Call("v1")
    call.say("Здравствуйте!")
    follow = call.say(EVASION)
    assert follow.stage == "follow_up"
    assert RU.questions["company_size"].follow_up in follow.text
    assert _asked_ids(follow.text) == []
    assert "company_size" not in (follow.captured or {})
    after = call.say("около 1200 сотрудников")
    assert after.captured == {"company_size": "около 1200 сотрудников"}
    assert _asked_ids(after.text) == ["loaded_functions"]


def test_v1_follows_up_only_once() -> None:
    call = Call("v1")
    call.say("Здравствуйте!")
    assert call.say(EVASION).stage == "follow_up"
    again = call.say(EVASION)
    assert again.stage == "qualification"
    assert _asked_ids(again.text) == ["loaded_functions"]


def test_v3_follows_up_on_both_questions() -> None:
    call = Call("v3")
    call.say("Здравствуйте!")
    follow = call.say(EVASION)
    assert follow.stage == "follow_up"
    assert RU.questions["company_size"].follow_up in follow.text
    assert RU.questions["loaded_functions"].follow_up in follow.text


def test_evasion_gets_no_follow_up_in_v2() -> None:
    call = Call("v2")
    call.say("Здравствуйте!")
    reply = call.say(EVASION)
    assert reply.stage != "follow_up"
    assert RU.questions["company_size"].follow_up not in reply.text
    assert _asked_ids(reply.text) == ["loaded_functions"]


def test_captured_hand_off_holds_the_answer_for_the_asked_id() -> None:
    call = Call("v1")
    assert call.say("Здравствуйте!").captured == {}
    size = call.say("У нас около 1200 сотрудников.")
    assert size.captured == {"company_size": "У нас около 1200 сотрудников."}
    functions = call.say("Больше всего нагружены поддержка и антифрод.")
    assert functions.captured == {"company_size": "У нас около 1200 сотрудников.",
                                  "loaded_functions": "Больше всего нагружены поддержка и антифрод."}


def test_customer_question_gets_the_defer_text() -> None:
    call = Call("v1")
    call.say("Здравствуйте!")
    reply = call.say("А сколько стоит пилот?")
    assert RU.defer_customer_question.strip() in reply.text


def test_customer_question_is_not_captured_with_the_answer() -> None:
    call = Call("v1")
    call.say("Здравствуйте!")
    reply = call.say("У нас около 1200 сотрудников. А сколько стоит пилот?")
    assert RU.defer_customer_question.strip() in reply.text
    assert reply.captured == {"company_size": "У нас около 1200 сотрудников."}


def test_a_pure_customer_question_is_not_an_answer() -> None:
    call = Call("v1")
    call.say("Здравствуйте!")
    reply = call.say("А сколько стоит пилот?")
    assert "company_size" not in (reply.captured or {})


@pytest.mark.parametrize(
    ("size_answer", "segment"),
    [("около 100 000 сотрудников", "enterprise"), ("около 60 человек", "small"),
     ("1200 сотрудников", "upper_mid")],
)
@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_next_step_depends_on_company_size(version: str, size_answer: str, segment: str) -> None:
    call = Call(version)
    call.say("Здравствуйте!")
    call.say(size_answer)
    replies = call.until_done(NEUTRAL["ru"])
    next_steps = [r for r in replies if r.stage == "next_step"]
    assert len(next_steps) == 1
    assert RU.next_step[segment] in next_steps[0].text
    for other, text in RU.next_step.items():
        if other != segment:
            assert text not in next_steps[0].text
    if segment == "enterprise":
        assert "Discovery/Blueprint" in next_steps[0].text
    # after the next step, the following reply is the closing, and the call is done
    assert replies[-2] is next_steps[0]
    assert replies[-1].text == RU.closing
    assert replies[-1].stage == "closing"
    assert replies[-1].done is True
    assert not any(r.done for r in replies[:-1])


def test_language_follows_the_last_user_message() -> None:
    call = Call("v1")
    first = call.say("Здравствуйте!")
    assert detect_language(first.text) == "ru"
    assert first.text.startswith(RU.welcome)
    en = call.say("We have about 1,200 employees.")
    assert detect_language(en.text) == "en"
    assert EN.questions["loaded_functions"].ask in en.text
    zh = call.say("客服和运营的负担最重。")
    assert detect_language(zh.text) == "zh"
    assert ZH.questions["ai_owner"].ask in zh.text
    ru = call.say("AI у нас драйвит CTO.")
    assert detect_language(ru.text) == "ru"
    assert RU.questions["ai_role"].ask in ru.text


@pytest.mark.parametrize(("lang", "greeting"), [("ru", "Добрый день!"), ("en", "Good afternoon!"),
                                                 ("zh", "您好！")])
def test_welcome_in_the_customer_language(lang: str, greeting: str) -> None:
    reply = Call("v1").say(greeting)
    assert reply.text.startswith(FLOW.texts[lang].welcome)


def test_same_seed_same_call() -> None:
    def transcript(seed: int) -> list[str]:
        call = Call("v1", seed)
        call.say("Здравствуйте!")
        return [r.text for r in call.until_done(NEUTRAL["ru"])]

    assert transcript(5) == transcript(5)


def test_prompt_sha256_per_version() -> None:
    hashes = {v: FLOW.prompt_sha256(v) for v in FLOW.versions}
    assert set(hashes) >= {"v1", "v2", "v3"}
    assert len(set(hashes.values())) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes.values())
    assert {v: FLOW.prompt_sha256(v) for v in FLOW.versions} == hashes
    fresh = load_flow.__wrapped__(PATH)
    assert fresh is not FLOW
    assert {v: fresh.prompt_sha256(v) for v in fresh.versions} == hashes
    assert "v1" in FLOW.prompt_text("v1") and FLOW.prompt_text("v1") != FLOW.prompt_text("v2")


def test_check_versions_accepts_known_versions() -> None:
    check_versions(FLOW, ["v1", "v2", "v3"], PATH)


@pytest.mark.parametrize(("bad", "suggested"), [("v9", "'v1'"), ("v11", "'v1'")])
def test_check_versions_suggests_a_known_version(bad: str, suggested: str) -> None:
    with pytest.raises(InputErrors) as info:
        check_versions(FLOW, ["v1", bad], PATH)
    (error,) = info.value.errors
    assert f"unknown prompt version {bad!r}" in error.message
    assert "did you mean" in error.message
    assert suggested in error.message
    assert error.file.endswith("playbook.yaml")


def test_check_versions_lists_every_bad_version() -> None:
    with pytest.raises(InputErrors) as info:
        check_versions(FLOW, ["v9", "v11"], PATH)
    assert len(info.value.errors) == 2
    assert "'v9'" in str(info.value) and "'v11'" in str(info.value)
