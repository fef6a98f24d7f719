"""Calls to a remote assistant that survive a slow or flaky endpoint, and stop a run whose endpoint
is down instead of recording hundreds of identical failures.

Each call gets a timeout; timeouts, connection errors, 429 and 5xx are retried with exponential
backoff and full jitter; a failure that outlives its retries counts towards a circuit breaker
shared by every conversation of the run, which opens after `breaker_failures` in a row.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0


class EndpointDown(Exception):
    """The circuit breaker is open: the run stops, finished conversations stay in the run folder."""


class CallFailed(Exception):
    """A call that failed for good; `attempts` says how many tries it took."""

    def __init__(self, message: str, attempts: int, model: str | None = None):
        super().__init__(message)
        self.attempts, self.model = attempts, model


class CircuitBreaker:
    def __init__(self, failures_to_open: int = 5):
        self.failures_to_open = failures_to_open
        self.consecutive = 0
        self.cause: str | None = None

    @property
    def is_open(self) -> bool:
        return self.cause is not None

    def check(self) -> None:
        if self.cause is not None:
            raise EndpointDown(self.cause)

    def succeeded(self) -> None:
        self.consecutive = 0

    def failed(self, cause: str) -> None:
        self.consecutive += 1
        if self.consecutive >= self.failures_to_open and self.cause is None:
            self.cause = f"{self.consecutive} calls in a row failed; last: {cause}"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind an httpx or openai error, if there is one."""
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    import httpx
    import openai

    if isinstance(exc, TimeoutError | httpx.TransportError | openai.APIConnectionError):
        return True  # openai.APITimeoutError is an APIConnectionError
    status = status_of(exc)
    return status is not None and (status == 429 or status >= 500)


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"HTTP {status}" if status is not None else f"{type(exc).__name__}: {exc}"


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, breaker: CircuitBreaker,
                            model: str | None = None) -> tuple[T, int]:
    """The call's result and the number of attempts it took; `CallFailed` or `EndpointDown`."""
    attempt = 0
    while True:
        breaker.check()
        attempt += 1
        try:
            result = await asyncio.wait_for(call(), policy.timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_retryable(exc) and attempt <= policy.max_retries:
                ceiling = min(policy.max_backoff_s, policy.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, ceiling))  # full jitter spreads the retries out
                continue
            cause = describe(exc)
            breaker.failed(cause)
            raise CallFailed(f"{cause} after {attempt} attempt(s)", attempt, model) from exc
        breaker.succeeded()
        return result, attempt
