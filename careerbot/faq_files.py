"""Reading FAQ files: YAML with line numbers, validated against the published JSON Schemas.

Every problem is reported with its file and line, so a maintainer can go straight to it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from rapidfuzz import process

from careerbot.faq import Entry, Event, GlossaryTerm, Problem, RouteStep, SmallTalk, Theme

Path_ = tuple[str | int, ...]

SPECIAL_FILES = {
    "themes.yaml": "themes",
    "events.yaml": "events",
    "smalltalk.yaml": "smalltalk",
    "parcours.yaml": "parcours",
    "matching.yaml": "matching",
    "glossary.yaml": "glossary",
}


@dataclass
class Sources:
    """The records read from a FAQ directory, each with where it was written."""

    directory: Path
    entries: list[tuple[Entry, Origin]] = field(default_factory=list)
    themes: list[tuple[Theme, Origin]] = field(default_factory=list)
    events: list[tuple[Event, Origin]] = field(default_factory=list)
    smalltalk: list[tuple[SmallTalk, Origin]] = field(default_factory=list)
    route: list[tuple[RouteStep, Origin]] = field(default_factory=list)
    glossary: list[tuple[GlossaryTerm, Origin]] = field(default_factory=list)
    matching: dict[str, Any] = field(default_factory=dict)
    theme_of_file: dict[Path, tuple[str, Origin]] = field(default_factory=dict)
    # Ids seen in files that failed validation, and whether some file could not be parsed at all:
    # references to those ids are not reported, so one broken file does not cascade.
    invalid_ids: set[str] = field(default_factory=set)
    unparsed: bool = False
    # A file as it was in the last git commit (None: new, or not in git): tells a maintainer's
    # new entry from the ones already there.
    committed: Callable[[Path], str | None] = field(default=lambda path: committed_text(path))


def committed_text(path: Path) -> str | None:
    """The text of a file in git's HEAD, or None when it is not committed (or git is absent)."""
    try:
        found = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=path.parent,
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout if found.returncode == 0 else None


class _Loader(yaml.SafeLoader):
    """A safe loader that keeps dates as strings, so the JSON Schema sees what editors see."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: its file and the line of each of its fields."""

    path: Path
    lines: dict[Path_, int]
    base: Path_

    def line(self, *sub: str | int) -> int:
        """Line of a field of the record (or of the closest enclosing node)."""
        key = self.base + sub
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return 1


@dataclass(frozen=True, slots=True)
class YamlFile:
    """A parsed YAML file and the line of each node, keyed by its path in the document."""

    path: Path
    kind: str
    data: Any
    lines: dict[Path_, int]

    def origin(self, *base: str | int) -> Origin:
        """The origin of the node at this path."""
        return Origin(self.path, self.lines, base)


def file_kind(path: Path) -> str:
    """What a file in the FAQ directory holds: themes, events, smalltalk, matching or entries."""
    return SPECIAL_FILES.get(path.name, "entries")


