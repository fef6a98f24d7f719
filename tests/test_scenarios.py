"""Suites, personas and phrasebooks: the shipped files validate, broken ones fail with file:line: field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.bank import load_bank
from lab.scenarios import load_suite
from lab.yamlio import InputErrors
from tests.helpers import copy_scenarios, exolab, replace_in

CANONICAL_IDS = [
    "company_size", "loaded_functions", "ai_owner", "ai_role", "dialog_processes", "errors_manual_work",
    "llm_incidents", "cost_of_problem", "tried_before", "ideal_process", "audit_importance", "urgency",
    "cost_of_inaction", "impact_if_solved",
]


def test_bank_holds_exactly_the_canonical_ids_in_order() -> None:
    bank = load_bank()
    assert bank.ids == CANONICAL_IDS
    for question in bank.questions:
        for lang in ("ru", "en", "zh"):
            assert getattr(question.phrasings, lang), (question.id, lang)


def test_smoke_suite_loads_with_every_fact(smoke_suite: Path) -> None:
    loaded = load_suite(smoke_suite)
    assert len(loaded.personas) == len(loaded.suite.personas) >= 3
    assert {p.language for p in loaded.personas.values()} == {"ru", "en", "zh"}
    for persona in loaded.personas.values():
        assert set(loaded.suite.required_questions) <= set(persona.facts)
    assert all(len(h) == 64 for h in loaded.file_hashes.values())


def _errors(suite: Path) -> list[str]:
    with pytest.raises(InputErrors) as info:
        load_suite(suite)
    return [str(e) for e in info.value.errors]


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "max_turns: 24", "max_turns: 24\nmax_turn: 3")
    errors = _errors(suite)
    assert len(errors) == 1
    line = suite.read_text().splitlines().index("max_turn: 3") + 1
    assert errors[0].endswith(f"smoke.yaml:{line}: max_turn: unknown field (not allowed here)")


def test_unknown_question_id_suggests_the_close_one(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "  - urgency\n", "  - urgncy\n")
    errors = _errors(suite)
    assert any(re.search(r"smoke\.yaml:\d+: required_questions\[\d+\]: unknown question id 'urgncy'; "
                         r"did you mean 'urgency'", e) for e in errors), errors


def test_persona_missing_a_required_fact_is_named(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    persona = suite.parent / "personas" / "en_saas_small.yaml"
    text = persona.read_text(encoding="utf-8")
    start = text.index("  urgency:")
    end = text.index("\n  ", start + 12)
    while text[end + 3] == " ":  # skip the fact's indented body
        end = text.index("\n  ", end + 1)
    persona.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    errors = _errors(suite)
    assert any(re.search(r"en_saas_small\.yaml:\d+: facts: no fact for required question id 'urgency'", e)
               for e in errors), errors


def test_bad_language_and_broken_yaml_are_reported_together(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    replace_in(suite.parent / "personas" / "en_saas_small.yaml", "language: en", "language: fr")
    (suite.parent / "personas" / "ru_fintech_upper_mid.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    errors = _errors(suite)
    assert any("en_saas_small.yaml" in e and ": language: " in e for e in errors), errors
    assert any("ru_fintech_upper_mid.yaml:" in e and "invalid YAML" in e for e in errors), errors


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "seed:", "repetitions: 3\nseed:")
    errors = _errors(suite)
    assert any("duplicate key 'repetitions'" in e for e in errors), errors


def test_unknown_persona_suggests(tmp_path: Path) -> None:
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "  - en_saas_small\n", "  - en_saas_smal\n")
    errors = _errors(suite)
    assert any("unknown persona 'en_saas_smal'; did you mean 'en_saas_small'" in e for e in errors), errors


def test_cli_validate_exit_codes(tmp_path: Path, root: Path) -> None:
    ok = exolab("validate", str(root / "scenarios"), str(root / "prompts"), str(root / "metrics"), cwd=root)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("ok ") >= 12
    suite = copy_scenarios(tmp_path)
    replace_in(suite, "max_turns: 24", "max_turns: many")
    bad = exolab("validate", str(suite), cwd=tmp_path)
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"error: scenarios/smoke\.yaml:\d+: max_turns: ", lines[0]), lines


def test_committed_json_schemas_are_current(tmp_path: Path, root: Path) -> None:
    result = exolab("schema", "--out", str(tmp_path), cwd=root)
    assert result.returncode == 0, result.stderr
    for fresh in tmp_path.glob("*.schema.json"):
        committed = root / "scenarios" / "schema" / fresh.name
        assert committed.read_text() == fresh.read_text(), f"run `exolab schema` to refresh {fresh.name}"
