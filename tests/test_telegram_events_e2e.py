"""Events on Telegram with an upcoming event: list, link and calendar file, end to end."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from careerbot.storage import subscribers
from careerbot.storage.database import default_url, migrate, open_engine, sessions
from tests.botapi.server import BotApiDouble
from tests.conftest import FIXTURES
from tests.telegram_harness import running_bot

FOLLOWERS = {3001: ["evenements"], 3002: ["concours"], 3003: ["alternance"]}
AHEAD = str(24 * 365 * 10)  # hours: the 2030 evening counts as "tomorrow" for this test


def subscribe(data: Path, double: BotApiDouble) -> None:
    """Subscribers following events, the event's tag, and an unrelated topic."""
    async def write() -> None:
        engine = open_engine(default_url(data))
        await migrate(engine)
        for chat, topics in FOLLOWERS.items():
            await subscribers.subscribe(sessions(engine), chat, "fr", topics)
        await engine.dispose()
    asyncio.run(write())
    for chat in FOLLOWERS:
        double.my_chat_member(chat, "member")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bot's working directory (its database lives in data/ under it)."""
    return tmp_path_factory.mktemp("bot")


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, data: Path) -> Iterator[Path]:
    """The bot on the mini FAQ, whose 2030 evening is still to come, with reminders on."""
    subscribe(data / "data", double)
    with running_bot(double, FIXTURES / "faq", data,
                     {"CAREERBOT_REMINDER_HOURS": AHEAD}) as running:
        yield running.log
    double.assert_no_violations()


def reminders_received(double: BotApiDouble, chat: int) -> int:
    """How many reminders a chat got."""
    return sum(1 for m in double.messages_to(chat) if (m.text or "").startswith("⏰ Rappel"))


def test_reminder_once_to_matching_subscribers(double: BotApiDouble, bot: Path,
                                              data: Path) -> None:
    """Subscribers of events or of the event's tag get one reminder; others none."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            reminders_received(double, c) for c in (3001, 3002)):
        time.sleep(0.2)
    time.sleep(1.5)  # the reminder loop runs again meanwhile: still one each
    assert [reminders_received(double, c) for c in FOLLOWERS] == [1, 1, 0]
    with sqlite3.connect(data / "data" / "careerbot.db") as db:
        assert list(db.execute("select kind, event_id from broadcasts")) == [
            ("reminder", "soiree-2030")]


def test_upcoming_event_with_calendar_file(double: BotApiDouble, bot: Path) -> None:
    """/evenements lists the coming event; its button sends a valid .ics document."""
    update = double.send_text(2001, "/evenements")
    reply = double.wait_reply(2001, update)
    assert "Soirée des futurs agents</b>, 12 mars 2030 à 18h30, Paris" in reply.params["text"]
    mark = len(double.calls)
    double.press_button(2001, reply.result["message_id"], "1c:soiree-2030")
    sent = double.wait_for(lambda c: c.method == "sendDocument", since=mark)
    assert sent.ok
    document = double.messages_to(2001)[-1].document or {}
    assert document.get("file_name") == "soiree-2030.ics"


def test_answer_mentions_the_next_event_on_its_topic(double: BotApiDouble, bot: Path) -> None:
    """An answer whose tags match an upcoming event says when it is."""
    update = double.send_text(2002, "/start concours-definition")
    reply = double.wait_reply(2002, update)
    assert "📅 Prochain événement sur ce sujet : <b>Soirée des futurs agents</b>" in reply.params["text"]
