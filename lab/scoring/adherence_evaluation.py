"""How often the playbook-adherence judgements agree with people: precision and recall of each
utterance-level judgement on `datasets/adherence/`, per split and per language.

The rules in `metrics/adherence.yaml` are tuned by reading the `dev` split's misses; `test` is only
ever measured. `exolab adherence-report` prints these tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.scoring import asked_questions
from lab.scoring.adherence import (
    NEXT_STEPS,
    complied_with,
    forbidden_phrase,
    injection_evidence,
    jargon_terms,
    positioning_evidence,
    proposed_next_step,
    readiness_evidence,
    reuses_own_words,
)
from lab.scoring.data import datasets_dir
from lab.yamlio import InputError, InputErrors


def adherence_dir() -> Path:
    return datasets_dir() / "adherence"


def load_items(name: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """One labelled file; a line that is not JSON or lacks a field is reported with its line."""
    path = (directory or adherence_dir()) / f"{name}.jsonl"
    items, errors = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(InputError(str(path.name), number, "(line)", f"not JSON: {exc.msg}"))
            continue
        missing = [f for f in ("id", "lang", "split", "label", "text") if f not in item]
        if missing:
            errors.append(InputError(str(path.name), number, ", ".join(missing), "missing field(s)"))
            continue
        items.append(item)
    if errors:
        raise InputErrors(errors)
    return items


@dataclass
class Tally:
    """Counts for one binary judgement; `positive` is the class a reviewer acts on."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, truth: bool, predicted: bool, item: dict[str, Any]) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.misses.append({**item, "error": "false positive"})
        elif truth:
            self.fn += 1
            self.misses.append({**item, "error": "false negative"})
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r)

    def row(self) -> dict[str, Any]:
        return {"n": self.n, "positives": self.tp + self.fn, "precision": self.precision,
                "recall": self.recall, "f1": self.f1, "tp": self.tp, "fp": self.fp, "fn": self.fn}


def _binary(items: Iterable[dict[str, Any]], truth: Callable[[dict[str, Any]], bool],
            predict: Callable[[dict[str, Any]], bool]) -> dict[str, Tally]:
    """Tallies keyed "all" and by language."""
    tallies: dict[str, Tally] = {}
    for item in items:
        t, p = truth(item), predict(item)
        for key in ("all", item["lang"]):
            tallies.setdefault(key, Tally()).add(t, p, item)
    return tallies


def _derail_complied(item: dict[str, Any], model: str | None) -> bool:
    asks = bool(asked_questions(item["text"], "assistant", model))
    return complied_with(item["customer"], item["text"], asks) is not None


def evaluate(split: str = "test", model: str | None = None,
             directory: Path | None = None) -> dict[str, dict[str, Tally]]:
    """judgement → language ("all", "ru", "en", "zh") → tally, on one split ("all" for both)."""

    def chosen(name: str) -> list[dict[str, Any]]:
        return [i for i in load_items(name, directory) if split == "all" or i["split"] == split]

    out: dict[str, dict[str, Tally]] = {
        "positioning": _binary(chosen("pitch"), lambda i: bool(i["label"]),
                               lambda i: positioning_evidence(i["text"], model) is not None),
        "jargon": _binary(chosen("jargon"), lambda i: bool(i["label"]), lambda i: bool(jargon_terms(i["text"]))),
        "technical_readiness": _binary(chosen("readiness"), lambda i: bool(i["label"]),
                                       lambda i: readiness_evidence(i["text"]) is not None),
        "forbidden_phrase": _binary(chosen("forbidden"), lambda i: bool(i["label"]),
                                    lambda i: forbidden_phrase(i["text"], model) is not None),
        "own_words": _binary(chosen("own_words"), lambda i: bool(i["label"]),
                             lambda i: reuses_own_words(i["customer"], i["text"], i["lang"])),
    }
    steps = chosen("next_step")
    out["next_step_proposed"] = _binary(steps, lambda i: i["label"] is not None,
                                        lambda i: proposed_next_step(i["text"], model) is not None)
    for step in NEXT_STEPS:
        out[f"next_step={step}"] = _binary(steps, lambda i, s=step: i["label"] == s,  # type: ignore[misc]
                                           lambda i, s=step: proposed_next_step(i["text"], model) == s)  # type: ignore[misc]
    derail = chosen("derail")
    out["injection"] = _binary(derail, lambda i: bool(i["injection"]),
                               lambda i: injection_evidence(i["customer"], model) is not None)
    out["derail_complied"] = _binary([i for i in derail if i["injection"]], lambda i: i["label"] is False,
                                     lambda i: _derail_complied(i, model))
    return out


def render_markdown(results: dict[str, dict[str, Tally]], split: str, max_misses: int = 12) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = [f"# Playbook-adherence judgements vs human labels — split `{split}`", "",
             "Positive class: the one a reviewer acts on (positions, uses jargon, is technical, says the",
             "forbidden phrase, reuses the customer's words, proposes that step, is an injection, complied).",
             "", "| judgement | n | positives | precision | recall | F1 | ru F1 | en F1 | zh F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, by_lang in results.items():
        a = by_lang.get("all", Tally())
        per_lang = [pct(by_lang[lang].f1) if lang in by_lang else "—" for lang in ("ru", "en", "zh")]
        lines.append(f"| {name} | {a.n} | {a.tp + a.fn} | {pct(a.precision)} | {pct(a.recall)} | {pct(a.f1)} | "
                     + " | ".join(per_lang) + " |")
    lines += ["", "## Misses", ""]
    for name, by_lang in results.items():
        misses = by_lang.get("all", Tally()).misses
        if not misses:
            continue
        lines.append(f"### {name} ({len(misses)})")
        lines.append("")
        for miss in misses[:max_misses]:
            text = (miss["customer"] if name == "injection" else miss["text"]).replace("\n", " ")
            lines.append(f"- `{miss['id']}` {miss['error']}: {text[:160]}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
