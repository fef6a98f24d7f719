"""A user's own assistant as a Python function: `module:function`, sync or async.

The function receives the conversation as a list of {"role", "content"} messages (oldest first) and
returns the reply as a string, or a dict with `reply` and optionally `captured` (question id →
value), `done`, and `usage` ({model, prompt_tokens, completion_tokens} of the model it called, so
that the run can price it). A sync function runs in a worker thread so that slow ones still overlap.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.assistants.handoff import AsksForHandoff
from lab.types import Conversation, Reply, Usage


class TargetNotFound(Exception):
    pass


def load_target(target: str, search: list[Path]) -> Callable[..., Any]:
    """Import `module:function`, looking in `search` folders first (the suite's project)."""
    module_name, _, function_name = target.partition(":")
    for folder in reversed(search):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetNotFound(f"cannot import module {module_name!r}: {exc}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise TargetNotFound(f"module {module_name!r} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]


def target_sha256(function: Callable[..., Any]) -> str:
    """Hash of the function's source file: a resumed run must not mix two versions of the user's code."""
    try:
        source = Path(inspect.getsourcefile(function) or "").read_bytes()
    except (OSError, TypeError):
        source = getattr(function, "__qualname__", repr(function)).encode()
    return hashlib.sha256(source).hexdigest()


class PythonCallableAssistant(AsksForHandoff):
    def __init__(self, target: str, function: Callable[..., Any], version: str, handoff_request: str | None):
        self.name, self.version = f"python:{target}", version
        self.function, self.handoff_request = function, handoff_request

    async def respond(self, conversation: Conversation) -> Reply:
        messages = [m.model_dump() for m in conversation.messages]
        if inspect.iscoroutinefunction(self.function):
            result = await self.function(messages)
        else:
            result = await asyncio.to_thread(self.function, messages)
        return self._reply(result)

    def _reply(self, result: Any) -> Reply:
        if isinstance(result, str):
            return Reply(text=result)
        if isinstance(result, dict) and isinstance(result.get("reply"), str):
            captured = result.get("captured")
            if captured is not None and not (isinstance(captured, dict)
                                             and all(isinstance(v, str) for v in captured.values())):
                raise TypeError(f"{self.name}: 'captured' must map question ids to strings, got {captured!r}")
            usage = result.get("usage")
            try:
                metered = None if usage is None else Usage.model_validate(
                    {k: usage[k] for k in ("model", "prompt_tokens", "completion_tokens") if k in usage})
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{self.name}: 'usage' must be {{model, prompt_tokens, completion_tokens}}: "
                                f"{exc}") from None
            return Reply(text=result["reply"], captured=captured, done=bool(result.get("done", False)),
                         usage=metered)
        raise TypeError(f"{self.name} returned {type(result).__name__}; expected a string or a dict with 'reply'")
