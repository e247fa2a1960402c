"""Inline keyboards: the JSON sent with a reply is the Bot API's InlineKeyboardMarkup."""

from __future__ import annotations

import json

from careerbot import announcements as ui
from careerbot.conversation import Button, Conversation, Reply
from careerbot.faq_reload import build
from careerbot.telegram.keyboard import keyboard, keyboard_json
from tests.conftest import REPO


def replies() -> list[Reply]:
    """Every kind of reply with buttons the shipped FAQ gives, in both languages."""
    conversation: Conversation = build(REPO / "faq", team_inbox=True).conversation
    found: list[Reply] = []
    for lang in ("fr", "en"):
        found += [conversation.welcome(lang), conversation.themes(lang), conversation.route(0, lang),
                  conversation.ask("je ne sais pas trop", lang)]
        found += [conversation.theme(theme.id, lang) for theme in conversation.faq.themes]
        found += [ui.with_feedback(conversation.entry(entry.id, lang), entry.id, lang)
                  for entry in conversation.faq.entries]
    found.append(Reply("", ((Button("plain"),),)))
    return found


def test_keyboard_json_is_the_library_serialisation() -> None:
    """The JSON written directly equals python-telegram-bot's own serialisation of the markup,
    for every kind of reply.
    """
    for reply in replies():
        markup = keyboard(reply.buttons)
        written = keyboard_json(reply.buttons)
        if markup is None:
            assert written is None, reply.html
        else:
            assert written is not None and json.loads(written) == markup.to_dict(), reply.html


def test_no_buttons_no_keyboard() -> None:
    """A reply without buttons sends no reply_markup."""
    assert keyboard_json(()) is None
