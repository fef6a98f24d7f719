"""Masking of secrets and, optionally, personal data in what a report shows.

A report is shared with auditors and reviewers outside the team that ran the suite. An API key a
tester pasted into a transcript, or one a misconfigured bot echoed back, must not travel with it, so
the values of credential variables are always replaced by "[redacted]", wherever they appear. PII
masking (`metrics/redaction.yaml`: e-mails, phone numbers) is optional, because some reviewers need to
see the customer's own words; the report says which masking it applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import field_validator

from lab.paths import metrics_dir
from lab.types import Frozen
from lab.yamlio import load_yaml, validate_as

SECRET = "[redacted]"
MIN_SECRET_LENGTH = 8
# The default key variables of the OpenAI-compatible assistant, the LLM persona and the judge: masked
# whatever their value looks like, even when a run did not name them.
LAB_CREDENTIAL_VARS = ("OPENAI_API_KEY", "EXOLAB_PERSONA_API_KEY", "EXOLAB_JUDGE_API_KEY")
"""Shorter values ("1", "true", "dev") would mask ordinary words and numbers all over the report."""
CREDENTIAL_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE|AUTH(?!OR)", re.IGNORECASE)
"""Variable names that hold credentials (AUTHOR, as in GIT_AUTHOR_NAME, is a person, not a key)."""


class RedactionPattern(Frozen):
    name: str
    regex: str
    replacement: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if compiled.fullmatch(""):
            raise ValueError("the regular expression matches empty text, so it would match everywhere")
        return value


class RedactionConfig(Frozen):
    patterns: list[RedactionPattern]


def load_redaction(path: Path | None = None) -> RedactionConfig:
    return validate_as(RedactionConfig, load_yaml(path or metrics_dir() / "redaction.yaml"))


def secret_values(environ: Mapping[str, str], names: Iterable[str] = ()) -> list[str]:
    """The values of the variables in `names` (the configured `*_env` variables) and of every variable
    named like a credential whose value looks like a key (letters and digits, no spaces), of at least
    8 characters, longest first (so a value that contains another is masked whole)."""
    wanted = set(names) | set(LAB_CREDENTIAL_VARS)
    named = {environ[name] for name in wanted if len(environ.get(name, "")) >= MIN_SECRET_LENGTH}
    # a variable guessed from its name must also hold something key-like: AUTH_MODE=disabled or
    # AUTH_HOST=localhost would otherwise mask ordinary words all over the report
    guessed = {value for name, value in environ.items() if CREDENTIAL_NAME.search(name) and _key_like(value)}
    return sorted(named | guessed, key=lambda value: (-len(value), value))


def _key_like(value: str) -> bool:
    return (len(value) >= MIN_SECRET_LENGTH and not any(c.isspace() for c in value)
            and any(c.isdigit() for c in value) and any(c.isalpha() for c in value))


class Redactor:
    """Masks secrets always and, when `patterns` are given, their matches; its repr never shows a secret."""

    def __init__(self, secrets: Iterable[str] = (), patterns: Iterable[RedactionPattern] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(sorted({s for s in secrets if s}, key=lambda s: (-len(s), s)))
        self.patterns: tuple[RedactionPattern, ...] = tuple(patterns)
        self._secrets = re.compile("|".join(map(re.escape, self.secrets))) if self.secrets else None
        # replacements are literal text: escape backslashes so re.sub expands no group references
        self._patterns = [(re.compile(p.regex), p.replacement.replace("\\", "\\\\")) for p in self.patterns]

    @property
    def description(self) -> str:
        if not self.patterns:
            return "secrets masked; PII not masked"
        return "secrets masked; PII patterns: " + ", ".join(p.name for p in self.patterns)

    def mask_secrets(self, text: str) -> str:
        return self._secrets.sub(SECRET, text) if self._secrets else text

    def mask(self, text: str) -> str:
        text = self.mask_secrets(text)
        for regex, replacement in self._patterns:
            text = regex.sub(replacement, text)
        return text

    def mask_any(self, value: Any) -> Any:
        """`value` with every string in it masked, through dicts, lists and tuples; other values as
        they are. Dict keys lose secrets only, so a template still finds its fields."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_secrets(k) if isinstance(k, str) else k: self.mask_any(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_any(v) for v in value]
        if isinstance(value, tuple):
            items = [self.mask_any(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        return value

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets, {self.description!r})"
