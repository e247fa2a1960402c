"""Check Bot API requests against the spec in ``botapi-spec.json`` (cut by ``make_spec.py``).

``Spec.load().validate(method, raw_params)`` decodes the parameters as the Bot API server does and
returns ``(params, violations)``:

- the method must exist (method names are case-insensitive, as on the real server);
- required fields must be present and no unknown field may be sent;
- each value must have a declared type: form values are strings, decoded by the declared types
  (``"123"`` is an Integer for ``chat_id``, ``'{"inline_keyboard": ...}'`` a JSON object);
  Integer, Float, Boolean, String, InputFile (an uploaded file part), ``Array of X``, and object
  types checked field by field, recursively, unknown fields refused;
- unions (several ``types``) pass if any alternative passes; abstract types (InlineQueryResult,
  BotCommandScope, MenuButton...) pick their subtype by the ``type`` field each subtype
  documents ("Type of the result, must be article"), else accept any subtype that validates;
- the prose limits of ``rules.py`` run on every object of their type and on each method.

Violations read like ``sendMessage: unknown field 'txt'`` or
``sendMessage: reply_markup.inline_keyboard[0][0].callback_data: must be 1-64 bytes, got 65``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.botapi.rules import METHOD_RULES, type_rule

SPEC_PATH = Path(__file__).resolve().parent / "botapi-spec.json"

PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})

_INTEGER = re.compile(r"[+-]?[0-9]+")
_CONSTANT = re.compile(r"\bmust be ([a-z_0-9]+)\s*$")
_DISCRIMINATORS = ("type", "source", "status")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (an ``InputFile``)."""

    field: str
    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.data)} bytes)"


def describe(value: Any) -> str:
    """A short description of a value for error messages: its JSON kind and a preview."""
    kinds = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "object"}
    kind = kinds.get(type(value), type(value).__name__)
    preview = repr(value)
    if len(preview) > 40:
        preview = preview[:37] + "..."
    return f"{kind} {preview}"


