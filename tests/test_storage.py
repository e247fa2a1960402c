"""Storage on a real database: migrations, subscriptions, reminders, privacy of the files.

Every test runs on an SQLite file and on PostgreSQL, one fresh database per test (see
tests/databases.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from careerbot.storage import outbox, subscribers
from careerbot.storage.database import (
    MIGRATIONS,
    current_revision,
    head_revision,
    migrate,
    open_engine,
    sessions,
)
from tests import databases
from tests.databases import database_url

T = TypeVar("T")
pytestmark = pytest.mark.usefixtures("backend")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine (pytest-asyncio is not a dependency)."""
    return asyncio.run(factory())  # type: ignore[arg-type]


async def fresh(tmp_path: Path) -> Any:
    """A migrated database (the same one again after a simulated restart) and its sessions."""
    engine = open_engine(await database_url(tmp_path))
    await migrate(engine)
    return engine, sessions(engine)


def earlier_revisions() -> list[str]:
    """Every revision but the head, oldest first."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions()))][:-1]


def test_migrations_from_empty_and_from_each_revision(tmp_path: Path) -> None:
    """Upgrading an empty database, and one at every earlier revision, reaches the same schema."""
    async def scenario() -> None:
        for start in (None, *earlier_revisions()):
            folder = tmp_path / (start or "empty")
            engine = open_engine(await database_url(folder))
            if start:
                await migrate(engine, start)
                assert await current_revision(engine) == start
            await migrate(engine)
            assert await current_revision(engine) == head_revision()
            async with engine.connect() as connection:
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"subscribers", "subscriptions", "broadcasts", "deliveries", "unanswered",
                    "feedback", "updates_seen", "leases", "instances", "buckets", "requests",
                    "subscriber_regions", "daily_counts", "subscriber_counts",
                    "digests", "events", "event_drafts"} <= tables
            await engine.dispose()
    run(scenario)


MIGRATE = """
import asyncio, sys
from careerbot.storage.database import migrate, open_engine

async def main():
    engine = open_engine(sys.argv[1])
    await migrate(engine)
    await engine.dispose()

asyncio.run(main())
"""


def test_instances_starting_together_migrate_once(tmp_path: Path, backend: str) -> None:
    """Four processes migrating one empty PostgreSQL database at once all succeed (as several
    instances do on a first deployment).
    """
    if backend != databases.POSTGRESQL:
        pytest.skip("one SQLite file serves one instance")
    url = run(lambda: database_url(tmp_path))
    starts = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE,
                               text=True) for _ in range(4)]
    errors = [process.communicate(timeout=60)[1] for process in starts]
    assert [process.returncode for process in starts] == [0] * 4, errors

    async def revision() -> str | None:
        engine = open_engine(url)
        found = await current_revision(engine)
        await engine.dispose()
        return found

    assert run(revision) == head_revision()


def test_subscribe_topics_audience_and_forget(tmp_path: Path) -> None:
    """Topics select the audience; 'all' gets everything; forget erases every row of a chat."""
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await subscribers.subscribe(db, 1, "fr", ["all"])
        await subscribers.subscribe(db, 2, "fr", ["concours"])
        await subscribers.subscribe(db, 3, "en", ["alternance"])
        assert sorted(await subscribers.audience(db, [])) == [1, 2, 3]
        assert sorted(await subscribers.audience(db, ["concours"])) == [1, 2]
        await subscribers.subscribe(db, 2, "fr", ["alternance"])  # replaces the topics
        assert await subscribers.topics_of(db, 2) == {"alternance"}
        broadcast = await outbox.create(db, "hello")
        await outbox.confirm(db, broadcast)
        await subscribers.forget(db, 2)
        assert await subscribers.topics_of(db, 2) is None
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.total == 2  # chat 2's delivery row is gone too
        assert await subscribers.unsubscribe(db, 3) is True
        assert await subscribers.unsubscribe(db, 3) is False
        await engine.dispose()
    run(scenario)


def test_reminders_are_created_once_even_across_restarts(tmp_path: Path) -> None:
    """An event's reminder is queued once for its followers, however often the check runs."""
    from datetime import UTC, datetime, timedelta

    from careerbot.agenda import Agenda
    from careerbot.announcing import create_reminders
    from careerbot.faq import Event

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await subscribers.subscribe(db, 1, "fr", ["evenements"])
        await subscribers.subscribe(db, 2, "fr", ["alternance"])
        now = datetime(2030, 3, 11, 20, 0, tzinfo=UTC)
        soon = Event("soiree", "Soirée", now + timedelta(hours=20), now + timedelta(hours=23),
                     "Paris", "https://fp21.fr/", ("fp21",), "Rencontre.")
        later = Event("plus-tard", "Plus tard", now + timedelta(days=9),
                      now + timedelta(days=9, hours=2), "Lyon", "https://fp21.fr/", (), "x")
        faq = Agenda((soon, later))
        first = await create_reminders(db, faq, now, timedelta(hours=24))
        await engine.dispose()
        engine, db = await fresh(tmp_path)  # a restart
        assert await create_reminders(db, faq, now, timedelta(hours=24)) == []
        assert len(first) == 1
        summary = await outbox.summary(db, first[0])
        assert summary is not None and summary.total == 1  # only the events follower
        # Stopped between creating a reminder and confirming it: the next check confirms it.
        other = Event("autre", "Autre", now + timedelta(hours=5), now + timedelta(hours=6),
                      "Lille", "https://fp21.fr/", (), "x")
        stuck = await outbox.create(db, "rappel", ["evenements"], kind="reminder", event_id="autre")
        with_other = Agenda((soon, other))
        assert await create_reminders(db, with_other, now, timedelta(hours=24)) == [stuck]
        assert await create_reminders(db, with_other, now, timedelta(hours=24)) == []
        await engine.dispose()
    run(scenario)


