"""The organisers' weekly digest: when it is due, what it says, and that it goes out once per week
across restarts (fake clock, the Bot API double, SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from careerbot import digest
from careerbot.conversation import Conversation
from careerbot.faq import Event
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from careerbot.reporting import Group
from careerbot.stats import PARIS, broadcast_label
from careerbot.storage import stats as stored
from careerbot.storage.database import migrate, open_engine, sessions
from careerbot.storage.models import Unanswered
from careerbot.telegram.digest import DigestJob, send_digest_if_due
from tests.botapi.server import BotApiDouble
from tests.chart_png import png_size
from tests.conftest import FIXTURES
from tests.databases import database_url

ORGANISERS = -100_200  # the organisers' group chat
MONDAY_0905 = datetime(2030, 3, 4, 9, 5, tzinfo=PARIS)


def test_due_from_monday_nine_to_the_end_of_wednesday() -> None:
    """Monday from 09:00 Paris time; catch-up on Tuesday and Wednesday; never Thursday to Sunday."""
    monday = datetime(2030, 3, 4, tzinfo=PARIS)
    assert not digest.due(monday.replace(hour=8, minute=59))
    assert digest.due(monday.replace(hour=9))
    assert digest.due(monday + timedelta(days=1, hours=3))
    assert digest.due(monday + timedelta(days=2, hours=23, minutes=59))
    for later in range(3, 7):
        assert not digest.due(monday + timedelta(days=later, hours=10))
    assert not digest.due(monday - timedelta(days=1) + timedelta(hours=10))  # Sunday


def test_every_kind_of_broadcast_is_named_for_organisers() -> None:
    """The last broadcasts of /stats (picture and text) say reminder, cancellation or
    announcement, including a reminder retired when its event moved.
    """
    named = {kind: broadcast_label(kind)
             for kind in ("announce", "reminder", "old-reminder", "cancellation")}
    assert named == {"announce": "annonce", "reminder": "rappel", "old-reminder": "rappel",
                     "cancellation": "annulation"}


def test_the_week_is_read_in_paris_time() -> None:
    """Sunday 23:30 UTC is already Monday in Paris: the new week's key, and due from 09:00 only."""
    sunday_night = datetime(2030, 3, 3, 23, 30, tzinfo=PARIS).astimezone(PARIS)
    assert digest.week_of(sunday_night) == "2030-W09"
    assert digest.week_of(sunday_night + timedelta(hours=1)) == "2030-W10"
    assert digest.week_of(datetime(2026, 12, 31, 12, tzinfo=PARIS)) == "2026-W53"


def test_clusters_text_fits_one_message_and_quotes_snippets() -> None:
    """Five groups of very long questions fit in one Telegram message, with escaped YAML."""
    groups = [Group(tuple(f"<question {n}> " + "très long " * 200 for _ in range(9)),
                    "concours-definition", 0.4) for n in range(8)]
    text = digest.clusters_text(groups)
    assert len(text) < 4096
    assert text.count("<pre>") == 5
    assert "&lt;question 0&gt;" in text and "<question" not in text
    assert "Aucune" in digest.clusters_text([])


def test_events_text_lists_the_coming_fortnight_only() -> None:
    """Events starting in the next 14 days, soonest first; past and later ones left out."""
    def event(id_: str, days: float) -> Event:
        start = MONDAY_0905 + timedelta(days=days)
        return Event(id_, f"Titre {id_}", start, start + timedelta(hours=2), "Paris",
                     "https://fp21.fr/", (), "")

    text = digest.events_text([event("b", 10), event("a", 1), event("past", -1),
                               event("later", 15)], MONDAY_0905)
    assert text.index("Titre a") < text.index("Titre b")
    assert "past" not in text and "later" not in text
    assert "Aucun" in digest.events_text([], MONDAY_0905)


