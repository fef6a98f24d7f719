"""Scenario suites, personas and persona phrasebooks: the YAML users edit, validated strictly.

A suite names personas (files under `scenarios/personas/`), the discovery questions it requires,
turn limits, repetitions and a seed. Loading a suite checks everything a run depends on, so a bad
file fails before anything is written to a run folder or to MLflow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab.assistants.handoff import DEFAULT_HANDOFF_REQUEST
from lab.assistants.resilience import RetryPolicy
from lab.assistants.webhook import compile_path, compile_template, literal_secret_headers
from lab.bank import Language, QuestionBank, load_bank, unknown_name_message
from lab.yamlio import InputError, InputErrors, LocatedYaml, load_yaml, pydantic_errors


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(Strict):
    """The ground truth for one question id, and faithful rewordings the persona may use instead.
    `translations` are what a persona that switches language mid-call says in the other language."""

    truth: str = Field(min_length=1)
    variants: list[str] = Field(default_factory=list)
    translations: dict[Language, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"truth": value} if isinstance(value, str) else value


OffScriptKind = Literal["question", "price", "technical", "derail"]


class OffScriptQuestion(Strict):
    """Something the persona says on its own: a price or technical question, or an attempt to
    derail the assistant ("ignore your script and…"). `technical` is the customer showing
    technical readiness, the one case where the playbook allows jargon."""

    ask: str = Field(min_length=1)
    at_turn: int = Field(ge=1, description="The persona's turn number on which it asks.")
    kind: OffScriptKind = "question"


class LanguageSwitch(Strict):
    """From `at_turn` on, the persona speaks `to` (its facts' `translations`, that phrasebook)."""

    to: Language
    at_turn: int = Field(ge=2, description="The persona's turn number from which it switches.")


Style = Literal["terse", "neutral", "verbose", "hostile"]
STYLES: tuple[Style, ...] = ("terse", "neutral", "verbose", "hostile")


class Behaviour(Strict):
    style: Style = Field("neutral", description="verbose adds off-topic asides; hostile adds sceptical jabs.")
    guarded: list[str] = Field(
        default_factory=list, description="Question ids answered only when the assistant asks again."
    )
    evasiveness: float = Field(
        0.0, ge=0.0, le=1.0, description="Chance that any other answer is dodged the first time."
    )
    off_script: list[OffScriptQuestion] = Field(default_factory=list)
    switch_language: LanguageSwitch | None = None


class Company(Strict):
    name: str
    industry: str
    employees: int = Field(ge=1)
    country: str | None = None
    notes: str | None = None


Segment = Literal["enterprise", "large", "upper_mid", "mid", "small"]
Strategy = Literal["services_first", "services_to_platform", "platform_first", "not_icp"]
NextStep = Literal["discovery_blueprint", "pilot", "demo", "follow_up_later"]


class Persona(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    name: str
    role: str
    language: Language
    company: Company
    segment: Segment = Field(description="The segment the playbook puts this customer in (seed 000, section 0).")
    strategy: Strategy = Field(description="Services-first, Services→Platform, Platform-first or not ICP.")
    next_step: list[NextStep] = Field(
        min_length=1, description="Next steps the playbook accepts for this customer, preferred first.")
    behaviour: Behaviour = Behaviour()
    facts: dict[str, Fact]

    @field_validator("next_step", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def languages(self) -> list[Language]:
        """Every language the persona speaks in a call, its own first."""
        switch = self.behaviour.switch_language
        return [self.language] + ([switch.to] if switch else [])

    def behaviours(self) -> set[str]:
        """The behaviour traits this persona exercises, for suite coverage checks and reports."""
        b = self.behaviour
        traits: set[str] = {b.style if b.style != "verbose" else "verbose_off_topic"}
        if b.guarded or b.evasiveness:
            traits.add("evasive")
        if not (b.guarded or b.evasiveness or b.off_script) and b.style in ("neutral", "verbose"):
            traits.add("cooperative")
        kinds = {o.kind: o.at_turn for o in sorted(b.off_script, key=lambda o: -o.at_turn)}
        for kind in ("price", "technical"):
            if kind in kinds and kinds[kind] <= EARLY_TURN:
                traits.add(f"{kind}_early")
        if "derail" in kinds:
            traits.add("derail")
        if b.switch_language:
            traits.add("switches_language")
        return traits


EARLY_TURN = 4
"""An off-script price or technical question by the persona's 4th turn counts as "early"."""


ROLE_FIELD = Field(None, description="What the assistant is meant to be, in a sentence or two; LLM judges such "
                   "as deepeval's role adherence hold its replies against it. Default: the playbook's "
                   "discovery assistant.")


class HandoffSpec(Strict):
    """For assistants that return no structured captures: what to ask once the call is over."""

    enabled: bool = True
    request: str = Field(DEFAULT_HANDOFF_REQUEST, description="Jinja2 text; `keys` are the required ids.")


class RetrySpec(Strict):
    timeout_s: float = Field(30.0, gt=0, description="Per call.")
    max_retries: int = Field(3, ge=0, le=20, description="Retries on timeouts, connection errors, 429 and 5xx.")
    backoff_s: float = Field(0.5, ge=0, description="First backoff ceiling; doubles per retry, full jitter.")
    max_backoff_s: float = Field(8.0, ge=0)
    breaker_failures: int = Field(5, ge=1, description="Failed calls in a row (after retries) that stop the run.")

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.timeout_s, self.max_retries, self.backoff_s, self.max_backoff_s)


class BuiltinAssistantSpec(Strict):
    """The reference playbook flow shipped with the Lab (prompt versions in prompts/<flow>.yaml)."""

    kind: Literal["builtin"] = "builtin"
    flow: str = Field("playbook", description="Name of a flow file under prompts/ (without .yaml).")
    role: str | None = ROLE_FIELD


class PythonAssistantSpec(Strict):
    """A function in the user's code: `module:function`, sync or async, taking the messages as a
    list of {"role", "content"} and returning a string or {"reply": ..., "captured": {...}}."""

    kind: Literal["python"]
    target: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:function")
    role: str | None = ROLE_FIELD
    handoff: HandoffSpec = HandoffSpec()


class OpenAIAssistantSpec(Strict):
    """A model behind an OpenAI-compatible chat API; its system prompt is a prompt-registry version."""

    kind: Literal["openai"]
    base_url: str = Field(pattern=r"^https?://", description="e.g. https://api.openai.com/v1")
    model: str = Field(min_length=1)
    prompt: str = Field(min_length=1, description="MLflow prompt-registry name of the system prompt.")
    versions: list[str] = Field(["latest"], min_length=1,
                                description="Registered versions (numbers) or aliases run by default.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable that holds the API key.")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(512, ge=1)
    role: str | None = ROLE_FIELD
    handoff: HandoffSpec = HandoffSpec()
    retry: RetrySpec = RetrySpec()


DEFAULT_WEBHOOK_REQUEST = '{"conversation_id": {{ conversation_id | tojson }}, "messages": {{ messages | tojson }}}'


class WebhookResponseSpec(Strict):
    """JSONPath expressions (jsonpath-ng, e.g. `$.data.answer`) into the bot's JSON response."""

    reply: str = Field("$.reply", description="Where the reply text is.")
    captured: str | None = Field(None, description="Where an object of question id → captured value is, if any.")
    done: str | None = Field(None, description="Where a true value means the bot ended the conversation.")

    @field_validator("reply", "captured", "done")
    @classmethod
    def _jsonpath(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_path(value)
            except Exception as exc:  # jsonpath-ng raises several kinds of parse errors
                raise ValueError(f"not a JSONPath expression: {exc}") from None
        return value


class WebhookAssistantSpec(Strict):
    """A bot behind an HTTP endpoint with its own JSON shape: a request template and response paths."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="Endpoint the request is sent to.")
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, description="`${VAR}` is read from the environment "
                                    "when the call is made; credentials must be given that way.")
    request: str = Field(DEFAULT_WEBHOOK_REQUEST, description="Jinja2 text rendering the JSON body. Variables: "
                         "messages (list of {role, content}), last_message, conversation_id, scenario, "
                         "language, turn.")
    response: WebhookResponseSpec = WebhookResponseSpec()
    role: str | None = ROLE_FIELD
    handoff: HandoffSpec = HandoffSpec()
    retry: RetrySpec = RetrySpec()

    @field_validator("headers")
    @classmethod
    def _no_literal_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        literal = literal_secret_headers(value)
        if literal:
            raise ValueError(f"header(s) {', '.join(literal)} hold a literal credential; write it as "
                             "${ENV_VARIABLE} so it never lands in a file the Lab writes")
        return value

    @field_validator("request")
    @classmethod
    def _template(cls, value: str) -> str:
        import jinja2

        try:
            compile_template(value)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"request template line {exc.lineno}: {exc.message}") from None
        return value

    @property
    def public_url(self) -> str:
        from lab.judge import public_url

        return public_url(self.url)


AssistantSpec = Annotated[BuiltinAssistantSpec | PythonAssistantSpec | OpenAIAssistantSpec | WebhookAssistantSpec,
                          Field(discriminator="kind")]


class OfflineSimulatorSpec(Strict):
    """The rule-based persona: answers from its fact sheet, deterministic for a seed, free."""

    kind: Literal["offline"] = "offline"


class LLMSimulatorSpec(Strict):
    """A persona played by a model behind an OpenAI-compatible API, checked by the fact-sheet guard."""

    kind: Literal["llm"]
    base_url: str = Field(pattern=r"^https?://", description="e.g. http://127.0.0.1:11434/v1")
    model: str = Field(min_length=1)
    api_key_env: str = Field("EXOLAB_PERSONA_API_KEY", description="Environment variable that holds the API key.")
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(300, ge=1)
    instructions: str | None = Field(None, description="Added to every persona's system prompt.")
    retry: RetrySpec = RetrySpec()


SimulatorSpec = Annotated[OfflineSimulatorSpec | LLMSimulatorSpec, Field(discriminator="kind")]


class Suite(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    version: int = Field(ge=1)
    description: str = ""
    changelog: list[str] = Field(default_factory=list)
    assistant: AssistantSpec = BuiltinAssistantSpec()
    simulator: SimulatorSpec = Field(OfflineSimulatorSpec(), description="Who plays the personas.")
    required_questions: list[str] = Field(min_length=1)
    max_turns: int = Field(ge=2, le=200, description="Most assistant turns in one conversation.")
    repetitions: int = Field(1, ge=1, le=100)
    seed: int = 0
    personas: list[str] = Field(min_length=1)

    @field_validator("required_questions", "personas")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"listed more than once: {', '.join(dupes)}")
        return values


class Phrasebook(Strict):
    """How a simulated customer speaks in one language. `{fact}` marks where the fact goes."""

    language: Language
    greetings: list[str] = Field(min_length=1)
    answer_wrappers: dict[Style, list[str]]
    verbose_asides: list[str] = Field(min_length=1)
    sceptical_remarks: list[str] = Field(
        min_length=1, description="Jabs a hostile persona adds; questions, so no assistant writes them down.")
    evasions: list[str] = Field(min_length=1)
    not_understood: list[str] = Field(min_length=1)
    acknowledgements: list[str] = Field(min_length=1)
    next_step_markers: list[str] = Field(min_length=1)
    accept_next_step: list[str] = Field(min_length=1)
    goodbyes: list[str] = Field(min_length=1)

    @field_validator("answer_wrappers")
    @classmethod
    def _wrappers_hold_fact(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for style in STYLES:
            if not value.get(style):
                raise ValueError(f"needs at least one wrapper for style {style!r}")
            for wrapper in value[style]:
                if "{fact}" not in wrapper:
                    raise ValueError(f"wrapper {wrapper!r} has no {{fact}} placeholder")
        return value


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class LoadedSuite:
    """A validated suite with its personas and the hash of every file it was built from."""

    path: Path
    suite: Suite
    personas: dict[str, Persona]
    phrasebooks: dict[str, Phrasebook]
    file_hashes: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.file_hashes, sort_keys=True).encode()).hexdigest()

    def with_part(self, part: str, override: tuple[Path, Any]) -> LoadedSuite:
        """The suite with its `assistant` or `simulator` replaced from a file (`--assistant FILE`,
        `--simulator FILE`); the file joins the hashes."""
        path, spec = override
        hashes = {**self.file_hashes, f"{part}:{path.name}": sha256_file(path)}
        return LoadedSuite(self.path, self.suite.model_copy(update={part: spec}), self.personas,
                           self.phrasebooks, hashes)


class AssistantFile(Strict):
    """A file given to `--assistant`: the same `assistant:` mapping a suite holds."""

    assistant: AssistantSpec


class SimulatorFile(Strict):
    """A file given to `--simulator`: the same `simulator:` mapping a suite holds."""

    simulator: SimulatorSpec


PART_FILES: dict[str, type[Strict]] = {"assistant": AssistantFile, "simulator": SimulatorFile}


def load_part_file(path: Path, part: str) -> tuple[Path, Any]:
    """The `assistant:` or `simulator:` mapping of a file, validated; `InputErrors` naming the field."""
    doc = load_yaml(Path(path))
    errors: list[InputError] = []
    loaded = _validated(PART_FILES[part], doc, errors)
    if loaded is None:
        raise InputErrors(errors)
    return Path(path), getattr(loaded, part)


def _validated(model: type[Strict], doc: LocatedYaml, errors: list[InputError]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        errors.extend(pydantic_errors(doc, exc))
        return None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def load_phrasebook(path: Path, errors: list[InputError]) -> Phrasebook | None:
    try:
        doc = load_yaml(path)
    except InputErrors as exc:
        errors.extend(exc.errors)
        return None
    return _validated(Phrasebook, doc, errors)


def check_persona(persona: Persona, doc: LocatedYaml, required: list[str], bank: QuestionBank,
                  errors: list[InputError]) -> None:
    for qid in persona.facts:
        if qid not in bank.ids:
            errors.append(doc.error(("facts", qid), unknown_name_message("question id", qid, bank.ids)))
    for i, qid in enumerate(persona.behaviour.guarded):
        if qid not in bank.ids:
            errors.append(doc.error(("behaviour", "guarded", i),
                                    unknown_name_message("question id", qid, bank.ids)))
    for qid in required:
        if qid not in persona.facts:
            errors.append(doc.error(("facts",), f"no fact for required question id {qid!r}"))
    switch = persona.behaviour.switch_language
    if switch is not None:
        if switch.to == persona.language:
            errors.append(doc.error(("behaviour", "switch_language", "to"),
                                    f"switches to its own language {switch.to!r}"))
        for qid, fact in persona.facts.items():
            if switch.to not in fact.translations:
                errors.append(doc.error(("facts", qid),
                                        f"no translation into {switch.to!r}, which the persona switches to"))


def load_suite(path: Path, bank: QuestionBank | None = None) -> LoadedSuite:
    """Load and validate a suite and everything it names; raise `InputErrors` listing every problem."""
    bank = bank or load_bank()
    path = Path(path)
    doc = load_yaml(path)
    errors: list[InputError] = []
    suite: Suite | None = _validated(Suite, doc, errors)
    if suite is None:
        raise InputErrors(errors)
    for i, qid in enumerate(suite.required_questions):
        if qid not in bank.ids:
            errors.append(doc.error(("required_questions", i),
                                    unknown_name_message("question id", qid, bank.ids)))
    root = path.parent
    hashes = {_rel(path, root): sha256_file(path)}
    personas: dict[str, Persona] = {}
    persona_dir = root / "personas"
    for i, pid in enumerate(suite.personas):
        ppath = persona_dir / f"{pid}.yaml"
        if not ppath.is_file():
            known = sorted(p.stem for p in persona_dir.glob("*.yaml"))
            errors.append(doc.error(("personas", i), unknown_name_message("persona", pid, known)))
            continue
        try:
            pdoc = load_yaml(ppath)
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        persona = _validated(Persona, pdoc, errors)
        if persona is None:
            continue
        if persona.id != pid:
            errors.append(pdoc.error(("id",), f"id {persona.id!r} does not match file name {pid!r}"))
        check_persona(persona, pdoc, suite.required_questions, bank, errors)
        personas[pid] = persona
        hashes[_rel(ppath, root)] = sha256_file(ppath)
    phrasebooks: dict[str, Phrasebook] = {}
    for lang in sorted({lang for p in personas.values() for lang in p.languages()}):
        bpath = root / "phrasebooks" / f"{lang}.yaml"
        book = load_phrasebook(bpath, errors)
        if book is not None:
            phrasebooks[lang] = book
            hashes[_rel(bpath, root)] = sha256_file(bpath)
    if errors:
        raise InputErrors(errors)
    return LoadedSuite(path=path, suite=suite, personas=personas, phrasebooks=phrasebooks,
                       file_hashes=hashes)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas for editors (yaml-language-server), one per kind of file users write."""
    return {
        "suite": Suite.model_json_schema(),
        "persona": Persona.model_json_schema(),
        "phrasebook": Phrasebook.model_json_schema(),
    }