def test_sqlite_files_are_private_and_forget_leaves_no_bytes(tmp_path: Path, backend: str) -> None:
    """data/ is 0700, the database and its WAL 0600; after forget the chat id is in no file."""
    if backend != databases.SQLITE:
        pytest.skip("file permissions and bytes are SQLite's")
    chat_id = 0x5A17C0DE42  # five distinctive bytes, stored big-endian by SQLite
    needle = chat_id.to_bytes(6, "big").lstrip(b"\0")

    async def scenario() -> None:
        engine, db = await fresh(tmp_path / "data")
        for other in range(100, 140):
            await subscribers.subscribe(db, other, "fr", ["all"])
        await subscribers.subscribe(db, chat_id, "fr", ["concours", "alternance"])
        broadcast = await outbox.create(db, "hello")
        await outbox.confirm(db, broadcast)
        files = sorted((tmp_path / "data").iterdir())
        assert any(needle in path.read_bytes() for path in files)
        await subscribers.forget(db, chat_id)
        # As a running bot sees them: the database still open, its WAL still there.
        files = sorted((tmp_path / "data").iterdir())
        assert [path.name for path in files if needle in path.read_bytes()] == []
        assert {path.name for path in files} >= {"careerbot.db", "careerbot.db-wal"}
        assert {path.name: path.stat().st_mode & 0o777 for path in files} == {
            path.name: 0o600 for path in files}
        await engine.dispose()

    run(scenario)
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def test_an_announcement_without_topics_says_it_goes_to_everyone(tmp_path: Path) -> None:
    """`careerbot broadcast` without --topic stores the explicit choice the organisers' flow
    stores; a topic, or a reminder, does not.
    """
    from sqlalchemy import select

    from careerbot.storage.models import Broadcast

    async def scenario() -> list[bool]:
        engine, db = await fresh(tmp_path)
        ids = [await outbox.create(db, "à tous"), await outbox.create(db, "x", ["concours"]),
               await outbox.create(db, "rappel", [], kind="reminder", event_id="e")]
        async with db() as session:
            flags = [await session.scalar(select(Broadcast.everyone).where(Broadcast.id == i))
                     for i in ids]
        await engine.dispose()
        return [bool(flag) for flag in flags]

    assert run(scenario) == [True, False, False]
