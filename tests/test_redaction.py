"""Report redaction: secrets are always masked, whole and wherever they appear; the shipped PII patterns
take e-mails and phone numbers in RU/EN/ZH calls and leave the business figures of those calls alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.report.redact import Redactor, load_redaction, secret_values
from lab.yamlio import InputErrors

PII = Redactor(patterns=load_redaction().patterns)
PHONE = Redactor(patterns=[p for p in load_redaction().patterns if p.name == "phone"])


def test_secret_values_take_configured_and_credential_named_variables_longest_first() -> None:
    environ = {"OPENAI_API_KEY": "sk-abc12345", "EXO_BOT": "bot-value-1", "GITHUB_TOKEN": "sk-abc12345-extended",
               "DB_PASSWORD": "short", "HOME": "/home/someone", "GIT_AUTHOR_NAME": "Ivan Petrovich"}
    assert secret_values(environ) == ["sk-abc12345-extended", "sk-abc12345"]
    assert secret_values(environ, ["EXO_BOT", "MISSING_ENV"]) == ["sk-abc12345-extended", "bot-value-1",
                                                                   "sk-abc12345"]


def test_secrets_are_masked_whole_everywhere_in_a_nested_context() -> None:
    redactor = Redactor(secrets=["sk-abc12345", "sk-abc12345-extended", ""])
    context = {"appendix": [{"turns": [{"content": "my key is sk-abc12345-extended, ok?", "index": 3}]}],
               "manifest": {"headers": ("Bearer sk-abc12345", None), "sk-abc12345": 1.5}, "count": 7}
    masked = redactor.mask_any(context)
    assert masked == {"appendix": [{"turns": [{"content": "my key is [redacted], ok?", "index": 3}]}],
                      "manifest": {"headers": ("Bearer [redacted]", None), "[redacted]": 1.5}, "count": 7}
    assert "sk-abc" not in repr(masked) and "sk-abc" not in repr(redactor)
    assert context["count"] == 7 and "sk-abc12345-extended" in str(context)  # the input is left as it was


def test_pii_is_masked_only_when_patterns_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOLAB_JUDGE_API_KEY", "judge-secret-value")
    text = "Ключ judge-secret-value, почта ivan@example.ru, тел. +7 916 123 45 67"
    plain = Redactor(secret_values(os.environ))
    assert plain.mask(text) == "Ключ [redacted], почта ivan@example.ru, тел. +7 916 123 45 67"
    assert plain.description == "secrets masked; PII not masked"
    full = Redactor(secret_values(os.environ), load_redaction().patterns)
    assert full.mask(text) == "Ключ [redacted], почта [email], тел. [phone]"
    assert full.description == "secrets masked; PII patterns: email, phone"


@pytest.mark.parametrize("phone", [
    "+7 (916) 123-45-67", "+7 916 123 45 67", "8 (495) 123-45-67", "+1 415-555-0132", "(415) 555-0132",
    "+86 138 0013 8000", "13800138000", "+79161234567", "8-800-555-35-35", "415-555-0132", "123-45-67",
])
@pytest.mark.parametrize("sentence", ["Мой номер {}, звоните.", "Call me at {}.", "我的手机是{}，谢谢。"])
def test_phone_numbers_are_masked(phone: str, sentence: str) -> None:
    assert PII.mask(sentence.format(phone)) == sentence.format("[phone]")


@pytest.mark.parametrize("figure", [
    "1200 сотрудников", "около 1 200", "12 000", "100 000 employees", "1,5 млн", "150 тыс", "20 hours a week",
    "2026-11-23", "15%", "+15%", "$40,000", "3-5 дней", "10 000 обращений в месяц", "约3000名员工", "Q3 2025",
    "200–300", "+1 200 000 000 руб", "sha256 9f13800138000a", "0.13800138000 s",
])
def test_business_figures_are_left_alone(figure: str) -> None:
    assert PII.mask(figure) == figure


@pytest.mark.parametrize("email", ["ivan.petrov@example.ru", "li.wei+sales@mail.example.cn", "a_b@sub.x-y.com"])
def test_emails_are_masked(email: str) -> None:
    assert PII.mask(f"Пишите на {email}. 邮箱：{email}。") == "Пишите на [email]. 邮箱：[email]。"


EMAIL_SENTENCES = ["Пишите на {} — отвечу сегодня.", "Send the deck to {} please.", "我的邮箱是{}，谢谢。",
                   "邮箱{}谢谢", "(почта: {})"]


@given(st.emails(), st.sampled_from(EMAIL_SENTENCES))
def test_generated_emails_are_always_masked(email: str, sentence: str) -> None:
    assert PII.mask(sentence.format(email)) == sentence.format("[email]")


def _grouped(n: int, separator: str) -> str:
    return f"{n:,}".replace(",", separator)


NUMBER = st.builds(_grouped, st.integers(0, 10**10 - 1), st.sampled_from([" ", ",", "", "\u00a0"]))
UNITS = ["{} сотрудников", "около {} сотрудников", "{} employees", "约{}名员工", "{}%", "{} hours a week",
         "{} обращений в месяц", "$ {}"]


@given(NUMBER, st.sampled_from(UNITS))
def test_business_numbers_are_never_taken_for_phones(number: str, unit: str) -> None:
    phrase = unit.format(number)
    assert PHONE.mask(phrase) == phrase


@given(NUMBER, NUMBER, st.sampled_from(["от {} до {} сотрудников", "{}–{} employees", "{} и {} 名员工"]))
def test_ranges_of_business_numbers_are_never_taken_for_phones(low: str, high: str, phrase: str) -> None:
    text = phrase.format(low, high)
    assert PHONE.mask(text) == text


def test_a_broken_regex_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "redaction.yaml"
    path.write_text("patterns:\n  - name: bad\n    regex: '(unclosed'\n    replacement: '[x]'\n", encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        load_redaction(path)
    (error,) = caught.value.errors
    assert error.file.endswith("redaction.yaml") and error.line == 3 and error.field == "patterns[0].regex"
    assert "redaction.yaml:3: patterns[0].regex: not a valid regular expression" in str(caught.value)


def test_a_regex_matching_empty_text_and_unknown_fields_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "redaction.yaml"
    path.write_text("patterns:\n  - {name: a, regex: '[0-9]*', replacement: x}\n"
                    "  - {name: b, regex: '[0-9]+', replacement: x, flags: i}\n", encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        load_redaction(path)
    message = str(caught.value)
    assert "redaction.yaml:2: patterns[0].regex: the regular expression matches empty text" in message
    assert "redaction.yaml:3: patterns[1].flags: unknown field" in message


def test_a_variable_guessed_from_its_name_must_hold_something_key_like() -> None:
    environ = {"AUTH_MODE": "disabled", "AUTH_HOST": "localhost", "SERVICE_TOKEN": "tok3n-abcdef-123456",
               "BOT_PASSWORD": "two words 123"}
    assert secret_values(environ) == ["tok3n-abcdef-123456"]
    assert secret_values(environ, names=["AUTH_HOST"]) == ["tok3n-abcdef-123456", "localhost"]
