"""Rendering the core's buttons as Telegram inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from careerbot.conversation import Button


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Rows of buttons as an inline keyboard (None when there are none)."""
    rendered = [[InlineKeyboardButton(b.label, url=b.url) if b.url
                 else InlineKeyboardButton(b.label, callback_data=b.action)
                 for b in row] for row in rows]
    return InlineKeyboardMarkup(rendered) if rendered else None