def fixed(moment: datetime) -> Callable[[], datetime]:
    """A fake clock stopped at `moment`."""
    return lambda: moment


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    """The Bot API double, which knows the organisers' group (a message came from it)."""
    with BotApiDouble() as api:
        api.send_text(42, "bonjour", chat_id=ORGANISERS, chat_type="supergroup")
        yield api


def conversation() -> Conversation:
    """The mini FAQ's conversation (its event of 12 March 2030 is in the fortnight)."""
    faq, _ = load_faq(FIXTURES / "faq")
    return Conversation(faq, Matcher(faq, Settings.from_mapping(faq.matching)))


@pytest.mark.usefixtures("backend")
def test_the_digest_is_sent_once_across_a_restart(double: BotApiDouble, tmp_path: Path) -> None:
    """Two runs of the scheduler (a restart between them) at the same Monday 09:05 send one
    picture, one list of questions and one list of events; nothing on the Sunday before.
    """
    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine)
        db = sessions(engine)
        async with db.begin() as session:  # asked during the week before that Monday
            session.add_all(Unanswered(text=text, status="fallback",
                                       created_at=MONDAY_0905 - timedelta(days=2))
                            for text in ("comment devenir garde forestier",
                                         "devenir garde forestier ?",
                                         "garde forestier comment faire"))
            session.add(Unanswered(text="une vieille question", status="fallback",
                                   created_at=MONDAY_0905 - timedelta(days=9)))
        faq = conversation()
        sunday = MONDAY_0905 - timedelta(days=1)
        outcomes: list[bool] = []
        for now in (sunday, MONDAY_0905, MONDAY_0905):  # Sunday, then Monday twice
            async with Bot(double.token, base_url=double.base_url) as bot:  # a new process each
                job = DigestJob(db, ORGANISERS, f"instance-{len(outcomes)}", lambda: faq,
                                clock=fixed(now))
                outcomes.append(await send_digest_if_due(bot, job))
        assert outcomes == [False, True, False]
        assert await stored.digest_state(db, "2030-W10") == ("sent", 3)
        await engine.dispose()

    asyncio.run(scenario())
    photos = double.calls_to("sendPhoto")
    assert len(photos) == 1
    png = photos[0].params["photo"].data
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png_size(png) == (1125, 2400)
    assert "2030-W10" in photos[0].params["caption"]
    texts = [c.params["text"] for c in double.calls_to("sendMessage")]
    assert len(texts) == 2
    assert "le groupe de la semaine" in texts[0] and "<b>1. 3 × « " in texts[0]
    assert "alternatives:" in texts[0] and "vieille" not in texts[0]
    assert "Soirée des futurs agents" in texts[1]
    double.assert_no_violations()


@pytest.mark.usefixtures("backend")
def test_a_digest_cut_short_resumes_after_its_last_part(double: BotApiDouble,
                                                        tmp_path: Path) -> None:
    """A failure after the picture leaves the claim mid-way; 10 minutes later the next run sends
    only the parts still missing (the picture is not sent twice).
    """
    async def scenario() -> list[bool]:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine)
        db = sessions(engine)
        faq = conversation()
        outcomes: list[bool] = []
        double.fail_next("sendMessage", 400)
        for now in (MONDAY_0905, MONDAY_0905 + timedelta(minutes=5),
                    MONDAY_0905 + timedelta(minutes=16)):
            async with Bot(double.token, base_url=double.base_url) as bot:
                job = DigestJob(db, ORGANISERS, "worker", lambda: faq, clock=fixed(now))
                try:
                    outcomes.append(await send_digest_if_due(bot, job))
                except Exception:  # the worker's loop logs it and tries again a minute later
                    outcomes.append(False)
        assert await stored.digest_state(db, "2030-W10") == ("sent", 3)
        await engine.dispose()
        return outcomes

    assert asyncio.run(scenario()) == [False, False, True]
    assert len(double.calls_to("sendPhoto")) == 1
    assert [c.status for c in double.calls_to("sendMessage")] == [400, 200, 200]