def read_yaml(path: Path) -> tuple[YamlFile | None, list[Problem]]:
    """Parse one file; on a syntax error return the problem with PyYAML's line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(path, 1, f"cannot read the file: {error}", "save it as UTF-8")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        what = f"{error.context}, {error.problem}" if error.context else str(error.problem)
        hint = "check indentation, and quote texts containing ': ' or starting with a symbol"
        return None, [Problem(path, line, f"YAML syntax error: {what}", hint)]
    except yaml.YAMLError as error:
        return None, [Problem(path, 1, f"YAML error: {error}")]
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    problems = list(_index_lines(path, node, (), lines)) if node is not None else []
    return YamlFile(path, file_kind(path), data, lines), problems


def _index_lines(path: Path, node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> Iterator[Problem]:
    """Record the line of every node, and report keys written twice in one mapping."""
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                yield Problem(path, line, f"field {key!r} is written twice (first on line {seen[key]})",
                              "keep only one")
            seen[key] = line
            lines[(*at, key)] = line
            yield from _index_lines(path, value_node, (*at, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if _merged(item):
                yield Problem(path, item.start_mark.line + 1,
                              f"the list item {item.value!r} spans lines "
                              f"{item.start_mark.line + 1}-{item.end_mark.line + 1}: a line "
                              "indented deeper than the others was merged into the one above",
                              "put each '- ' at the same indentation as the others")
            yield from _index_lines(path, item, (*at, index), lines)


def _merged(node: yaml.Node) -> bool:
    """A plain (unquoted) list item written over several lines: YAML joined them into one."""
    return (isinstance(node, yaml.ScalarNode) and node.style is None
            and node.end_mark.line > node.start_mark.line)


@cache
def schema(kind: str) -> dict[str, Any]:
    """The published JSON Schema for a kind of file."""
    text = resources.files("careerbot").joinpath(f"schemas/{kind}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(file: YamlFile) -> list[Problem]:
    """Check a parsed file against its JSON Schema; one located problem per violation."""
    validator = jsonschema.Draft202012Validator(
        schema(file.kind), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = []
    for error in sorted(validator.iter_errors(file.data), key=lambda e: list(map(str, e.path))):
        at = tuple(error.absolute_path)
        message, hint = _explain(error, file)
        problems.append(Problem(file.path, file.origin(*at).line(), message, hint))
    return problems


def _where(error: jsonschema.ValidationError, file: YamlFile) -> str:
    """Name the record an error is in, by its id when it has one ("entry 'pacte'")."""
    at = tuple(error.absolute_path)
    if len(at) >= 2 and isinstance(at[1], int):
        record = file.data[at[0]][at[1]]
        label = {"entries": "entry", "themes": "theme", "events": "event",
                 "glossary": "term"}.get(str(at[0]), "item")
        name = record.get("id") if isinstance(record, dict) else None
        prefix = f"{label} {name!r}" if name else f"{label} #{at[1] + 1}"
        field_path = ".".join(str(p) for p in at[2:])
        return f"{prefix}, field {field_path!r}" if field_path else prefix
    return f"field {'.'.join(map(str, at))!r}" if at else "the file"


def _explain(error: jsonschema.ValidationError, file: YamlFile) -> tuple[str, str]:
    """A maintainer-friendly message and fix for one schema violation."""
    where = _where(error, file)
    validator = error.validator
    if validator == "required":
        missing = str(error.message).split("'")[1]
        return f"{where}: missing field {missing!r}", f"add `{missing}:`"
    if validator == "additionalProperties":
        rule = error.schema if isinstance(error.schema, dict) else {}
        allowed = sorted(rule.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        names = ", ".join(repr(u) for u in unknown)
        guess = process.extractOne(unknown[0], allowed) if unknown else None
        hint = f"did you mean {guess[0]!r}?" if guess and guess[1] >= 70 else (
            "allowed fields: " + ", ".join(allowed))
        return f"{where}: unknown field {names}", hint
    if validator == "type":
        expected = error.validator_value
        got = type(error.instance).__name__.replace("str", "text").replace("NoneType", "nothing")
        return f"{where}: must be a {_type_name(expected)}, not {got}", _type_hint(expected)
    if validator == "pattern" and "a-z0-9" in str(error.validator_value):
        return (f"{where}: {error.instance!r} is not a valid id",
                "use lower-case letters, digits and hyphens, e.g. 'concours-externe'")
    if validator == "pattern":
        return f"{where}: {error.instance!r} is not a web address", "start it with https://"
    if validator == "format":
        return f"{where}: {error.instance!r} is not a valid {error.validator_value}", "write YYYY-MM-DD"
    if validator in {"minItems", "minLength"}:
        return f"{where}: must not be empty", "fill it in or remove the field if it is optional"
    if validator == "maxLength":
        return f"{where}: is too long ({len(str(error.instance))} characters)", (
            f"keep it under {error.validator_value} characters")
    return f"{where}: {error.message}", ""


def _type_name(expected: object) -> str:
    names = {"array": "list", "object": "mapping", "string": "text", "integer": "whole number"}
    return names.get(str(expected), str(expected))


def _type_hint(expected: object) -> str:
    return {
        "array": "write a YAML list, one '- item' per line or [a, b]",
        "object": "write indented 'key: value' lines",
        "string": "write a text (quote it if it looks like a number or a date)",
    }.get(str(expected), "")
