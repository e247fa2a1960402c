"""The Bot API test double, driven by the real python-telegram-bot ``Bot`` over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, Update
from telegram import InputTextMessageContent as TextContent
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.warnings import PTBUserWarning

from tests.botapi import BotApiDouble, Call, Spec
from tests.botapi.formatting import parse_html
from tests.botapi.server import chosen

T = TypeVar("T")
USER = 42


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when it hands out time periods as int; ask for timedelta instead."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    """A started double that already knows user 42 (as if they had written to the bot)."""
    with BotApiDouble() as started:
        started.send_text(USER, "/start")
        yield started


def run(double: BotApiDouble, scenario: Callable[[Bot], Awaitable[T]]) -> T:
    """Run an async scenario with a real, initialized Bot pointed at the double."""

    async def main() -> T:
        async with Bot(double.token, base_url=double.base_url) as bot:
            return await scenario(bot)

    return asyncio.run(main())


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    """One row of inline buttons."""
    return InlineKeyboardMarkup([list(buttons)])


async def api_request(bot: Bot, method: str, **params: Any) -> Any:
    """A raw request through the real Bot, for requests its typed methods cannot express."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)  # "Please use 'Bot.sendMessage' instead"
        return await bot.do_api_request(method, api_kwargs=params)


def refused(double: BotApiDouble, scenario: Callable[[Bot], Awaitable[Any]]) -> str:
    """Run a scenario that must raise BadRequest and be recorded; return the one violation."""
    with pytest.raises(BadRequest):
        run(double, scenario)
    assert len(double.violations) == 1, double.violations
    return double.violations[0]


def test_valid_message_with_inline_keyboard_passes(double: BotApiDouble) -> None:
    """A valid sendMessage with HTML and an inline keyboard is answered with a realistic Message."""
    markup = keyboard(InlineKeyboardButton("Oui", callback_data="yes"),
                      InlineKeyboardButton("Site", url="https://www.fonction-publique.gouv.fr"))

    async def scenario(bot: Bot) -> Any:
        return await bot.send_message(USER, "<b>Bonjour</b> &amp; bienvenue", parse_mode="HTML",
                                      reply_markup=markup)

    message = run(double, scenario)
    assert double.violations == []
    assert message.text == "Bonjour & bienvenue"
    assert message.from_user is not None and message.from_user.is_bot
    assert message.reply_markup == markup
    [sent] = double.messages_to(USER)
    assert (sent.message_id, sent.callback_data) == (message.message_id, ["yes"])
    assert sent.entities == [{"type": "bold", "offset": 0, "length": 7}]


def test_unknown_field_is_refused(double: BotApiDouble) -> None:
    """A field the method does not have is a violation."""
    violation = refused(double, lambda bot: bot.send_message(USER, "hi", api_kwargs={"txt": "hi"}))
    assert violation == "sendMessage: unknown field 'txt'"


def test_missing_required_field_is_refused(double: BotApiDouble) -> None:
    """A request without a required field is a violation."""
    violation = refused(double, lambda bot: api_request(bot, "sendMessage", chat_id=USER))
    assert violation == "sendMessage: missing required field 'text'"


