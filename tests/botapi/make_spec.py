"""Cut the subset of the Bot API spec that the test double enforces.

Run from anywhere: ``python tests/botapi/make_spec.py``. It reads the full spec in
``../shared/telegram-bot-api/api.json`` (relative to the repository root) and writes
``tests/botapi/botapi-spec.json``: the methods in :data:`METHODS` and every type reachable from
their fields, recursively, including the subtypes of abstract types (InlineQueryResult,
InputMessageContent, BotCommandScope, MenuButton...). The tests load the written file, never
``../shared``, so regenerate and commit it when the bot starts using a new method.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "telegram-bot-api" / "api.json"
TARGET = Path(__file__).resolve().parent / "botapi-spec.json"

# The methods a bot like careerbot uses. Add one here (and its answer in server.py) before the
# bot calls it: the double refuses every method that is not in the subset.
METHODS: tuple[str, ...] = (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "sendMessage",
    "editMessageText", "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery",
    "answerInlineQuery", "sendDocument", "sendChatAction", "setMyCommands", "deleteMyCommands",
    "setMyDescription", "setMyShortDescription", "getMyCommands", "setChatMenuButton",
    "copyMessage", "forwardMessage", "close", "logOut", "getChat", "sendPhoto",
)


def base_type(type_name: str) -> str:
    """'Array of Array of InlineKeyboardButton' -> 'InlineKeyboardButton'."""
    while type_name.startswith("Array of "):
        type_name = type_name.removeprefix("Array of ")
    return type_name


def reachable_types(api: dict[str, Any], methods: tuple[str, ...]) -> list[str]:
    """Every type named by the methods' fields, their fields and their subtypes, recursively."""
    types: dict[str, Any] = api["types"]
    seen: set[str] = set()
    todo: list[str] = []

    def add(type_name: str) -> None:
        name = base_type(type_name)
        if name in types and name not in seen:
            seen.add(name)
            todo.append(name)

    for method in methods:
        for field in api["methods"][method].get("fields", []):
            for type_name in field["types"]:
                add(type_name)
    while todo:
        definition = types[todo.pop()]
        for subtype in definition.get("subtypes", []):
            add(subtype)
        for field in definition.get("fields", []):
            for type_name in field["types"]:
                add(type_name)
    return sorted(seen)


def make_subset(api: dict[str, Any], methods: tuple[str, ...] = METHODS) -> dict[str, Any]:
    """The subset document: same shape as api.json, plus the names of the methods left out."""
    missing = [name for name in methods if name not in api["methods"]]
    if missing:
        raise SystemExit(f"methods not in the spec: {', '.join(missing)}")
    return {
        "version": api.get("version"),
        "release_date": api.get("release_date"),
        "source": "shared/telegram-bot-api/api.json, cut by tests/botapi/make_spec.py",
        "methods": {name: api["methods"][name] for name in methods},
        "types": {name: api["types"][name] for name in reachable_types(api, methods)},
        # Real methods the double does not serve: it names them instead of calling them unknown.
        "other_methods": sorted(set(api["methods"]) - set(methods)),
    }


def main() -> int:
    """Write botapi-spec.json next to this script."""
    api = json.loads(SOURCE.read_text(encoding="utf-8"))
    subset = make_subset(api)
    TARGET.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{TARGET.name}: {len(subset['methods'])} methods, {len(subset['types'])} types "
          f"({subset['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
