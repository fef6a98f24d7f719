"""Numbers as reports and terminals show them: one place for "—" when there is no value."""

from __future__ import annotations


def number(value: float | None, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    """`number(0.456, ".1%")` → "45.6%"; `number(-0.05, "+.1f", 100, " pts")` → "-5.0 pts"; None → "—"."""
    return "—" if value is None else f"{value * scale:{spec}}{suffix}"
