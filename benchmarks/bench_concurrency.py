"""Benchmark: does `--concurrency N` overlap N slow model calls, or does something serialise them?

Runs a suite of --scenarios conversations (the repository's personas × repetitions, written to a
temporary copy of scenarios/) against a real OpenAI-compatible server on loopback that answers each
call after --latency seconds, with a system prompt from a temporary MLflow prompt registry. Only
the conversation phase (`lab.runner.converse`) is timed. The ideal wall time is
model calls (assistant + hand-off turns, counted from the transcripts) × latency / concurrency;
the target is a ratio of at most 1.5 at concurrency 16. Also prints the floor (the ratio if each
call took exactly the latency: conversations are whole units on the slots, so 100 at 16 give
7/6.25 = 1.12), calls that needed a retry, the mean call latency the client saw, and the time spent
in the offline persona, which runs synchronously on the event loop. A list of concurrencies
prints one row each (concurrency 1 alone takes calls × latency: about 3 minutes by default).

    .venv/bin/python benchmarks/bench_concurrency.py [--scenarios 100] [--latency 0.2]
        [--concurrency 16 | --concurrency 1,4,16] [--max-turns 6]
"""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402 — the environment above must be set before the Lab or MLflow load
import heapq  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from lab.bank import load_bank  # noqa: E402
from lab.prompts import register_prompt_file  # noqa: E402
from lab.results import RunFolder  # noqa: E402
from lab.runner import RunPlan, converse, plan_run  # noqa: E402
from lab.scoring.text import detect_language  # noqa: E402
from lab.testing.fake_openai import FakeOpenAI  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5


def scripted_reply(body: dict[str, Any]) -> str:
    """A minimal discovery bot (as in tests/test_adapters.py): the next bank question in the
    customer's language, then a hand-off that repeats each answer verbatim as JSON."""
    messages = [m for m in body["messages"] if m["role"] != "system"]
    bank = load_bank()
    said = [m["content"] for m in messages if m["role"] == "user"]
    if "Reply with only a JSON object" in said[-1]:
        asked = [m for m in messages if m["role"] == "assistant"]
        return json.dumps(dict(zip(bank.ids, said[1:len(asked) + 1], strict=False)), ensure_ascii=False)
    language = detect_language(said[0])
    n = sum(m["role"] == "assistant" for m in messages)
    if n < len(bank.ids):
        return str(getattr(bank.get(bank.ids[n]).phrasings, language)[0])
    return {"ru": "Предлагаю созвониться на следующей неделе.", "zh": "我们下周再约个会议吧。"}.get(
        language, "Shall we book a follow-up call next week?")


def write_suite(tmp: Path, scenarios: int, max_turns: int) -> Path:
    """A copy of scenarios/ plus a suite of `scenarios` conversations: the fewest repetitions of
    distinct personas that make up exactly that many."""
    shutil.copytree(ROOT / "scenarios", tmp / "scenarios")
    personas = sorted(p.stem for p in (tmp / "scenarios" / "personas").glob("*.yaml"))
    reps = next((r for r in range(1, scenarios + 1) if scenarios % r == 0 and scenarios // r <= len(personas)),
                None)
    if reps is None:
        raise SystemExit(f"--scenarios {scenarios} is not personas × repetitions with at most {len(personas)} "
                         "personas")
    suite = {"name": "bench-concurrency", "version": 1, "assistant": {"kind": "builtin", "flow": "playbook"},
             "required_questions": load_bank().ids, "max_turns": max_turns, "repetitions": reps, "seed": 20261122,
             "personas": personas[:scenarios // reps]}
    path = tmp / "scenarios" / "bench_concurrency.yaml"
    path.write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def measure(plan: RunPlan, runs_root: Path, latency: float, concurrency: int) -> dict[str, float]:
    plan.runs_root = runs_root  # a fresh run folder: nothing to resume
    start = time.perf_counter()
    folder = RunFolder(converse(plan, concurrency=concurrency))
    wall = time.perf_counter() - start
    transcripts = folder.transcripts()
    errors = [t.key.id for t in transcripts if t.termination == "error"]
    if errors:
        raise SystemExit(f"{len(errors)} conversations ended in error, e.g. {errors[0]}")
    calls = [c for t in transcripts for c in t.calls]
    model = [c for c in calls if c.role in ("assistant", "handoff")]
    ideal = len(model) * latency / concurrency
    # the best this runner can do: whole conversations started in plan order on `concurrency` slots
    per_scenario = {t.key.id: sum(c.role in ("assistant", "handoff") for c in t.calls) for t in transcripts}
    slots = [0.0] * concurrency
    for key in plan.scenario_keys():
        heapq.heappush(slots, heapq.heappop(slots) + per_scenario[key.id] * latency)
    return {"scenarios": len(transcripts), "calls": len(model), "wall": wall, "ideal": ideal,
            "ratio": wall / ideal, "floor": max(slots) / ideal, "retried": sum(c.attempts > 1 for c in model),
            "mean_call": sum(c.latency_s for c in model) / len(model),
            "persona": sum(c.latency_s for c in calls if c.role == "persona"),
            "persona_calls": sum(c.role == "persona" for c in calls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per call")
    parser.add_argument("--concurrency", default="16", help="one number, or several: 1,4,16")
    parser.add_argument("--max-turns", type=int, default=6)
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as name:
        tmp = Path(name)
        suite = write_suite(tmp, args.scenarios, args.max_turns)
        tracking = f"sqlite:///{tmp / 'mlflow.db'}"
        prompt = tmp / "system.txt"
        prompt.write_text("You are the ExoChat discovery assistant.", encoding="utf-8")
        register_prompt_file(prompt, "bench-assistant", "candidate", None, tracking)
        with FakeOpenAI(scripted_reply, latency_s=args.latency) as server:
            spec = tmp / "assistant.yaml"
            spec.write_text(json.dumps({"assistant": {
                "kind": "openai", "base_url": server.base_url, "model": "bench-model", "prompt": "bench-assistant",
                "versions": ["candidate"], "api_key_env": "EXOLAB_BENCH_KEY"}}), encoding="utf-8")
            plan = plan_run(suite, None, None, tmp / "runs", spec, tracking)
            print(f"{len(plan.scenario_keys())} scenarios ({len(plan.suite.personas)} personas × "
                  f"{plan.suite.repetitions} repetitions, max_turns {plan.suite.max_turns}), "
                  f"{args.latency * 1000:.0f} ms per model call, embedding model {plan.embedding_model}")
            print(f"{'conc':>4} {'calls':>5} {'wall s':>7} {'ideal s':>7} {'ratio':>6} {'floor':>6} {'retried':>7} "
                  f"{'mean call ms':>12} {'persona s':>9} {'persona ms/call':>15}")
            for concurrency in levels:
                r = measure(plan, tmp / f"runs-c{concurrency}", args.latency, concurrency)
                print(f"{concurrency:>4} {r['calls']:>5.0f} {r['wall']:>7.2f} {r['ideal']:>7.2f} {r['ratio']:>5.2f}x "
                      f"{r['floor']:>5.2f}x {r['retried']:>7.0f} {r['mean_call'] * 1000:>12.0f} {r['persona']:>9.2f} "
                      f"{r['persona'] / r['persona_calls'] * 1000:>15.1f}", flush=True)
    print(f"ratio = wall / (model calls × latency / concurrency); target ≤ {TARGET}x at concurrency 16. floor = "
          "the ratio if every call took exactly the latency (whole conversations share the slots). Persona time "
          "is spent on the event loop (the embedding model is loaded while planning, before timing).")


if __name__ == "__main__":
    main()
