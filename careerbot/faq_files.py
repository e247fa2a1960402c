"""Reading FAQ files: YAML with line numbers, validated against the published JSON Schemas.

Every problem is reported with its file and line, so a maintainer can go straight to it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rapidfuzz import process

from careerbot.faq import Entry, Event, GlossaryTerm, Problem, RouteStep, SmallTalk, Theme

if TYPE_CHECKING:
    import jsonschema

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


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same, on libyaml when PyYAML has it: ten times faster, with the same nodes and lines.
    A file it refuses is parsed again by `_Loader`, whose error messages the checker translates.
    """


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


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


YAML_HINT = "check indentation, and quote texts containing ': ' or starting with a symbol"
YAML_HINT_FR = ("vérifiez l'indentation (des espaces, jamais de tabulation) et mettez entre "
                "guillemets les textes qui contiennent « : » ou commencent par un symbole")


def read_yaml(path: Path) -> tuple[YamlFile | None, list[Problem]]:
    """Parse one file; on a syntax error return the problem with PyYAML's line."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(path, 1, f"impossible de lire le fichier : {error}",
                              "vérifiez qu'il existe et qu'il est lisible",
                              message_en=f"cannot read the file: {error}",
                              hint_en="check that it exists and can be read")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [_not_utf8(path, raw, error.start)]
    fast = _FastLoader(text)
    try:
        node = fast.get_single_node()
        data = fast.construct_document(node) if node is not None else None
    except yaml.YAMLError:
        return _read_slowly(path, text)
    finally:
        fast.dispose()
    return _indexed(path, node, data)


def _read_slowly(path: Path, text: str) -> tuple[YamlFile | None, list[Problem]]:
    """Parse with the pure-Python loader, for its error messages and marks."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark and any(opened in str(error.context) for opened in UNCLOSED):
            mark = error.context_mark  # where the quote or bracket left open was opened
        line = mark.line + 1 if mark else 1
        what = f"{error.context}, {error.problem}" if error.context else str(error.problem)
        started = error.context_mark.line + 1 if error.context_mark else line
        message, hint = _yaml_error_fr(str(error.context or ""), str(error.problem or ""),
                                       f" ligne {started}" if started != line else "")
        return None, [Problem(path, line, f"erreur de syntaxe YAML : {message or what}", hint,
                              message_en=f"YAML syntax error: {what}", hint_en=YAML_HINT)]
    except yaml.YAMLError as error:
        return None, [Problem(path, 1, f"erreur YAML : {error}", YAML_HINT_FR,
                              message_en=f"YAML error: {error}")]
    finally:
        loader.dispose()
    return _indexed(path, node, data)


def _indexed(path: Path, node: yaml.Node | None, data: Any) -> tuple[YamlFile, list[Problem]]:
    """The file's data with the line of every node."""
    lines: dict[Path_, int] = {}
    problems = list(_index_lines(path, node, (), lines)) if node is not None else []
    return YamlFile(path, file_kind(path), data, lines), problems


# Errors about something opened and never closed: PyYAML finds them where the file ends.
UNCLOSED = ("quoted scalar", "flow sequence", "flow mapping")


def _not_utf8(path: Path, raw: bytes, start: int) -> Problem:
    """A byte that is not UTF-8 (a file saved as Latin-1 or Windows-1252), at its line and column."""
    line = raw.count(b"\n", 0, start) + 1
    column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return Problem(path, line, f"caractère illisible colonne {column} (octet 0x{raw[start]:02x}) : "
                   "le fichier n'est pas en UTF-8", "réenregistrez le fichier en UTF-8 (dans "
                   "l'éditeur : « Enregistrer avec l'encodage » → UTF-8)",
                   message_en=f"unreadable character at column {column} (byte 0x{raw[start]:02x}): "
                   "the file is not UTF-8", hint_en="save the file again as UTF-8")


_QUOTE_IT = "mettez le texte entre guillemets"
_SCANNING = {"while scanning an anchor": "&", "while scanning an alias": "*",
             "while scanning a directive": "%"}


