"""YAML loading that remembers where every value came from.

Users edit suites, personas, prompt versions and gates by hand; an error that says only "field
required" sends them hunting. Every error the Lab raises about an input file names the file, the
line and the field, like a compiler does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class InputError:
    """One problem in one input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class InputErrors(Exception):
    """Every problem found in the inputs of a command; the CLI prints one line each and exits 2."""

    def __init__(self, errors: Iterable[InputError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def field_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LocatedYaml:
    """Parsed YAML data plus the 1-based line of every mapping key and sequence item."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest part of `loc` that exists in the file."""
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line is not None:
                return line
        return None

    def error(self, loc: Loc, message: str) -> InputError:
        return InputError(display_path(self.path), self.line_of(loc), field_path(loc), message)


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _construct(node: yaml.Node, loc: Loc, lines: dict[Loc, int], errors: list[str]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node)) if key_node.tag != "tag:yaml.org,2002:str" \
                else key_node.value
            if key == "<<":
                errors.append(f"{node.start_mark.line + 1}: YAML merge keys are not supported")
                continue
            if key in out:
                errors.append(f"{key_node.start_mark.line + 1}: duplicate key {key!r}")
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, child, lines, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), lines, errors) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value


def load_yaml(path: Path) -> LocatedYaml:
    """Parse one YAML file; syntax errors and duplicate keys become `InputErrors` with a line."""
    shown = display_path(path)
    if not path.is_file():
        raise InputErrors([InputError(shown, None, "", "file not found")])
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputErrors([InputError(shown, line, "", f"invalid YAML: {exc.problem}")]) from None
    lines: dict[Loc, int] = {}
    problems: list[str] = []
    data = _construct(node, (), lines, problems) if node is not None else None
    if problems:
        raise InputErrors(InputError(shown, int(p.partition(": ")[0]), "", p.partition(": ")[2])
                          for p in problems)
    return LocatedYaml(path, data, lines)


def _data_path(data: Any, loc: list[str | int]) -> list[str | int]:
    """`loc` without the tags pydantic adds for discriminated unions (`assistant.webhook.url` is the
    user's `assistant.url` when `assistant.kind` is webhook)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and part not in data and data.get("kind") == part:
            continue
        out.append(part)
        data = data.get(part) if isinstance(data, dict) else (
            data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None)
    return out


def pydantic_errors(doc: LocatedYaml, exc: ValidationError, prefix: Loc = ()) -> list[InputError]:
    out = []
    for err in exc.errors():
        loc = (*prefix, *_data_path(doc.data, [p for p in err["loc"] if not str(p).startswith("function-")]))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (not allowed here)"
        elif err["type"] == "missing":
            message = "required field is missing"
        out.append(doc.error(loc, message))
    return out


def validate_as(model: type[M], doc: LocatedYaml, prefix: Loc = ()) -> M:
    """Validate `doc.data` as `model`, turning every pydantic error into a located `InputError`."""
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        raise InputErrors(pydantic_errors(doc, exc, prefix)) from None
