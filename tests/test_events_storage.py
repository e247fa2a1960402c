"""Events added from Telegram, on a real database: stored, merged, edited, cancelled, and their
reminders moved or dropped; a fake clock drives the reminders.

Every test runs on an SQLite file and on PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from careerbot.agenda import Agenda
from careerbot.announcing import Announcing, create_reminders, event_audience, refresh
from careerbot.event_drafting import Step
from careerbot.faq import Event, Faq
from careerbot.faq_loader import load_faq
from careerbot.french_dates import PARIS
from careerbot.storage import events, outbox, subscribers
from careerbot.storage.database import migrate, open_engine, sessions
from tests.conftest import FIXTURES, REPO
from tests.test_storage import fresh, run

pytestmark = pytest.mark.usefixtures("backend")

NOW = datetime(2030, 3, 11, 19, 0, tzinfo=UTC)  # the fake clock: the evening before
AHEAD = timedelta(hours=24)


def evening(event_id: str = "soiree-2030-03-12", *, hours: float = 22.5,
            tags: tuple[str, ...] = ("concours",)) -> Event:
    """An event starting `hours` after NOW, for two hours."""
    start = (NOW + timedelta(hours=hours)).astimezone(PARIS)
    return Event(event_id, "Soirée des futurs agents", start, start + timedelta(hours=2),
                 "Paris", "https://fp21.fr/soiree", tags, "Rencontre avec de jeunes agents.",
                 region="ile-de-france")


async def followers(db: Any) -> None:
    """Chat 1 follows events, 2 the event's topic, 3 something else."""
    for chat, topics in ((1, ["evenements"]), (2, ["concours"]), (3, ["alternance"])):
        await subscribers.subscribe(db, chat, "fr", topics)


async def recipients(db: Any, broadcast: int) -> list[int]:
    """Who a broadcast's deliveries go to."""
    from sqlalchemy import select

    from careerbot.storage.models import Delivery
    async with db() as session:
        return sorted(await session.scalars(select(Delivery.chat_id)
                                            .where(Delivery.broadcast_id == broadcast)))


def test_stored_events_come_back_in_paris_time_and_ids_are_unique(tmp_path: Path) -> None:
    """An event reads back as written (Paris time), a taken id is refused, and the fingerprint
    changes with every write.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        before = await events.stamp(db)
        stored = await events.add(db, evening(), owner=42)
        assert stored is not None and stored.number and stored.revision == 1
        assert await events.add(db, evening(), owner=42) is None
        assert await events.live(db) == (evening(),)
        assert (await events.live(db))[0].start.utcoffset() == timedelta(hours=1)
        assert await events.stamp(db) != before
        after_add = await events.stamp(db)
        assert await events.change(db, stored.number, 1, evening(hours=30))
        assert await events.stamp(db) != after_add
        assert not await events.change(db, stored.number, 1, evening())  # stale revision
        await engine.dispose()
    run(scenario)


def test_moving_an_event_moves_its_reminder_once(tmp_path: Path) -> None:
    """A reminder not yet sent is cancelled when its event moves; the new date gets one reminder,
    once, at its own time.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await followers(db)
        stored = await events.add(db, evening(), owner=42)
        assert stored is not None
        agenda = Agenda(stored=await events.live(db))
        first = await create_reminders(db, agenda, NOW, AHEAD)
        assert len(first) == 1 and await recipients(db, first[0]) == [1, 2]
        assert await events.change(db, stored.number, 1, evening(hours=72))  # three days later
        summary = await outbox.summary(db, first[0])
        assert summary is not None and summary.state == "cancelled" and summary.kind != "reminder"
        agenda.stored = await events.live(db)
        assert await create_reminders(db, agenda, NOW, AHEAD) == []  # not due yet
        later = NOW + timedelta(hours=60)
        moved = await create_reminders(db, agenda, later, AHEAD)
        assert len(moved) == 1 and await recipients(db, moved[0]) == [1, 2]
        new = await outbox.summary(db, moved[0])
        assert new is not None and "Rappel" in new.text
        assert await create_reminders(db, agenda, later, AHEAD) == []
        assert await create_reminders(db, agenda, later + timedelta(hours=1), AHEAD) == []
        await engine.dispose()
    run(scenario)


def test_cancelling_drops_the_reminder_and_tells_exactly_its_audience(tmp_path: Path) -> None:
    """Cancelling with notice stops the queued reminder and queues one notice to those the
    reminder was for; a second cancel (a double tap) changes nothing and sends nothing more.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await followers(db)
        event = evening()
        stored = await events.add(db, event, owner=42)
        assert stored is not None
        reminder = await create_reminders(db, Agenda(stored=[event]), NOW, AHEAD)
        audience = await event_audience(db, event)
        assert audience == [1, 2]
        done, notice = await events.cancel(db, stored.number, 1, notice="❌ Annulé",
                                           audience=audience)
        assert done and notice is not None
        assert await recipients(db, notice) == [1, 2]
        summary = await outbox.summary(db, notice)
        assert summary is not None and summary.state == "sending" and summary.total == 2
        old = await outbox.summary(db, reminder[0])
        assert old is not None and old.state == "cancelled"
        assert await events.cancel(db, stored.number, 1, notice="❌ Annulé",
                                   audience=audience) == (False, None)
        assert await events.cancel(db, stored.number, 2, notice="❌ Annulé",
                                   audience=audience) == (False, None)
        assert await events.live(db) == ()
        agenda = Agenda(stored=await events.live(db))
        assert await create_reminders(db, agenda, NOW, AHEAD) == []
        await engine.dispose()
    run(scenario)


def test_cancelling_quietly_before_any_reminder(tmp_path: Path) -> None:
    """Without notice nothing is queued; with notice before the reminder exists, the notice goes
    to the reminder's would-be audience.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await followers(db)
        quiet = await events.add(db, evening("a-2030-03-12"), owner=42)
        told = await events.add(db, evening("b-2030-03-12"), owner=42)
        assert quiet is not None and told is not None
        assert await events.cancel(db, quiet.number, 1, notice=None, audience=[1, 2]) == (
            True, None)
        done, notice = await events.cancel(db, told.number, 1, notice="x",
                                           audience=await event_audience(db, told.event))
        assert done and notice is not None and await recipients(db, notice) == [1, 2]
        await engine.dispose()
    run(scenario)