def _yaml_error_fr(context: str, problem: str, started: str) -> tuple[str, str]:
    """PyYAML's error in plain French with its usual fix: ("", general hint) when not recognised.

    `started` says where what is unclosed was opened (" ligne 4"), or "" when on the error's line.
    """
    if "'\\t'" in problem:
        return "une tabulation dans l'indentation", "remplacez la tabulation par des espaces"
    if "mapping values are not allowed here" in problem:
        return ("un « : » inattendu : un texte contient « : » sans guillemets, ou la ligne est trop "
                "indentée", "mettez entre guillemets le texte qui contient « : », comme question: "
                "\"Horaires : quand ?\" ; ou réalignez la ligne sur les champs voisins")
    if "expected <block end>" in problem and "'<scalar>'" in problem:
        return ("du texte suit des guillemets déjà refermés : une apostrophe dans un texte entre "
                "apostrophes ?", "entourez de guillemets doubles \"…\" le texte qui contient une "
                "apostrophe")
    if "expected <block end>" in problem or "did not find expected" in problem:
        return ("cette ligne n'est pas alignée sur les lignes du même niveau",
                "réalignez son indentation avec des espaces, jamais de tabulation")
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        opening, closing = ("[", "]") if "']'" in problem else ("{", "}")
        return (f"le « {opening} » ouvert{started} n'est jamais fermé",
                f"fermez-le par « {closing} », ou {_QUOTE_IT} s'il commence par « {opening} »")
    if "quoted scalar" in context:
        return (f"les guillemets ouverts{started} ne sont jamais refermés",
                "ajoutez le guillemet fermant")
    if "could not find expected ':'" in problem:
        return ("il manque un « : » après le nom d'un champ",
                "écrivez `champ: valeur`, ou vérifiez l'indentation de la ligne")
    reserved = re.search(r"found character '(.)' that cannot start any token", problem)
    symbol = (reserved.group(1) if reserved else "*" if "undefined alias" in problem
              else _SCANNING.get(context, ""))
    if symbol:
        return f"un texte commence par « {symbol} », un caractère réservé en YAML", _QUOTE_IT
    if "another document" in problem:
        return ("une ligne « --- » commence un second document",
                "retirez la ligne « --- »")
    return "", YAML_HINT_FR


