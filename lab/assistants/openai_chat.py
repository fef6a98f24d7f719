"""A model behind an OpenAI-compatible chat API (OpenAI, Azure, vLLM, Ollama, an in-house model).

The system prompt is the prompt version under test, loaded from the MLflow prompt registry; the API
key is read from the environment variable the suite names, at call time, and never stored.
"""

from __future__ import annotations

from typing import Any

from lab.assistants.handoff import AsksForHandoff
from lab.assistants.resilience import CircuitBreaker, RetryPolicy, call_with_retries
from lab.types import Conversation, Reply, Usage


def usage_of(response: Any, model: str, attempts: int) -> Usage:
    usage = getattr(response, "usage", None)
    return Usage(model=getattr(response, "model", None) or model, attempts=attempts,
                 prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                 completion_tokens=getattr(usage, "completion_tokens", 0) or 0)


async def chat(client: Any, model: str, messages: list[dict[str, str]], temperature: float, max_tokens: int,
               policy: RetryPolicy, breaker: CircuitBreaker) -> tuple[str, Usage]:
    """One chat completion with retries; the reply text and what it cost."""
    async def call() -> Any:
        return await client.chat.completions.create(model=model, messages=messages, temperature=temperature,
                                                    max_tokens=max_tokens)

    response, attempts = await call_with_retries(call, policy, breaker, model)
    text = response.choices[0].message.content or "" if response.choices else ""
    return text, usage_of(response, model, attempts)


class OpenAIChatAssistant(AsksForHandoff):
    def __init__(self, client: Any, model: str, system_prompt: str, version: str, temperature: float,
                 max_tokens: int, policy: RetryPolicy, breaker: CircuitBreaker, handoff_request: str | None):
        self.name, self.version = f"openai:{model}", version
        self.client, self.model, self.system_prompt = client, model, system_prompt
        self.temperature, self.max_tokens = temperature, max_tokens
        self.policy, self.breaker, self.handoff_request = policy, breaker, handoff_request

    async def respond(self, conversation: Conversation) -> Reply:
        messages = [{"role": "system", "content": self.system_prompt},
                    *({"role": m.role, "content": m.content} for m in conversation.messages)]
        text, usage = await chat(self.client, self.model, messages, self.temperature, self.max_tokens,
                                 self.policy, self.breaker)
        return Reply(text=text, usage=usage)
