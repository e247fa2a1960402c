"""Anonymous records for maintainers: questions left unanswered, and answer ratings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.privacy import scrub
from careerbot.storage.models import Feedback, Unanswered

Sessions = async_sessionmaker[AsyncSession]


async def record_unanswered(sessions: Sessions, text: str, status: str) -> None:
    """Keep a question the bot could not answer directly: text only, no identity, and without
    the e-mail addresses or phone numbers it may contain.
    """
    async with sessions.begin() as session:
        session.add(Unanswered(text=scrub(text[:1000]), status=status,
                               created_at=datetime.now(UTC)))


async def record_feedback(sessions: Sessions, entry_id: str, helpful: bool) -> None:
    """Keep a rating of an answer (no identity)."""
    async with sessions.begin() as session:
        session.add(Feedback(entry_id=entry_id[:64], helpful=helpful,
                             created_at=datetime.now(UTC)))


async def unanswered(sessions: Sessions, limit: int = 5000) -> list[tuple[str, str]]:
    """The latest unanswered questions: (text, status)."""
    async with sessions() as session:
        rows = await session.execute(select(Unanswered.text, Unanswered.status)
                                     .order_by(Unanswered.id.desc()).limit(limit))
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
