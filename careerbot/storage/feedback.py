"""Anonymous records for maintainers: questions left unanswered, and answer ratings."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.privacy import TAG_KEPT, scrub
from careerbot.storage.database import engine_of
from careerbot.storage.models import Feedback, Unanswered

Sessions = async_sessionmaker[AsyncSession]
log = logging.getLogger("careerbot.feedback")
WRITE_AFTER = 0.5  # seconds an unanswered question waits, so that its neighbours join its batch
RETRY_AFTER = 5.0  # seconds before writing again when the database was away
MAX_WAITING = 10_000  # questions kept in memory while the database is away (the newest)
_KEEP = insert(cast(Table, Unanswered.__table__))  # Core: no ORM bulk-insert step


class UnansweredLog:
    """Unanswered questions written behind the reply, a batch at a time.

    A question costs the reply nothing: it is queued, and the questions of the next half
    second are written together in one transaction and one statement, where each had cost a
    transaction of its own in the reply's path. What reads them on this instance
    writes them first (`flush`); another instance sees them within `WRITE_AFTER` seconds, and
    a user's own "send it to the team" tap, or /oublier, comes later than that. A crash loses
    the last half second of questions kept for maintainers, not anything a user was promised.
    """

    def __init__(self, sessions: Sessions, delay: float = WRITE_AFTER) -> None:
        self.sessions = sessions
        self.delay = delay
        self.waiting: list[dict[str, Any]] = []
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def add(self, text: str, status: str, tag: str | None = None) -> None:
        """Queue a question: text only, no identity, and without the e-mail addresses or phone
        numbers it may contain. `tag` (privacy.user_tag) lets /oublier erase it for 30 days
        (`untag_old` drops it after that). Written within `delay` seconds.
        """
        self.waiting.append({"text": scrub(text[:1000]), "status": status,
                             "created_at": datetime.now(UTC), "tag": tag})
        del self.waiting[:-MAX_WAITING]
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_soon())

    async def _write_soon(self) -> None:
        delay = self.delay
        while True:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                return
            except Exception as error:  # the database is away: the questions wait in memory
                log.warning("unanswered questions not written yet (%s)", type(error).__name__)
                delay = RETRY_AFTER

    async def flush(self) -> None:
        """Write every queued question now (what was queued before this call is then stored)."""
        async with self._writing:
            batch, self.waiting = self.waiting, []
            if not batch:
                return
            try:
                async with engine_of(self.sessions).begin() as connection:
                    await connection.execute(_KEEP, batch)  # one statement for the batch
            except BaseException:
                self.waiting[:0] = batch
                raise

    async def forget(self, tag: str) -> None:
        """Drop a user's queued questions, and wait for a batch being written (it may hold
        theirs), so that erasing their stored ones afterwards leaves none.
        """
        self.waiting = [row for row in self.waiting if row["tag"] != tag]
        async with self._writing:
            pass

    async def close(self) -> None:
        """At a clean stop: write what is queued (after a batch being written, if any)."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def record_feedback(sessions: Sessions, entry_id: str, helpful: bool,
                          tag: str | None = None, message_id: int | None = None) -> None:
    """Keep a rating of an answer, without identity; with a tag and a message, the user's last
    rating of that message replaces the earlier ones.
    """
    now = datetime.now(UTC)
    try:
        async with sessions.begin() as session:
            if tag is not None and message_id is not None:
                await session.execute(delete(Feedback).where(Feedback.tag == tag,
                                                             Feedback.message_id == message_id))
            session.add(Feedback(entry_id=entry_id[:64], helpful=helpful, created_at=now,
                                 tag=tag, message_id=message_id))
    except IntegrityError:  # a simultaneous tap of the same user inserted first: update it
        async with sessions.begin() as session:
            await session.execute(update(Feedback).where(
                Feedback.tag == tag, Feedback.message_id == message_id).values(
                entry_id=entry_id[:64], helpful=helpful, created_at=now))


async def forget_tagged(sessions: Sessions, tag: str) -> None:
    """Erase the questions and ratings still linked to a user (those of the last 30 days)."""
    async with sessions.begin() as session:
        await _untag_old(session, datetime.now(UTC))  # older ones are no longer theirs
        await session.execute(delete(Unanswered).where(Unanswered.tag == tag))
        await session.execute(delete(Feedback).where(Feedback.tag == tag))


async def untag_old(sessions: Sessions) -> None:
    """Past 30 days a record no longer needs to find its user: its tag goes (hourly, and before
    each /oublier; not on every write, where it scanned the tables for every question kept).
    """
    async with sessions.begin() as session:
        await _untag_old(session, datetime.now(UTC))


async def _untag_old(session: AsyncSession, now: datetime) -> None:
    limit = now - TAG_KEPT
    await session.execute(update(Unanswered).where(Unanswered.tag.is_not(None),
                                                   Unanswered.created_at < limit).values(tag=None))
    await session.execute(update(Feedback).where(Feedback.tag.is_not(None),
                                                 Feedback.created_at < limit)
                          .values(tag=None, message_id=None))


async def unanswered(sessions: Sessions, limit: int = 5000,
                     since: datetime | None = None) -> list[tuple[str, str]]:
    """The latest unanswered questions (those kept after `since`, if given): (text, status)."""
    query = select(Unanswered.text, Unanswered.status)
    if since is not None:
        query = query.where(Unanswered.created_at >= since)
    async with sessions() as session:
        rows = await session.execute(query.order_by(Unanswered.id.desc()).limit(limit))
        return [(str(r[0]), str(r[1])) for r in rows]


async def ratings(sessions: Sessions) -> dict[str, tuple[int, int]]:
    """Per entry: (helpful, not helpful) votes."""
    async with sessions() as session:
        rows = await session.execute(
            select(Feedback.entry_id,
                   func.sum(case((Feedback.helpful, 1), else_=0)),
                   func.sum(case((Feedback.helpful, 0), else_=1)))
            .group_by(Feedback.entry_id))
        return {str(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows}


async def hand_to_team(sessions: Sessions, tag: str, *, cap: int = 3,
                       within: timedelta = timedelta(hours=1)) -> tuple[str, str | None]:
    """The user's latest unanswered question (of the last hour), to send to the organisers, and
    marked as sent: ("sent", text); ("nothing", None) when there is none left; ("capped", None)
    after `cap` questions in 24 hours. Any instance can answer: the record is in the database.
    """
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        row = await session.scalar(
            select(Unanswered)
            .where(Unanswered.tag == tag, Unanswered.forwarded_at.is_(None),
                   Unanswered.created_at >= now - within)
            .order_by(Unanswered.id.desc()).limit(1).with_for_update())
        if row is None:
            return "nothing", None
        sent_today = await session.scalar(
            select(func.count()).select_from(Unanswered)
            .where(Unanswered.tag == tag, Unanswered.forwarded_at >= now - timedelta(days=1)))
        if (sent_today or 0) >= cap:
            return "capped", None
        row.forwarded_at = now
        return "sent", row.text
