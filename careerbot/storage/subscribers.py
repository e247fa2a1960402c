"""Subscribers and their topics; erasing everything about a chat on request."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.storage.models import Delivery, Subscriber, Subscription

ALL = "all"  # the topic of subscribers who want every announcement

Sessions = async_sessionmaker[AsyncSession]


async def subscribe(sessions: Sessions, chat_id: int, language: str, topics: Iterable[str]) -> None:
    """Make a chat a subscriber with exactly these topics."""
    async with sessions.begin() as session:
        if await session.get(Subscriber, chat_id) is None:
            session.add(Subscriber(chat_id=chat_id, language=language,
                                   created_at=datetime.now(UTC)))
            await session.flush()
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        session.add_all(Subscription(chat_id=chat_id, topic=t) for t in sorted(set(topics)))


async def topics_of(sessions: Sessions, chat_id: int) -> set[str] | None:
    """The topics a chat follows, or None if it is not subscribed."""
    async with sessions() as session:
        if await session.get(Subscriber, chat_id) is None:
            return None
        rows = await session.scalars(select(Subscription.topic)
                                     .where(Subscription.chat_id == chat_id))
        return set(rows)


async def unsubscribe(sessions: Sessions, chat_id: int) -> bool:
    """Stop announcements to a chat; whether it was subscribed."""
    async with sessions.begin() as session:
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        result = await session.execute(delete(Subscriber).where(Subscriber.chat_id == chat_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget(sessions: Sessions, chat_id: int) -> None:
    """Erase every row about a chat: subscription, topics and delivery records."""
    async with sessions.begin() as session:
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        await session.execute(delete(Subscriber).where(Subscriber.chat_id == chat_id))
        await session.execute(delete(Delivery).where(Delivery.chat_id == chat_id))
    async with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            # secure_delete zeroes the freed cells; the write-ahead log still holds the pages as
            # they were until it is checkpointed and emptied.
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def audience_query(topics: Iterable[str]):  # type: ignore[no-untyped-def]
    """Chats that follow everything or one of these topics (everyone if topics is empty)."""
    wanted = set(topics)
    query = select(Subscriber.chat_id).distinct()
    if wanted:
        query = query.join(Subscription).where(Subscription.topic.in_(wanted | {ALL}))
    return query


async def audience(sessions: Sessions, topics: Iterable[str]) -> list[int]:
    """The chat ids a broadcast on these topics would reach."""
    async with sessions() as session:
        return list(await session.scalars(audience_query(topics)))


async def count(sessions: Sessions) -> int:
    """How many subscribers there are."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Subscriber)) or 0)