def test_text_of_4097_characters_is_refused(double: BotApiDouble) -> None:
    """A text longer than 4096 characters after entity parsing is a violation."""
    violation = refused(double, lambda bot: bot.send_message(USER, "x" * 4097))
    assert "4097 characters" in violation


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG of that size (signature and IHDR: all the double reads)."""
    return (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + width.to_bytes(4, "big")
            + height.to_bytes(4, "big") + b"\x08\x06\x00\x00\x00" + b"\x00" * 4)


def test_send_photo_uploads_a_png_with_its_caption(double: BotApiDouble) -> None:
    """A photo sent as a multipart upload: its size is read, its caption kept."""
    message = run(double, lambda bot: bot.send_photo(USER, png_header(1125, 2400), caption="📊 Stats",
                                                     filename="stats.png"))
    assert (message.photo[-1].width, message.photo[-1].height) == (1125, 2400)
    assert message.caption == "📊 Stats"
    assert double.calls_to("sendPhoto")[0].params["photo"].data == png_header(1125, 2400)
    double.assert_no_violations()


def test_send_photo_refuses_what_telegram_refuses(double: BotApiDouble) -> None:
    """A photo too tall for its width, a file that is no picture, a caption over 1024 characters."""
    def sending(photo: bytes, caption: str | None) -> Callable[[Bot], Awaitable[Any]]:
        return lambda bot: bot.send_photo(USER, photo, caption=caption)

    for photo, caption in ((png_header(100, 2100), None), (b"GIF89a....", None),
                           (png_header(10, 10), "x" * 1025)):
        with pytest.raises(BadRequest):
            run(double, sending(photo, caption))
    assert len(double.violations) == 3
    assert "ratio at most 20" in double.violations[0]
    assert "neither a PNG" in double.violations[1]
    assert "1025" in double.violations[2]


def test_length_counts_visible_utf16_units() -> None:
    """Tags do not count; an emoji outside the BMP counts as two units."""
    parsed = parse_html("<b>" + "x" * 4094 + "</b>😀")
    assert (parsed.errors, parsed.length) == ([], 4096)


def test_br_tag_is_refused(double: BotApiDouble) -> None:
    """``<br>`` is not a tag Telegram accepts."""
    violation = refused(double, lambda bot: bot.send_message(USER, "a<br>b", parse_mode="HTML"))
    assert 'Unsupported start tag "br"' in violation


def test_bare_ampersand_is_refused(double: BotApiDouble) -> None:
    """An ``&`` that does not start an entity must be escaped."""
    violation = refused(double, lambda bot: bot.send_message(USER, "Q&A", parse_mode="HTML"))
    assert 'bare "&"' in violation


def test_html_must_nest_properly() -> None:
    """Crossed, unclosed and attribute-less tags are caught; a code block with a language passes."""
    assert parse_html("<b><i>x</b></i>").errors[0].endswith('expected "</i>", found "</b>"')
    assert "Can't find end tag" in parse_html("<b>x").errors[0]
    assert parse_html("<span>x</span>").errors
    parsed = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert parsed.errors == [] and parsed.entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"}]


def test_callback_data_of_65_bytes_is_refused(double: BotApiDouble) -> None:
    """callback_data is limited to 64 bytes of UTF-8, not 64 characters."""
    data = "é" * 32 + "a"  # 33 characters, 65 bytes
    button = InlineKeyboardButton("Go", callback_data=data)
    violation = refused(double, lambda bot: bot.send_message(USER, "hi", reply_markup=keyboard(button)))
    assert violation.endswith("reply_markup.inline_keyboard[0][0].callback_data: must be 1-64 bytes, got 65")


def test_button_with_two_actions_is_refused(double: BotApiDouble) -> None:
    """A button needs exactly one action field."""
    button = InlineKeyboardButton("Go", url="https://example.org", callback_data="go")
    violation = refused(double, lambda bot: bot.send_message(USER, "hi", reply_markup=keyboard(button)))
    assert "found url, callback_data" in violation


def test_editing_with_identical_content_is_refused(double: BotApiDouble) -> None:
    """Re-sending the same text and keyboard gives Telegram's "message is not modified" (a bot bug)."""
    markup = keyboard(InlineKeyboardButton("Oui", callback_data="yes"))

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "<b>Choix</b>", parse_mode="HTML", reply_markup=markup)
        await bot.edit_message_text("<strong>Choix</strong>", USER, sent.message_id, parse_mode="HTML",
                                    reply_markup=markup)

    with pytest.raises(BadRequest, match="Message is not modified"):
        run(double, scenario)
    assert double.violations and "message is not modified" in double.violations[0]


def test_edit_changes_what_the_chat_shows(double: BotApiDouble) -> None:
    """An edit with new text replaces the text and drops the keyboard it does not repeat."""

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "Choix", reply_markup=keyboard(
            InlineKeyboardButton("Oui", callback_data="yes")))
        await bot.edit_message_text("Choisi : oui", USER, sent.message_id)

    run(double, scenario)
    [sent] = double.messages_to(USER)
    assert (sent.text, sent.reply_markup, sent.edits, double.violations) == ("Choisi : oui", None, 1, [])


def test_edit_of_unknown_message_is_refused(double: BotApiDouble) -> None:
    """Editing a message the bot never sent gives "message to edit not found"."""
    with pytest.raises(BadRequest, match="Message to edit not found"):
        run(double, lambda bot: bot.edit_message_text("x", USER, 999))
    assert double.violations == ["editMessageText: message to edit not found (chat 42, message 999)"]


