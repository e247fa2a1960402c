"""Subscribers, their topics and regions, who a broadcast reaches; erasing a chat on request.

The region rule lives here and nowhere else (`audience_query`): a subscriber without regions gets
everything; one with regions gets what concerns one of them, and what concerns no region at all
(an online event, or an announcement not tied to a place).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Select, delete, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.regions import ONLINE
from careerbot.storage.models import Delivery, Subscriber, SubscriberRegion, Subscription

ALL = "all"  # the topic of subscribers who want every announcement

Sessions = async_sessionmaker[AsyncSession]


async def subscribe(sessions: Sessions, chat_id: int, language: str, topics: Iterable[str],
                    regions: Iterable[str] | None = None) -> None:
    """Make a chat a subscriber with exactly these topics, and these regions (None keeps the
    ones it has; none at all means every region).
    """
    async with sessions.begin() as session:
        if await session.get(Subscriber, chat_id) is None:
            session.add(Subscriber(chat_id=chat_id, language=language,
                                   created_at=datetime.now(UTC)))
            await session.flush()
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        session.add_all(Subscription(chat_id=chat_id, topic=t) for t in sorted(set(topics)))
        if regions is not None:
            await session.execute(delete(SubscriberRegion)
                                  .where(SubscriberRegion.chat_id == chat_id))
            session.add_all(SubscriberRegion(chat_id=chat_id, region=r)
                            for r in sorted(set(regions)))


async def regions_of(sessions: Sessions, chat_id: int) -> set[str]:
    """The regions a chat follows (empty: every region, or not subscribed)."""
    async with sessions() as session:
        return set(await session.scalars(select(SubscriberRegion.region)
                                          .where(SubscriberRegion.chat_id == chat_id)))


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
        await session.execute(delete(SubscriberRegion).where(SubscriberRegion.chat_id == chat_id))
        result = await session.execute(delete(Subscriber).where(Subscriber.chat_id == chat_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget(sessions: Sessions, chat_id: int) -> None:
    """Erase every row about a chat: subscription, topics, regions and delivery records."""
    async with sessions.begin() as session:
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        await session.execute(delete(SubscriberRegion).where(SubscriberRegion.chat_id == chat_id))
        await session.execute(delete(Subscriber).where(Subscriber.chat_id == chat_id))
        await session.execute(delete(Delivery).where(Delivery.chat_id == chat_id))
    async with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            # secure_delete zeroes the freed cells; the write-ahead log still holds the pages as
            # they were until it is checkpointed and emptied.
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def audience_query(topics: Iterable[str], region: str | None = None) -> Select[int]:
    """Chats that follow everything or one of these topics (everyone if topics is empty), and
    that the region concerns.

    The region rule: a broadcast about region R (an event there) reaches the subscribers who
    chose R and those who chose no region; one about no region (None) or online
    (regions.ONLINE) reaches every region. "À l'étranger" (regions.ABROAD) is a region like
    the others.
    """
    wanted = set(topics)
    query = select(Subscriber.chat_id).distinct()
    if wanted:
        query = query.join(Subscription).where(Subscription.topic.in_(wanted | {ALL}))
    if region is not None and region != ONLINE:
        chose = select(SubscriberRegion.chat_id).where(
            SubscriberRegion.chat_id == Subscriber.chat_id)
        query = query.where(or_(~exists(chose),
                                exists(chose.where(SubscriberRegion.region == region))))
    return query


async def audience(sessions: Sessions, topics: Iterable[str],
                   region: str | None = None) -> list[int]:
    """The chat ids a broadcast on these topics, about this region (None: any), would reach."""
    async with sessions() as session:
        return list(await session.scalars(audience_query(topics, region)))


async def region_counts(sessions: Sessions) -> dict[str, int]:
    """How many subscribers chose each region (those with none get every region)."""
    async with sessions() as session:
        rows = await session.execute(select(SubscriberRegion.region, func.count())
                                     .group_by(SubscriberRegion.region))
        return {str(region): int(number) for region, number in rows}


async def count(sessions: Sessions) -> int:
    """How many subscribers there are."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Subscriber)) or 0)
