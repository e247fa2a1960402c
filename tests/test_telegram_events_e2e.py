"""Events on Telegram with an upcoming event: list, link and calendar file, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botapi.server import BotApiDouble
from tests.conftest import FIXTURES
from tests.telegram_harness import running_bot


@pytest.fixture(scope="module")
def double() -> Iterator[BotApiDouble]:
    """The Bot API test double."""
    with BotApiDouble() as api:
        yield api


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bot on the mini FAQ, whose 2030 evening is still to come."""
    with running_bot(double, FIXTURES / "faq", tmp_path_factory.mktemp("bot")) as log:
        yield log
    double.assert_no_violations()


def test_upcoming_event_with_calendar_file(double: BotApiDouble, bot: Path) -> None:
    """/evenements lists the coming event; its button sends a valid .ics document."""
    update = double.send_text(2001, "/evenements")
    reply = double.wait_reply(2001, update)
    assert "Soirée des futurs agents</b>, 12 mars 2030 à 18h30, Paris" in reply.params["text"]
    mark = len(double.calls)
    double.press_button(2001, reply.result["message_id"], "ics:soiree-2030")
    sent = double.wait_for(lambda c: c.method == "sendDocument", since=mark)
    assert sent.ok
    document = double.messages_to(2001)[-1].document or {}
    assert document.get("file_name") == "soiree-2030.ics"


def test_answer_mentions_the_next_event_on_its_topic(double: BotApiDouble, bot: Path) -> None:
    """An answer whose tags match an upcoming event says when it is."""
    update = double.send_text(2002, "/start concours-definition")
    reply = double.wait_reply(2002, update)
    assert "📅 Prochain événement sur ce sujet : <b>Soirée des futurs agents</b>" in reply.params["text"]