def test_send_to_unknown_chat_is_refused(double: BotApiDouble) -> None:
    """A chat no update came from is "chat not found"."""
    with pytest.raises(BadRequest, match="Chat not found"):
        run(double, lambda bot: bot.send_message(777, "hi"))
    assert len(double.violations) == 1


def test_callback_query_is_answered_once(double: BotApiDouble) -> None:
    """A pressed button yields a callback query the bot may answer once, not twice."""

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "Choix", reply_markup=keyboard(
            InlineKeyboardButton("Oui", callback_data="yes")))
        double.press_button(USER, sent.message_id, "yes")
        updates = await bot.get_updates(offset=0)
        query = updates[-1].callback_query
        assert query is not None and query.data == "yes"
        await bot.answer_callback_query(query.id, text="C'est noté")
        await bot.answer_callback_query(query.id)

    with pytest.raises(BadRequest, match="Query is too old"):
        run(double, scenario)
    assert double.unanswered_callback_queries == []
    assert "was already answered" in double.violations[0]


def test_long_poll_returns_a_pushed_update_and_honours_offset(double: BotApiDouble) -> None:
    """A long poll returns an update pushed meanwhile, and an offset confirms earlier ones."""

    async def scenario(bot: Bot) -> tuple[list[int], list[int], float, list[int]]:
        first = [u.update_id for u in await bot.get_updates(timeout=dtm.timedelta(seconds=5))]
        threading.Timer(0.2, double.send_text, args=(USER, "encore")).start()
        started = time.monotonic()
        waited = [u.update_id for u in await bot.get_updates(offset=first[-1] + 1,
                                                             timeout=dtm.timedelta(seconds=5))]
        elapsed = time.monotonic() - started
        again = [u.update_id for u in await bot.get_updates(offset=waited[-1] + 1)]
        return first, waited, elapsed, again

    first, waited, elapsed, again = run(double, scenario)
    assert len(first) == 1 and len(waited) == 1 and waited[0] > first[0]
    assert 0.1 < elapsed < 0.9  # answered on arrival, not at the end of the poll
    assert again == []
    assert double.violations == []


def test_wait_reply_sees_the_answer_to_an_update(double: BotApiDouble) -> None:
    """wait_reply returns the send that followed the bot fetching the update."""

    async def scenario(bot: Bot) -> None:
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.text == "/start"
        await update.message.reply_text("Bienvenue")

    run(double, scenario)
    assert double.wait_reply(USER, timeout=1).params["text"] == "Bienvenue"


def test_take_update_hands_a_queued_update_over_as_a_webhook_push(double: BotApiDouble) -> None:
    """take_update removes an update from the getUpdates queue (the last, or the one named), and
    a reply after it counts as its reply.
    """
    assert double.take_update()["message"]["text"] == "/start"  # the fixture's
    first = double.send_text(USER, "un")
    second = double.send_text(USER, "deux")
    assert double.take_update(first)["message"]["text"] == "un"
    assert double.take_update()["update_id"] == second
    with pytest.raises(ValueError, match="no update is queued"):
        double.take_update()
    with pytest.raises(ValueError, match=f"update {first} is not queued"):
        double.take_update(first)

    async def scenario(bot: Bot) -> list[Update]:
        await bot.send_message(USER, "Réponse")
        return list(await bot.get_updates())

    assert run(double, scenario) == []  # nothing left for a long poll
    assert double.wait_reply(USER, second, timeout=1).params["text"] == "Réponse"


def test_each_api_root_names_its_client(double: BotApiDouble) -> None:
    """Calls through api_root_for(name) carry that name; calls through the plain root, none."""

    async def scenario(bot: Bot) -> None:
        await bot.send_message(USER, "plain")

    run(double, scenario)

    async def named() -> None:
        async with Bot(double.token, base_url=double.api_root_for("web-a") + "/bot") as bot:
            await bot.send_message(USER, "named")

    asyncio.run(named())
    sends = {c.params["text"]: c.client for c in double.calls_to("sendMessage")}
    assert sends == {"plain": None, "named": "web-a"}
    with pytest.raises(ValueError, match="a client name is"):
        double.api_root_for("a/b")