def _index_lines(path: Path, node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> Iterator[Problem]:
    """Record the line of every node, and report keys written twice in one mapping."""
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                yield Problem(path, line, f"le champ {key!r} est écrit deux fois (la première "
                              f"fois ligne {seen[key]})", "n'en gardez qu'un",
                              message_en=f"field {key!r} is written twice (first on line "
                              f"{seen[key]})", hint_en="keep only one")
            seen[key] = line
            lines[(*at, key)] = line
            yield from _index_lines(path, value_node, (*at, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if _merged(item):
                first, last = item.start_mark.line + 1, item.end_mark.line + 1
                yield Problem(path, first,
                              f"l'élément de liste {item.value!r} s'étend sur les lignes {first} "
                              f"à {last} : une ligne plus indentée que les autres a été collée à "
                              "celle du dessus", "alignez chaque « - » sur les autres",
                              message_en=f"the list item {item.value!r} spans lines "
                              f"{first}-{last}: a line indented deeper than the others was "
                              "merged into the one above",
                              hint_en="put each '- ' at the same indentation as the others")
            yield from _index_lines(path, item, (*at, index), lines)


def _merged(node: yaml.Node) -> bool:
    """A plain (unquoted) list item written over several lines: YAML joined them into one."""
    return (isinstance(node, yaml.ScalarNode) and not node.style  # libyaml says "", PyYAML None
            and node.end_mark.line > node.start_mark.line)


@cache
def schema(kind: str) -> dict[str, Any]:
    """The published JSON Schema for a kind of file."""
    text = resources.files("careerbot").joinpath(f"schemas/{kind}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(file: YamlFile) -> list[Problem]:
    """Check a parsed file against its JSON Schema; one located problem per violation."""
    import jsonschema  # here: a start that finds its FAQ in the cache never validates

    validator = jsonschema.Draft202012Validator(
        schema(file.kind), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = []
    for error in sorted(validator.iter_errors(file.data), key=lambda e: list(map(str, e.path))):
        at = tuple(error.absolute_path)
        message, hint = _explain_fr(error, file)
        message_en, hint_en = _explain(error, file)
        problems.append(Problem(file.path, file.origin(*at).line(), message, hint,
                                message_en=message_en, hint_en=hint_en))
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
    """A maintainer-friendly message and fix for one schema violation, in English."""
    where = _where(error, file)
    validator = error.validator
    if validator == "required":
        missing = str(error.message).split("'")[1]
        return f"{where}: missing field {missing!r}", f"add `{missing}:`"
    if validator == "additionalProperties":
        allowed, unknown = _fields(error)
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


def _fields(error: jsonschema.ValidationError) -> tuple[list[str], list[str]]:
    """For an unknown field: the allowed fields and the unknown ones, sorted."""
    rule = error.schema if isinstance(error.schema, dict) else {}
    allowed = sorted(rule.get("properties", {}))
    unknown = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
    return allowed, unknown


def _type_name(expected: object) -> str:
    names = {"array": "list", "object": "mapping", "string": "text", "integer": "whole number"}
    return names.get(str(expected), str(expected))


def _type_hint(expected: object) -> str:
    return {
        "array": "write a YAML list, one '- item' per line or [a, b]",
        "object": "write indented 'key: value' lines",
        "string": "write a text (quote it if it looks like a number or a date)",
    }.get(str(expected), "")


_RECORDS_FR = {"entries": "l'entrée", "themes": "le thème", "events": "l'événement",
               "glossary": "le terme", "smalltalk": "le small talk", "parcours": "l'étape"}
_TYPES_FR = {"array": "une liste", "object": "un ensemble de champs « clé: valeur »",
             "string": "un texte", "integer": "un nombre entier", "number": "un nombre",
             "boolean": "true ou false"}
_VALUES_FR = {"list": "une liste", "dict": "un ensemble de champs", "str": "un texte",
              "int": "un nombre", "float": "un nombre", "bool": "true ou false",
              "NoneType": "une valeur vide"}


def _place_fr(error: jsonschema.ValidationError, file: YamlFile) -> tuple[str, str]:
    """(the record an error is in, as "l'entrée 'pacte'" or "", the field path in it or "")."""
    at = tuple(error.absolute_path)
    if len(at) >= 2 and isinstance(at[1], int):
        record = file.data[at[0]][at[1]]
        label = _RECORDS_FR.get(str(at[0]), "l'élément")
        name = record.get("id") if isinstance(record, dict) else None
        owner = f"{label} {name!r}" if name else f"{label} n° {at[1] + 1}"
        return owner, ".".join(str(p) for p in at[2:])
    return "", ".".join(map(str, at))


def _explain_fr(error: jsonschema.ValidationError, file: YamlFile) -> tuple[str, str]:
    """The message and fix of one schema violation, in French."""
    owner, field_path = _place_fr(error, file)
    head = f"{owner} : " if owner else ""
    inside = f" dans {field_path!r}" if field_path else ""
    subject = f"{head}le champ {field_path!r}" if field_path else owner or "le fichier"
    value = error.validator_value
    validator = error.validator
    if validator == "required":
        missing = str(error.message).split("'")[1]
        return f"{head}il manque le champ {missing!r}{inside}", f"ajoutez `{missing}:`"
    if validator == "additionalProperties":
        allowed, unknown = _fields(error)
        names = ", ".join(repr(u) for u in unknown)
        what = "champs inconnus" if len(unknown) > 1 else "champ inconnu"
        guess = process.extractOne(unknown[0], allowed) if unknown else None
        hint = f"vouliez-vous dire {guess[0]!r} ?" if guess and guess[1] >= 70 else (
            "champs possibles : " + ", ".join(allowed))
        return f"{head}{what} {names}{inside}", hint
    if validator == "type":
        expected = _TYPES_FR.get(str(value), str(value))
        got = _VALUES_FR.get(type(error.instance).__name__, type(error.instance).__name__)
        hint = {
            "array": "écrivez une liste YAML : un « - élément » par ligne, ou [a, b]",
            "object": "écrivez des lignes « clé: valeur » indentées",
            "string": "écrivez un texte (entre guillemets s'il ressemble à un nombre ou à une date)",
        }.get(str(value), "")
        return f"{subject} doit être {expected}, pas {got}", hint
    if validator == "pattern" and "a-z0-9" in str(value):
        return (f"{subject} contient {error.instance!r}, qui n'est pas un identifiant valide",
                "utilisez des minuscules sans accents, des chiffres et des tirets, "
                "ex. 'concours-externe'")
    if validator == "pattern":
        return (f"{subject} contient {error.instance!r}, qui n'est pas une adresse web",
                "commencez-la par https://")
    if validator == "format":
        kind = "une date valide" if value == "date" else f"au format {value!r}"
        return (f"{subject} contient {error.instance!r}, qui n'est pas {kind}",
                "écrivez AAAA-MM-JJ, ex. 2026-11-26")
    if validator in {"minItems", "minLength"}:
        return (f"{subject} ne doit pas être vide",
                "remplissez-le, ou retirez le champ s'il est facultatif")
    if validator == "maxLength":
        return (f"{subject} est trop long ({len(str(error.instance))} caractères)",
                f"ne dépassez pas {value} caractères")
    if validator == "minimum":
        return f"{subject} vaut {error.instance}, moins que {value}", f"écrivez au moins {value}"
    if validator == "maximum":
        return f"{subject} vaut {error.instance}, plus que {value}", f"écrivez au plus {value}"
    return (f"{subject} : {error.message}",
            f"comparez avec le schéma careerbot/schemas/{file.kind}.schema.json")