def test_a_reminder_made_from_a_stale_agenda_is_not_sent(tmp_path: Path) -> None:
    """An instance whose agenda still holds an event cancelled or moved a moment ago creates its
    reminder but does not confirm it: nobody gets a reminder of a cancelled event.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await followers(db)
        cancelled = await events.add(db, evening("a-2030-03-12"), owner=42)
        moved = await events.add(db, evening("b-2030-03-12"), owner=42)
        assert cancelled is not None and moved is not None
        stale = Agenda(stored=await events.live(db))
        await events.cancel(db, cancelled.number, 1, notice=None, audience=[])
        await events.change(db, moved.number, 1, evening("b-2030-03-12", hours=20))
        assert await create_reminders(db, stale, NOW, AHEAD) == []
        fresh_agenda = Agenda(stored=await events.live(db))
        made = await create_reminders(db, fresh_agenda, NOW, AHEAD)
        assert len(made) == 1
        assert (await outbox.summary(db, made[0])).event_id == "b-2030-03-12"  # type: ignore[union-attr]
        await engine.dispose()
    run(scenario)


def test_the_agenda_merges_files_and_database(tmp_path: Path) -> None:
    """The agenda lists both, past ones as past; the same id in both is reported, and the file's
    event is shown.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        faq, _ = load_faq(FIXTURES / "faq")
        announcing = Announcing(db, frozenset({42}), faq)
        await events.add(db, evening(hours=20), owner=42)  # before the file's 2030 evening
        await events.add(db, evening("soiree-2030"), owner=42)  # the fixture file's id
        await events.add(db, evening("hier-2030-03-10", hours=-24), owner=42)  # over
        await refresh(announcing)
        agenda = announcing.agenda
        assert [e.id for e in agenda.events] == ["mission-quebec-2019", "soiree-2030",
                                                "hier-2030-03-10", "soiree-2030-03-12"]
        assert agenda.clashes() == ["soiree-2030"]
        assert agenda.find("soiree-2030") == faq.events[1]
        assert agenda.is_stored("soiree-2030-03-12")
        assert [e.id for e in agenda.upcoming(NOW)] == ["soiree-2030-03-12", "soiree-2030"]
        assert [e.id for e in agenda.past(NOW)] == ["hier-2030-03-10", "mission-quebec-2019"]
        await engine.dispose()
    run(scenario)


def test_drafts_are_stored_replaced_and_compared_before_saving(tmp_path: Path) -> None:
    """A new draft replaces the open one; a save from a stale read is refused."""
    from dataclasses import replace

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        first = await events.start_draft(db, 42)
        assert first.step is Step.TITLE and await events.current_draft(db, 42) == first
        second = await events.start_draft(db, 42)
        old = await events.get_draft(db, first.id)
        assert old is not None and old.step is Step.REPLACED
        titled = replace(second, title="Soirée", step=Step.WHEN, version=2)
        assert await events.save_draft(db, second, titled)
        assert not await events.save_draft(db, second, titled)  # a double tap: read before
        assert await events.current_draft(db, 42) == titled
        editing = await events.start_draft(db, 42, editing=evening())
        assert editing.step is Step.CHOOSE and editing.target == "soiree-2030-03-12"
        assert editing.start == evening().start and editing.tags == {"concours"}
        await events.close_drafts(db, 42)
        assert await events.current_draft(db, 42) is None
        await engine.dispose()
    run(scenario)


def test_export_writes_the_events_yaml_format(tmp_path: Path, backend: str) -> None:
    """`careerbot events export` writes the stored events as events.yaml: valid against the
    schema, and loadable as a FAQ's events with the same values (cancelled ones left out).
    """
    if backend != "sqlite":
        pytest.skip("the command is run on its SQLite file; storage is tested on both above")
    data = tmp_path / "data"

    async def seed() -> None:
        engine = open_engine(f"sqlite+aiosqlite:///{data}/careerbot.db")
        data.mkdir()
        await migrate(engine)
        db = sessions(engine)
        await events.add(db, evening(), owner=42)
        gone = await events.add(db, evening("annule-2030-03-12"), owner=42)
        assert gone is not None
        await events.cancel(db, gone.number, 1, notice=None, audience=[])
        await engine.dispose()
    run(seed)
    target = tmp_path / "faq"
    shutil.copytree(FIXTURES / "faq", target)
    output = target / "events.yaml"
    done = subprocess.run([str(Path(sys.executable).parent / "careerbot"), "events", "export",
                           str(output)], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "CAREERBOT_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"careerbot : 1 événement(s) écrit(s) dans {output}\n"
    exported = yaml.safe_load(output.read_text(encoding="utf-8"))
    schema = json.loads((REPO / "careerbot/schemas/events.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(exported)
    faq: Faq = load_faq(target)[0]
    assert faq.events == (evening(),)
