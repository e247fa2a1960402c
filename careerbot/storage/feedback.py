"""Anonymous records for maintainers: questions left unanswered, and answer ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.privacy import TAG_KEPT, scrub
from careerbot.storage.models import Feedback, Unanswered

Sessions = async_sessionmaker[AsyncSession]


async def record_unanswered(sessions: Sessions, text: str, status: str,
                            tag: str | None = None) -> None:
    """Keep a question the bot could not answer directly: text only, no identity, and without
    the e-mail addresses or phone numbers it may contain. `tag` (privacy.user_tag) lets /oublier
    erase it for 30 days (`untag_old` drops it after that).
    """
    async with sessions.begin() as session:
        session.add(Unanswered(text=scrub(text[:1000]), status=status,
                               created_at=datetime.now(UTC), tag=tag))


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