def _prefixed(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


class Spec:
    """The methods and types of the Bot API subset, and the validator built on them."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Wrap a spec document shaped like api.json (``methods``, ``types``)."""
        self.version: str = str(document.get("version", ""))
        self.methods: dict[str, dict[str, Any]] = dict(document["methods"])
        self.types: dict[str, dict[str, Any]] = dict(document["types"])
        self.other_methods: frozenset[str] = frozenset(document.get("other_methods", ()))
        self._by_lower = {name.lower(): name for name in self.methods}
        self._other_lower = {name.lower(): name for name in self.other_methods}

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Spec:
        """Load the committed subset (cached for the default path)."""
        if path == SPEC_PATH:
            return _default_spec()
        return cls(json.loads(path.read_text(encoding="utf-8")))

    # --- lookups ---------------------------------------------------------------------------------

    def method_name(self, name: str) -> str | None:
        """The canonical name of a method (the server ignores case), or None if not served."""
        return self._by_lower.get(name.lower())

    def fields(self, method: str) -> dict[str, dict[str, Any]]:
        """The fields of a method by name."""
        return {field["name"]: field for field in self.methods[method].get("fields", [])}

    def returns(self, method: str) -> list[str]:
        """The declared return types of a method."""
        return list(self.methods[method].get("returns", []))

    def constant(self, type_name: str) -> tuple[str, str] | None:
        """The discriminating field of a subtype and its value ("type", "article"), if documented."""
        for field in self.types.get(type_name, {}).get("fields", []):
            if field["name"] in _DISCRIMINATORS:
                match = _CONSTANT.search(field.get("description", ""))
                if match:
                    return field["name"], match[1]
        return None

    # --- decoding --------------------------------------------------------------------------------

    def decode(self, method: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Decode string values by the declared types of their fields, as the server does.

        Form bodies carry every value as a string ("non-string values are JSON strings"); a JSON
        body may too. A string is kept only when no non-string alternative accepts it.
        """
        fields = self.fields(method) if method in self.methods else {}
        decoded: dict[str, Any] = {}
        for name, value in raw.items():
            if not isinstance(value, str):
                decoded[name] = value
            elif name in fields:
                decoded[name] = self._decode_string(value, fields[name]["types"])
            else:
                decoded[name] = _loads(value, default=value)
        return decoded

    def _decode_string(self, raw: str, types: list[str]) -> Any:
        fallback: Any = raw
        ordered = [t for t in types if t != "String"]
        for type_name in ordered:
            ok, value = _coerce(raw, type_name)
            if not ok:
                continue
            if not self.check_value(value, [type_name], ""):
                return value
            if fallback is raw and "String" not in types:
                fallback = value  # the closest reading, to report its errors
        return raw if "String" in types else fallback

    # --- validation ------------------------------------------------------------------------------

    def validate(self, method: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Decode raw parameters and check them: ``(params, violations)``."""
        canonical = self.method_name(method)
        if canonical is None:
            return dict(raw), [self.unknown_method(method)]
        params = self.decode(canonical, raw)
        return params, self.check_request(canonical, params)

    def unknown_method(self, method: str) -> str:
        """The violation for a method the double does not serve."""
        real = self._other_lower.get(method.lower())
        if real is not None:
            return (f"{real}: method not served by the test double; add it to METHODS in "
                    "tests/botapi/make_spec.py and answer it in tests/botapi/server.py")
        return f"unknown method {method!r}"

    def check_request(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Every violation of one request with decoded parameters, prefixed by the method."""
        canonical = self.method_name(method)
        if canonical is None:
            return [self.unknown_method(method)]
        fields = self.fields(canonical)
        problems: list[str] = []
        problems += [f"missing required field {name!r}"
                     for name, field in fields.items() if field["required"] and name not in params]
        problems += [f"unknown field {name!r}" for name in params if name not in fields]
        for name, value in params.items():
            if name in fields:
                problems += self.check_value(value, fields[name]["types"], name)
        for rule in METHOD_RULES.get(canonical, []):
            problems += rule(params)
        return [f"{canonical}: {problem}" for problem in problems]

    def check_value(self, value: Any, types: list[str], path: str) -> list[str]:
        """Problems of a value against one or several (a union of) declared types."""
        if len(types) == 1:
            return self._check_one(value, types[0], path)
        attempts = [self._check_one(value, type_name, path) for type_name in types]
        if any(not problems for problems in attempts):
            return []
        objects = [(problems, t) for problems, t in zip(attempts, types, strict=True) if t not in PRIMITIVES]
        if isinstance(value, dict) and objects:
            return min(objects, key=lambda pair: len(pair[0]))[0]
        return [_prefixed(path, f"expected {' or '.join(types)}, got {describe(value)}")]

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [_prefixed(path, f"expected {type_name}, got {describe(value)}")]
            item_type = type_name.removeprefix("Array of ")
            problems: list[str] = []
            for index, item in enumerate(value):
                problems += self._check_one(item, item_type, f"{path}[{index}]")
            return problems
        if type_name in PRIMITIVES:
            return [] if _is_primitive(value, type_name) else [
                _prefixed(path, f"expected {type_name}, got {describe(value)}")]
        definition = self.types.get(type_name)
        if definition is None:
            return [_prefixed(path, f"type {type_name} is missing from botapi-spec.json "
                                    "(rerun make_spec.py)")]
        if not isinstance(value, dict):
            return [_prefixed(path, f"expected a {type_name} object, got {describe(value)}")]
        if "subtypes" in definition:
            return self._check_abstract(value, type_name, definition["subtypes"], path)
        return self._check_object(value, type_name, definition, path)

    def _check_object(self, value: dict[str, Any], type_name: str, definition: Mapping[str, Any],
                      path: str) -> list[str]:
        fields = {field["name"]: field for field in definition.get("fields", [])}
        problems: list[str] = []
        problems += [_prefixed(path, f"{type_name} misses required field {name!r}")
                     for name, field in fields.items() if field["required"] and name not in value]
        problems += [_prefixed(path, f"unknown field {name!r} in {type_name}")
                     for name in value if name not in fields]
        for name, item in value.items():
            if name in fields:
                problems += self.check_value(item, fields[name]["types"], f"{path}.{name}" if path else name)
        constant = self.constant(type_name)
        if constant is not None and constant[0] in value and value[constant[0]] != constant[1]:
            problems.append(_prefixed(path, f"{constant[0]} must be {constant[1]!r} in {type_name}"))
        rule = type_rule(type_name)
        if rule is not None:
            problems += rule(value, path)
        return problems

    def _check_abstract(self, value: dict[str, Any], type_name: str, subtypes: list[str],
                        path: str) -> list[str]:
        candidates = list(subtypes)
        constants = {subtype: self.constant(subtype) for subtype in subtypes}
        keys = {c[0] for c in constants.values() if c is not None}
        for key in sorted(keys):
            if key in value:
                candidates = [s for s in subtypes if constants[s] == (key, value[key])]
                if not candidates:
                    allowed = sorted({c[1] for c in constants.values() if c is not None and c[0] == key})
                    return [_prefixed(path, f"{key} {value[key]!r} is not a kind of {type_name} "
                                            f"(expected one of {', '.join(allowed)})")]
                break
        else:
            if keys:
                return [_prefixed(path, f"{type_name} misses its discriminating field "
                                        f"{' or '.join(sorted(keys))!r}")]
        attempts = [self._check_object(value, s, self.types[s], path) for s in candidates]
        if any(not problems for problems in attempts):
            return []
        return min(attempts, key=len)


@lru_cache(maxsize=1)
def _default_spec() -> Spec:
    return Spec(json.loads(SPEC_PATH.read_text(encoding="utf-8")))


def _loads(raw: str, *, default: Any) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return default


def _is_primitive(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    return isinstance(value, UploadedFile)  # InputFile


def _coerce(raw: str, type_name: str) -> tuple[bool, Any]:
    """Read a form string as a type: (True, value) or (False, None)."""
    if type_name == "Integer":
        return (True, int(raw)) if _INTEGER.fullmatch(raw.strip()) else (False, None)
    if type_name == "Float":
        try:
            number = float(raw)
        except ValueError:
            return False, None
        return math.isfinite(number), number
    if type_name == "Boolean":
        lowered = raw.strip().lower()
        if lowered in {"true", "1"}:
            return True, True
        if lowered in {"false", "0"}:
            return True, False
        return False, None
    if type_name in PRIMITIVES:  # String is never coerced; InputFile comes as a file part
        return False, None
    decoded = _loads(raw, default=_NOT_JSON)
    return (decoded is not _NOT_JSON), decoded


_NOT_JSON = object()
