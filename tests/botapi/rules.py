"""Limits the Bot API states only in prose, written by hand (each rule quotes its source).

Two kinds of rule, both stateless (the double checks the stateful ones: known chats, messages,
callback queries):

- :data:`TYPE_RULES` run on every object of a type, wherever it appears in a request (a button in
  ``sendMessage.reply_markup`` or in ``answerInlineQuery.results[3].reply_markup``);
- :data:`METHOD_RULES` run on the decoded parameters of one method.

Each rule returns human-readable problems; the validator in ``spec.py`` prefixes them with the
method name and the path of the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tests.botapi.formatting import parse_text, utf16_len

TypeRule = Callable[[Mapping[str, Any], str], list[str]]
MethodRule = Callable[[Mapping[str, Any]], list[str]]

# "Exactly one of the fields other than text, icon_custom_emoji_id, and style must be used to
# specify the type of the button." (InlineKeyboardButton)
BUTTON_ACTIONS: tuple[str, ...] = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)

# sendChatAction.action: "Choose one, depending on what the user is about to receive: typing ..."
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def at(path: str, message: str) -> str:
    """Prefix a problem with the path of the value it is about."""
    return f"{path}: {message}" if path else message


def byte_len(text: str) -> int:
    """Length in bytes of the UTF-8 encoding (the unit of callback_data and result ids)."""
    return len(text.encode("utf-8"))


def check_formatted(text: Any, parse_mode: Any, entities: Any, path: str, *, low: int, high: int,
                    what: str = "text") -> list[str]:
    """A text that goes through entity parsing: its markup, then low-high characters after it."""
    if not isinstance(text, str):
        return []
    mode = parse_mode if isinstance(parse_mode, str) else None
    ents = entities if isinstance(entities, list) else None
    parsed = parse_text(text, mode, ents)
    problems = [at(path, error) for error in parsed.errors]
    if not parsed.errors:
        if parsed.length < low:
            problems.append(at(path, f"must be {low}-{high} characters after entity parsing, got "
                                     f"{parsed.length} (Telegram: {what} is empty)"))
        elif parsed.length > high:
            problems.append(at(path, f"{parsed.length} characters after entity parsing, the limit is {high}"))
    return problems


def check_length(value: Any, path: str, *, low: int, high: int, unit: str = "characters") -> list[str]:
    """A plain string of low-high characters (UTF-16 code units) or bytes (UTF-8)."""
    if not isinstance(value, str):
        return []
    size = byte_len(value) if unit == "bytes" else utf16_len(value)
    if low <= size <= high:
        return []
    return [at(path, f"must be {low}-{high} {unit}, got {size}")]


def check_url(url: Any, path: str, schemes: frozenset[str] = frozenset({"http", "https", "tg"})) -> list[str]:
    """A URL with one of the allowed schemes (and a host for http and https)."""
    if not isinstance(url, str):
        return []
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes:
        return [at(path, f"URL {url!r} must use one of {', '.join(sorted(schemes))}")]
    if parts.scheme.lower() in {"http", "https"} and not parts.netloc:
        return [at(path, f"URL {url!r} has no host")]
    return []


# --- Type rules ---------------------------------------------------------------------------------

def inline_keyboard_button(button: Mapping[str, Any], path: str) -> list[str]:
    """InlineKeyboardButton: a label, exactly one action, callback_data 1-64 bytes, http(s)/tg URL."""
    problems: list[str] = []
    if button.get("text") == "":
        problems.append(at(path, "button text must be non-empty"))
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if len(actions) != 1:
        found = ", ".join(actions) if actions else "none"
        problems.append(at(path, f"a button needs exactly one of {', '.join(BUTTON_ACTIONS)} "
                                 f"(found {found})"))
    # callback_data: "Data to be sent in a callback query to the bot when the button is pressed, 1-64 bytes"
    problems += check_length(button.get("callback_data"), f"{path}.callback_data", low=1, high=64,
                             unit="bytes")
    # url: "HTTP or tg:// URL to be opened when the button is pressed."
    problems += check_url(button.get("url"), f"{path}.url")
    # style: 'Must be one of "danger" (red), "success" (green) or "primary" (blue).'
    if "style" in button and button["style"] not in {"danger", "success", "primary"}:
        problems.append(at(f"{path}.style", f"must be danger, success or primary, got {button['style']!r}"))
    return problems


def login_url(value: Mapping[str, Any], path: str) -> list[str]:
    """LoginUrl: "An HTTPS URL to be opened with user authorization data added to the query string"."""
    return check_url(value.get("url"), f"{path}.url", frozenset({"https"}))


def keyboard_button(button: Mapping[str, Any], path: str) -> list[str]:
    """KeyboardButton: "Text of the button" is what gets sent; an empty label cannot be pressed."""
    return [at(f"{path}.text", "button text must be non-empty")] if button.get("text") == "" else []


def input_text_message_content(content: Mapping[str, Any], path: str) -> list[str]:
    """InputTextMessageContent.message_text: "1-4096 characters after entities parsing"."""
    return check_formatted(content.get("message_text"), content.get("parse_mode"), content.get("entities"),
                           f"{path}.message_text", low=1, high=4096, what="message_text")


def captioned(result: Mapping[str, Any], path: str) -> list[str]:
    """Inline results with a caption: "0-1024 characters after entities parsing"."""
    return check_formatted(result.get("caption"), result.get("parse_mode"), result.get("caption_entities"),
                           f"{path}.caption", low=0, high=1024, what="caption")


def inline_query_result_id(result: Mapping[str, Any], path: str) -> list[str]:
    """InlineQueryResult*.id: "Unique identifier for this result, 1-64 Bytes"."""
    problems = check_length(result.get("id"), f"{path}.id", low=1, high=64, unit="bytes")
    return problems + captioned(result, path)


def bot_command(command: Mapping[str, Any], path: str) -> list[str]:
    """BotCommand: command "1-32 characters ... only lowercase English letters, digits and underscores"."""
    problems: list[str] = []
    name = command.get("command")
    if isinstance(name, str) and not _COMMAND.fullmatch(name):
        problems.append(at(f"{path}.command", f"{name!r} must be 1-32 characters of a-z, 0-9 and _"))
    # description: "Description of the command; 1-256 characters"
    problems += check_length(command.get("description"), f"{path}.description", low=1, high=256)
    return problems


def inline_query_results_button(button: Mapping[str, Any], path: str) -> list[str]:
    """InlineQueryResultsButton: "You must use exactly one of the optional fields"; start_parameter 1-64."""
    problems: list[str] = []
    if ("web_app" in button) == ("start_parameter" in button):
        problems.append(at(path, "needs exactly one of web_app, start_parameter"))
    parameter = button.get("start_parameter")
    if isinstance(parameter, str) and not _START_PARAMETER.fullmatch(parameter):
        problems.append(at(f"{path}.start_parameter", "must be 1-64 characters of A-Z, a-z, 0-9, _ and -"))
    return problems


def input_rich_message(message: Mapping[str, Any], path: str) -> list[str]:
    """InputRichMessage: "Exactly one of the fields html or markdown must be used"."""
    if ("html" in message) == ("markdown" in message):
        return [at(path, "needs exactly one of html, markdown")]
    return []


TYPE_RULES: dict[str, TypeRule] = {
    "InlineKeyboardButton": inline_keyboard_button,
    "LoginUrl": login_url,
    "KeyboardButton": keyboard_button,
    "InputTextMessageContent": input_text_message_content,
    "BotCommand": bot_command,
    "InlineQueryResultsButton": inline_query_results_button,
    "InputRichMessage": input_rich_message,
}


def type_rule(type_name: str) -> TypeRule | None:
    """The hand-written rule for a type, if any (every InlineQueryResult* shares one)."""
    if type_name.startswith("InlineQueryResult") and type_name != "InlineQueryResultsButton":
        return inline_query_result_id
    return TYPE_RULES.get(type_name)


# --- Method rules -------------------------------------------------------------------------------

def send_message(params: Mapping[str, Any]) -> list[str]:
    """sendMessage.text: "1-4096 characters after entities parsing"."""
    return check_formatted(params.get("text"), params.get("parse_mode"), params.get("entities"), "text",
                           low=1, high=4096)


def edit_message_text(params: Mapping[str, Any]) -> list[str]:
    """editMessageText.text: "1-4096 characters after entity parsing; required if rich_message isn't"."""
    problems = _message_target(params)
    if "text" not in params and "rich_message" not in params:
        problems.append("text: required (rich_message is not given)")
    return problems + send_message(params)


def _message_target(params: Mapping[str, Any]) -> list[str]:
    """chat_id and message_id: "Required if inline_message_id is not specified"."""
    if "inline_message_id" in params:
        if "chat_id" in params or "message_id" in params:
            return ["give either inline_message_id or chat_id and message_id, not both"]
        return []
    missing = [name for name in ("chat_id", "message_id") if name not in params]
    return [f"{name}: required when inline_message_id is not specified" for name in missing]


def caption(params: Mapping[str, Any]) -> list[str]:
    """sendDocument/sendPhoto/copyMessage caption: "0-1024 characters after entities parsing"."""
    return check_formatted(params.get("caption"), params.get("parse_mode"), params.get("caption_entities"),
                           "caption", low=0, high=1024, what="caption")


def answer_callback_query(params: Mapping[str, Any]) -> list[str]:
    """answerCallbackQuery.text: "0-200 characters"."""
    return check_length(params.get("text"), "text", low=0, high=200)


def answer_inline_query(params: Mapping[str, Any]) -> list[str]:
    """answerInlineQuery: "No more than 50 results per query are allowed", unique ids, offset <= 64 bytes."""
    problems: list[str] = []
    results = params.get("results")
    if isinstance(results, list):
        if len(results) > 50:
            problems.append(f"results: {len(results)} results, at most 50 are allowed")
        ids = [result.get("id") for result in results if isinstance(result, dict)]
        duplicates = sorted({str(i) for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"results: duplicate result id {', '.join(map(repr, duplicates))}")
    # next_offset: "Offset length can't exceed 64 bytes."
    problems += check_length(params.get("next_offset"), "next_offset", low=0, high=64, unit="bytes")
    return problems


def set_my_commands(params: Mapping[str, Any]) -> list[str]:
    """setMyCommands.commands: "At most 100 commands can be specified"."""
    commands = params.get("commands")
    if isinstance(commands, list) and len(commands) > 100:
        return [f"commands: {len(commands)} commands, at most 100 are allowed"]
    return []


def set_my_description(params: Mapping[str, Any]) -> list[str]:
    """setMyDescription.description: "0-512 characters"."""
    return check_length(params.get("description"), "description", low=0, high=512)


def set_my_short_description(params: Mapping[str, Any]) -> list[str]:
    """setMyShortDescription.short_description: "0-120 characters"."""
    return check_length(params.get("short_description"), "short_description", low=0, high=120)


def send_chat_action(params: Mapping[str, Any]) -> list[str]:
    """sendChatAction.action: one of the listed actions."""
    action = params.get("action")
    if isinstance(action, str) and action not in CHAT_ACTIONS:
        return [f"action: {action!r} is not one of {', '.join(sorted(CHAT_ACTIONS))}"]
    return []


def get_updates(params: Mapping[str, Any]) -> list[str]:
    """getUpdates: limit "Values between 1-100 are accepted"; timeout non-negative."""
    problems: list[str] = []
    limit = params.get("limit")
    if isinstance(limit, int) and not 1 <= limit <= 100:
        problems.append(f"limit: must be 1-100, got {limit}")
    timeout = params.get("timeout")
    if isinstance(timeout, int) and timeout < 0:
        problems.append(f"timeout: must not be negative, got {timeout}")
    return problems


def set_webhook(params: Mapping[str, Any]) -> list[str]:
    """setWebhook: "HTTPS URL ... empty string to remove"; max_connections 1-100; secret_token charset."""
    problems: list[str] = []
    url = params.get("url")
    if isinstance(url, str) and url:
        problems += check_url(url, "url", frozenset({"https"}))
    connections = params.get("max_connections")
    if isinstance(connections, int) and not 1 <= connections <= 100:
        problems.append(f"max_connections: must be 1-100, got {connections}")
    token = params.get("secret_token")
    if isinstance(token, str) and not _SECRET_TOKEN.fullmatch(token):
        problems.append("secret_token: must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return problems


METHOD_RULES: dict[str, list[MethodRule]] = {
    "sendMessage": [send_message],
    "editMessageText": [edit_message_text],
    "editMessageReplyMarkup": [_message_target],
    "sendDocument": [caption],
    "sendPhoto": [caption],
    "copyMessage": [caption],
    "answerCallbackQuery": [answer_callback_query],
    "answerInlineQuery": [answer_inline_query],
    "setMyCommands": [set_my_commands],
    "setMyDescription": [set_my_description],
    "setMyShortDescription": [set_my_short_description],
    "sendChatAction": [send_chat_action],
    "getUpdates": [get_updates],
    "setWebhook": [set_webhook],
}
