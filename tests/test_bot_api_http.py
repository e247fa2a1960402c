"""The Bot API client: JSON bodies without files, multipart with them, the library's errors."""

from __future__ import annotations

import asyncio
import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from careerbot.telegram.http import JsonBodyRequest, bot_api_request
from tests.botapi.server import BotApiDouble

USER = 4242


def bot_on(double: BotApiDouble, request: HTTPXRequest | None = None) -> Bot:
    """A bot on the double with careerbot's Bot API client (or `request`)."""
    return Bot(double.token, base_url=double.base_url, request=request or bot_api_request())


def test_a_message_goes_as_json_and_reads_as_telegram_would(double: BotApiDouble) -> None:
    """Numbers, text with accents and HTML, and a keyboard arrive as the spec types them."""
    double.send_text(USER, "bonjour")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Thèmes 📚", callback_data="t")]])

    async def send() -> None:
        async with bot_on(double) as bot:
            await bot.send_message(USER, "<b>Concours</b> : « épreuves » &amp; oral", parse_mode="HTML",
                                   reply_markup=keyboard)

    asyncio.run(send())
    call = double.calls_to("sendMessage")[-1]
    assert call.ok, call.result
    assert call.body_type == "application/json"
    assert call.params["chat_id"] == USER
    assert call.params["text"] == "<b>Concours</b> : « épreuves » &amp; oral"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Thèmes 📚", "callback_data": "t"}]]}
    double.assert_no_violations()


def test_a_file_still_goes_as_multipart(double: BotApiDouble) -> None:
    """An upload (the .ics of an event, a chart) keeps the library's multipart body."""
    double.send_text(USER, "bonjour")

    async def send() -> None:
        async with bot_on(double) as bot:
            await bot.send_document(USER, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                                    filename="forum.ics", caption="Forum")

    asyncio.run(send())
    call = double.calls_to("sendDocument")[-1]
    assert call.ok, call.result
    assert call.body_type == "multipart/form-data"
    assert call.params["caption"] == "Forum"
    double.assert_no_violations()


def test_a_slow_answer_times_out_as_the_library_says(double: BotApiDouble) -> None:
    """Past the read timeout, TimedOut, which the rate limiter and the outbox know."""
    double.send_text(USER, "bonjour")
    double.delay_next("sendMessage", 1.0)

    async def send() -> None:
        async with bot_on(double, JsonBodyRequest(read_timeout=0.2)) as bot:
            await bot.send_message(USER, "trop lent")

    with pytest.raises(TimedOut):
        asyncio.run(send())


def test_an_unreachable_server_is_a_network_error() -> None:
    """A refused connection is a NetworkError, not a timeout."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def send() -> None:
        await Bot("123:ABC", base_url=f"http://127.0.0.1:{port}/bot",
                  request=bot_api_request()).send_message(USER, "personne")

    with pytest.raises(NetworkError) as raised:
        asyncio.run(send())
    assert not isinstance(raised.value, TimedOut)