def test_command_gets_its_entity() -> None:
    """A /command, with or without @botname, carries a bot_command entity at offset 0."""
    with BotApiDouble() as double:
        double.send_text(USER, "/aide@careerbot_test_bot concours", chat_type="group")
        [update] = asyncio.run(_fetch(double))
    assert update["message"]["chat"]["id"] == -USER
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 24}]


async def _fetch(double: BotApiDouble) -> list[dict[str, Any]]:
    async with Bot(double.token, base_url=double.base_url) as bot:
        return [update.to_dict() for update in await bot.get_updates()]


def test_retry_after_from_429(double: BotApiDouble) -> None:
    """fail_next(429, retry_after=1) makes the Bot raise RetryAfter(1 s); the next call passes."""
    double.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as raised:
        run(double, lambda bot: bot.send_message(USER, "hi"))
    assert raised.value.retry_after == dtm.timedelta(seconds=1)
    run(double, lambda bot: bot.send_message(USER, "hi"))
    assert [c.status for c in double.calls_to("sendMessage")] == [429, 200]
    assert double.violations == []


def test_forbidden_from_403(double: BotApiDouble) -> None:
    """fail_next(403) makes the Bot raise Forbidden, as when the user blocked the bot."""
    double.fail_next("sendMessage", 403, chat_id=USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        run(double, lambda bot: bot.send_message(USER, "hi"))
    assert double.violations == []


def test_blocked_user_gives_403(double: BotApiDouble) -> None:
    """After my_chat_member(kicked), sends to that user are Forbidden (not a violation)."""
    double.my_chat_member(USER, "kicked")
    with pytest.raises(Forbidden):
        run(double, lambda bot: bot.send_message(USER, "hi"))
    assert double.violations == []


def test_wrong_token_is_unauthorized(double: BotApiDouble) -> None:
    """A token other than the double's gets 401, which PTB reports as InvalidToken."""

    async def scenario() -> None:
        async with Bot("999:WRONG", base_url=double.base_url):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(scenario())


def test_unknown_method_is_400(double: BotApiDouble) -> None:
    """An unknown method is a 400 (a 404 would read as a bad token); a real one not served is named."""
    assert refused(double, lambda bot: api_request(bot, "sendMesage", chat_id=USER)) == \
        "unknown method 'sendMesage'"
    double.violations.clear()
    violation = refused(double, lambda bot: api_request(bot, "sendVideo", chat_id=USER, video="x"))
    assert violation.startswith("sendVideo: method not served by the test double")


def test_inline_query_results_are_checked(double: BotApiDouble) -> None:
    """Inline results are validated by subtype: ids unique, message_text parsed as HTML."""
    double.inline_query(USER, "concours")
    results = [InlineQueryResultArticle("1", "A", TextContent("<b>ok</b>", parse_mode="HTML")),
               InlineQueryResultArticle("1", "B", TextContent("a<p>b", parse_mode="HTML"))]

    async def scenario(bot: Bot) -> None:
        query = (await bot.get_updates())[-1].inline_query
        assert query is not None
        await bot.answer_inline_query(query.id, results)

    with pytest.raises(BadRequest):
        run(double, scenario)
    assert any("duplicate result id '1'" in v for v in double.violations)
    assert any("results[1].input_message_content.message_text" in v and '"p"' in v for v in double.violations)


def test_commands_round_trip_and_limits(double: BotApiDouble) -> None:
    """The commands set are the commands got back; an upper-case command is refused."""

    async def scenario(bot: Bot) -> Any:
        await bot.set_my_commands([("aide", "Comment me poser une question")])
        commands = await bot.get_my_commands()
        await bot.set_my_commands([("Aide", "x")])
        return commands

    with pytest.raises(BadRequest):
        run(double, scenario)
    assert double.commands[('{"type": "default"}', "")] == [
        {"command": "aide", "description": "Comment me poser une question"}]
    assert double.violations == ["setMyCommands: commands[0].command: 'Aide' must be 1-32 characters of a-z, "
                                 "0-9 and _"]


def test_spec_decodes_form_values_and_checks_unions() -> None:
    """Form strings are read by declared type; a union and an abstract type pick the right branch."""
    spec = Spec.load()
    params, problems = spec.validate("sendMessage", {"chat_id": "42", "text": "123",
                                                     "reply_markup": '{"remove_keyboard": true}'})
    assert problems == [] and params["chat_id"] == 42 and params["text"] == "123"
    _, problems = spec.validate("setMyCommands", {"commands": "[]", "scope": '{"type": "everywhere"}'})
    assert problems == ["setMyCommands: scope: type 'everywhere' is not a kind of BotCommandScope (expected "
                        "one of all_chat_administrators, all_group_chats, all_private_chats, chat, "
                        "chat_administrators, chat_member, default)"]
    _, problems = spec.validate("setMyCommands", {"commands": "[]", "scope": '{"type": "chat"}'})
    assert problems == ["setMyCommands: scope: BotCommandScopeChat misses required field 'chat_id'"]
    _, problems = spec.validate("deleteMessage", {"chat_id": "42", "message_id": "1.5"})
    assert problems == ["deleteMessage: message_id: expected Integer, got string '1.5'"]


def test_json_bodies_and_query_strings_are_accepted(double: BotApiDouble) -> None:
    """Besides PTB's forms, a JSON body and a GET query string reach the same checks."""
    root = f"{double.api_root}/bot{double.token}"
    request = urllib.request.Request(f"{root}/sendMessage", method="POST",
                                     data=json.dumps({"chat_id": USER, "text": "json"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.load(answer)["result"]["text"] == "json"
    with urllib.request.urlopen(f"{root}/getMe?", timeout=5) as answer:
        assert json.load(answer)["result"]["username"] == "careerbot_test_bot"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{root}/sendMessage?chat_id={USER}", timeout=5)
    assert raised.value.code == 400
    raised.value.close()
    assert double.violations == ["sendMessage: missing required field 'text'"]


def test_pushed_update_teaches_the_chat(double: BotApiDouble) -> None:
    """A hand-made update makes its chat known, so the bot may answer there."""
    group = {"id": -100123, "type": "supergroup", "title": "Concours"}
    sender = {"id": 7, "is_bot": False, "first_name": "Ana"}
    double.push_update({"message": {"message_id": 5, "date": 0, "chat": group, "from": sender, "text": "?"}})
    message = run(double, lambda bot: bot.send_message(-100123, "!", reply_to_message_id=5))
    assert message.message_id == 6 and message.reply_to_message is not None
    assert double.violations == []


def test_rate_limit_answers_429(double: BotApiDouble) -> None:
    """Sends beyond the allowed rate get 429 with a retry_after, without a violation."""
    double.rate_limit(1)

    async def scenario(bot: Bot) -> None:
        await bot.send_message(USER, "un")
        await bot.send_message(USER, "deux")

    with pytest.raises(RetryAfter):
        run(double, scenario)
    assert [c.status for c in double.calls_to("sendMessage")] == [200, 429]
    assert double.violations == []


async def send_each(bot: Bot, chats: list[int], times: int = 1) -> None:
    """Send to every chat in turn, `times` rounds, ignoring the errors the double answers."""
    for _ in range(times):
        for chat in chats:
            with contextlib.suppress(Forbidden, RetryAfter, NetworkError):
                await bot.send_message(chat, "annonce")


def failed_calls(double: BotApiDouble) -> list[tuple[int, int]]:
    """(chat, n-th send to that chat) of every sendMessage the double failed."""
    seen: dict[int, int] = {}
    failed = []
    for call in double.calls_to("sendMessage"):
        chat = call.params["chat_id"]
        if not call.ok:
            failed.append((chat, seen.get(chat, 0)))
        seen[chat] = seen.get(chat, 0) + 1
    return failed


def test_fail_fraction_per_chat_fails_every_send_to_the_picked_chats(double: BotApiDouble) -> None:
    """per="chat" answers 403 to every send to the chats chosen() picks, and only to them."""
    chats = [70_000 + i for i in range(120)]
    for chat in chats:
        double.my_chat_member(chat, "member")
    double.fail_fraction("sendMessage", 403, 0.1, seed=7, per="chat")
    run(double, lambda bot: send_each(bot, chats, times=2))
    picked = [chat for chat in chats if chosen(7, 0.1, chat)]
    assert 3 <= len(picked) <= 30
    assert failed_calls(double) == [(chat, n) for n in (0, 1) for chat in picked]
    failed = [c for c in double.calls_to("sendMessage") if not c.ok]
    assert {(c.status, c.fault, c.result) for c in failed} == {
        (403, "fail_fraction", "Forbidden: bot was blocked by the user")}
    assert double.messages_to(picked[0]) == []  # an error answer delivers nothing
    assert double.violations == []


def test_fail_fraction_per_request_depends_on_chat_and_count_only(double: BotApiDouble) -> None:
    """per="request" fails the n-th send to a chat when chosen(seed, f, chat, n); other chats pass."""
    chats = [71_000 + i for i in range(8)]
    for chat in chats:
        double.my_chat_member(chat, "member")
    double.fail_fraction("sendMessage", 502, 0.3, seed=3, chats=chats)
    run(double, lambda bot: send_each(bot, [*chats, USER], times=5))
    expected = sorted((chat, n) for chat in chats for n in range(5) if chosen(3, 0.3, chat, n))
    assert expected and sorted(failed_calls(double)) == expected
    assert {c.result for c in double.calls_to("sendMessage") if not c.ok} == {"Bad Gateway"}
    assert all(c.ok for c in double.calls_to("sendMessage") if c.params["chat_id"] == USER)


def test_flood_wait_and_requests_inside_retry_windows(double: BotApiDouble) -> None:
    """flood_wait answers 429 to every send for its duration; a send made within a retry_after
    is reported by requests_in_retry_windows(), one made after it is not.
    """
    double.fail_fraction("sendMessage", 403, 0.0, seed=1)  # never picks: the floods alone decide
    double.flood_wait(2, 2)

    async def scenario(bot: Bot) -> list[int]:
        await bot.send_message(USER, "un")
        retry_afters = []
        for _ in range(2):
            with pytest.raises(RetryAfter) as raised:
                await bot.send_message(USER, "deux")
            retry_after = raised.value.retry_after
            assert isinstance(retry_after, dtm.timedelta)
            retry_afters.append(int(retry_after.total_seconds()))
        await bot.get_updates()  # the long poll is not governed by flood control
        await asyncio.sleep(2.05)
        await bot.send_message(USER, "trois")
        return retry_afters

    assert run(double, scenario) == [2, 2]
    sends = double.calls_to("sendMessage")
    assert [(c.status, c.retry_after, c.fault) for c in sends] == [
        (200, None, None), (429, 2, "flood_wait"), (429, 2, "flood_wait"), (200, None, None)]
    assert [(told.index, call.index) for told, call in double.requests_in_retry_windows()] == [
        (sends[1].index, sends[2].index)]
    assert double.violations == []


def test_a_burst_of_connections_is_answered_at_once(double: BotApiDouble) -> None:
    """32 requests opened together are all answered promptly (none waits for a resent SYN)."""
    url = f"{double.api_root}/bot{double.token}/getMe"

    def one(_: int) -> float:
        started = time.monotonic()
        with urllib.request.urlopen(url, timeout=5) as answer:
            answer.read()
        return time.monotonic() - started

    for _ in range(2):
        with ThreadPoolExecutor(max_workers=32) as pool:
            assert max(pool.map(one, range(32))) < 0.5


def test_delay_makes_the_client_time_out(double: BotApiDouble) -> None:
    """delay_next holds an answer past the client's read timeout."""
    double.delay_next("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        run(double, lambda bot: bot.send_message(USER, "lent", read_timeout=0.1))


def test_application_polls_and_replies_end_to_end() -> None:
    """A real Application polling the double answers a /start command and a button press."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        markup = keyboard(InlineKeyboardButton("Aide", callback_data="help"))
        await update.message.reply_text("<b>Bonjour</b>", parse_mode="HTML", reply_markup=markup)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Posez votre question.")

    async def scenario(double: BotApiDouble) -> tuple[Call, Call]:
        app = ApplicationBuilder().token(double.token).base_url(double.base_url).build()
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(pressed))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
            greeting = await double.wait_reply_async(USER, double.send_text(USER, "/start"))
            edit = await double.wait_reply_async(
                USER, double.press_button(USER, greeting.result["message_id"], "help"))
            await app.updater.stop()
            await app.stop()
        return greeting, edit

    with BotApiDouble() as double:
        greeting, edit = asyncio.run(scenario(double))
    assert (greeting.method, edit.method) == ("sendMessage", "editMessageText")
    assert double.messages_to(USER)[0].text == "Posez votre question."
    assert double.unanswered_callback_queries == []
    double.assert_no_violations()
