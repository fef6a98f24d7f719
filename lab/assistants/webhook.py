"""A production bot behind an HTTP webhook with its own JSON shape, tested without code.

The suite gives the URL and headers (`${VAR}` in either is read from the environment at call time,
so tokens stay out of every file the Lab writes), a Jinja2 template that renders the request body as JSON, and
JSONPath expressions that find the reply (and optionally structured captures and an end flag) in the
response. Calls go through httpx with the same timeouts, retries and circuit breaker as the
OpenAI-compatible adapter.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from functools import cache
from typing import Any

import jinja2

from lab.assistants.handoff import AsksForHandoff
from lab.assistants.resilience import CircuitBreaker, RetryPolicy, call_with_retries
from lab.types import Conversation, Reply, Usage

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|cookie|password", re.IGNORECASE)


class WebhookError(Exception):
    """The request could not be built or the response did not hold what the suite says it holds."""


def expand_env(value: str) -> str:
    """`Bearer ${BOT_TOKEN}` → the variable's value; a missing variable is an error, not an empty token."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise WebhookError(f"environment variable {name} is not set")
        return os.environ[name]
    return ENV_REFERENCE.sub(one, value)


def literal_secret_headers(headers: dict[str, str]) -> list[str]:
    """Headers that look like credentials but hold a literal value instead of a `${VAR}` reference."""
    return [name for name, value in headers.items() if SECRET_HEADER.search(name) and not ENV_REFERENCE.search(value)]


@cache
def compile_template(template: str) -> jinja2.Template:
    """Raises `jinja2.TemplateSyntaxError` for a broken template (checked when the suite loads)."""
    return jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined).from_string(template)


@cache
def compile_path(expression: str) -> Any:
    """Raises for a broken JSONPath (checked when the suite loads)."""
    from jsonpath_ng.ext import parse

    return parse(expression)


def render_request(template: str, conversation: Conversation, conversation_id: str, scenario: str) -> Any:
    messages = [m.model_dump() for m in conversation.messages]
    text = compile_template(template).render(
        messages=messages, last_message=conversation.last_user(), conversation_id=conversation_id,
        scenario=scenario, language=conversation.language_hint or "",
        turn=sum(m.role == "assistant" for m in conversation.messages) + 1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WebhookError(f"the request template did not render valid JSON ({exc.msg}): {text[:200]!r}") from None


def find(document: Any, expression: str) -> Any:
    """The first value the JSONPath finds, or None."""
    matches = compile_path(expression).find(document)
    return matches[0].value if matches else None


class WebhookAssistant(AsksForHandoff):
    def __init__(self, client: Any, spec: Any, scenario: str, version: str, policy: RetryPolicy,
                 breaker: CircuitBreaker, handoff_request: str | None):
        self.name, self.version = f"webhook:{spec.public_url}", version
        self.client, self.spec, self.scenario = client, spec, scenario
        self.conversation_id = f"exolab-{uuid.uuid4().hex}"  # a fresh session per conversation, resumes included
        self.policy, self.breaker, self.handoff_request = policy, breaker, handoff_request

    async def respond(self, conversation: Conversation) -> Reply:
        spec = self.spec
        body = render_request(spec.request, conversation, self.conversation_id, self.scenario)
        headers = {name: expand_env(value) for name, value in spec.headers.items()}
        url = expand_env(spec.url)

        async def call() -> Any:
            response = await self.client.request(spec.method, url, json=body, headers=headers)
            response.raise_for_status()
            return response

        response, attempts = await call_with_retries(call, self.policy, self.breaker)
        try:
            document = response.json()
        except ValueError:
            raise WebhookError(f"the response is not JSON: {response.text[:200]!r}") from None
        reply = find(document, spec.response.reply)
        if not isinstance(reply, str):
            raise WebhookError(f"response.reply {spec.response.reply!r} found {reply!r} in {str(document)[:200]}")
        captured = find(document, spec.response.captured) if spec.response.captured else None
        if captured is not None:
            if not isinstance(captured, dict):
                raise WebhookError(f"response.captured {spec.response.captured!r} found {captured!r}, not an object")
            captured = {str(k): str(v) for k, v in captured.items() if v is not None and str(v).strip()} or None
        done = bool(find(document, spec.response.done)) if spec.response.done else False
        return Reply(text=reply, captured=captured, done=done, usage=Usage(attempts=attempts))
