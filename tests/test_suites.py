"""The shipped suites and personas: every suite validates, every persona is complete and consistent
with the playbook's segments, and the nightly suite covers every kind of customer the playbook names."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT

from lab.assistants.flow import flow_path, load_flow
from lab.bank import load_bank
from lab.scenarios import load_suite
from lab.scoring import judge_capture

SUITES = sorted((ROOT / "scenarios").glob("*.yaml"))
PERSONA_FILES = sorted((ROOT / "scenarios" / "personas").glob("*.yaml"))
NEXT_STEP_BY_SEGMENT = {"enterprise": "discovery_blueprint", "large": "discovery_blueprint", "upper_mid": "pilot",
                        "mid": "demo", "small": "follow_up_later"}


@pytest.fixture(scope="module")
def nightly():  # type: ignore[no-untyped-def]
    return load_suite(ROOT / "scenarios" / "nightly.yaml")


def test_the_four_suites_exist() -> None:
    assert {p.stem for p in SUITES} >= {"smoke", "nightly", "multilingual", "adversarial"}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_every_suite_validates_with_a_version_and_a_changelog_line_for_it(path: Path) -> None:
    suite = load_suite(path).suite
    assert suite.changelog, f"{path.name} has no changelog"
    assert any(line.startswith(f"{suite.version}:") for line in suite.changelog), \
        f"{path.name}: no changelog line for version {suite.version}"


def test_smoke_is_small_and_nightly_has_every_persona_three_times(nightly) -> None:  # type: ignore[no-untyped-def]
    assert len(load_suite(ROOT / "scenarios" / "smoke.yaml").suite.personas) <= 6
    assert nightly.suite.repetitions == 3
    assert set(nightly.suite.personas) == {p.stem for p in PERSONA_FILES}
    assert len(nightly.suite.personas) >= 24


def test_every_persona_has_every_fact_and_the_next_step_of_its_segment(nightly) -> None:  # type: ignore[no-untyped-def]
    bank_ids = set(load_bank().ids)
    flow = load_flow(flow_path("playbook"))
    for pid, persona in nightly.personas.items():
        assert set(persona.facts) == bank_ids, pid
        # the segment follows the playbook's size bands, and the flow would land there from the headcount
        rule = max((r for r in flow.segments if persona.company.employees >= r.min_employees),
                   key=lambda r: r.min_employees)
        assert persona.segment == rule.name, f"{pid}: {persona.company.employees} employees is {rule.name}"
        assert persona.next_step[0] == NEXT_STEP_BY_SEGMENT[persona.segment], pid
        assert (persona.strategy == "not_icp") == (persona.segment == "small"), pid
        if persona.segment == "enterprise":
            assert persona.strategy == "services_first", pid


def test_nightly_covers_every_behaviour_language_and_segment(nightly) -> None:  # type: ignore[no-untyped-def]
    personas = nightly.personas.values()
    traits = set().union(*(p.behaviours() for p in personas))
    assert traits >= {"cooperative", "terse", "verbose_off_topic", "evasive", "hostile", "price_early",
                      "technical_early", "derail", "switches_language"}
    assert {p.language for p in personas} == {"ru", "en", "zh"}
    assert sum("switches_language" in p.behaviours() for p in personas) >= 2
    assert {p.segment for p in personas} >= {"enterprise", "upper_mid", "small"}


def test_named_playbook_customers_are_in_the_nightly_suite(nightly) -> None:  # type: ignore[no-untyped-def]
    """Seed 000 (in-house model), 001 (failed bot), 003 (construction documents), 004 (Chinese tender)."""
    notes = {pid: " ".join([p.company.industry, p.company.notes or "", *(f.truth for f in p.facts.values())])
             for pid, p in nightly.personas.items()}
    assert any("Cotomi" in text for text in notes.values())
    assert sum("bot_failed" in pid for pid in notes) >= 2
    assert any("АОСР" in text for text in notes.values())
    assert any(p.language == "zh" and ("招标" in notes[pid] or "POC" in notes[pid])
               for pid, p in nightly.personas.items())


def test_persona_variants_and_translations_say_what_the_truth_says(nightly) -> None:  # type: ignore[no-untyped-def]
    """A persona that rewords its own fact must not be scored as unfaithful: every rewording the
    simulator may use is accepted by the judge against the ground truth."""
    rejected = []
    for pid, persona in nightly.personas.items():
        for qid, fact in persona.facts.items():
            for wording in [*fact.variants, *fact.translations.values()]:
                if not judge_capture(qid, fact.truth, wording).faithful:
                    rejected.append(f"{pid}.{qid}: {wording}")
    assert not rejected, "\n".join(rejected)
