"""The figures of `/stats` from the database, the tallies that feed them, and the weekly digest's
claim.

Counts only: `daily_counts` has no chat id and no text, `subscriber_counts` holds one number per
topic or region and day. Several instances write to them at once with upserts that add (tallies)
or replace (snapshots), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot import stats
from careerbot.announcements import TOPICS, topic_label
from careerbot.regions import place_label
from careerbot.stats import Clock, Figures, Series, Tally
from careerbot.storage import feedback, subscribers
from careerbot.storage.models import (
    Broadcast,
    DailyCount,
    Delivery,
    Digest,
    SubscriberCount,
    Subscription,
)
from careerbot.storage.outbox import BLOCKED, DRAFT, SENT, UNKNOWN

log = logging.getLogger("careerbot.stats")

Sessions = async_sessionmaker[AsyncSession]
RegionCounts = Callable[[Sessions], Awaitable[dict[str, int]]]
FLUSH_EVERY = 15.0  # seconds between two flushes of an instance's tally
BROADCASTS = 8  # recent broadcasts shown
TOPIC, REGION = "topic", "region"


def _insert(session: AsyncSession, model: Any) -> Any:
    """INSERT with ON CONFLICT support, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)


# --- messages per day ---------------------------------------------------------------------------


async def flush(sessions: Sessions, counts: dict[tuple[date, str, str], int]) -> None:
    """Add counts to the database in one statement: an upsert that adds, so instances flushing at
    the same time each add their own share.
    """
    if not counts:
        return
    rows = [{"day": day, "outcome": outcome, "entry_id": entry, "count": count}
            for (day, outcome, entry), count in sorted(counts.items())]
    async with sessions.begin() as session:
        statement = _insert(session, DailyCount).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["day", "outcome", "entry_id"],
            set_={"count": DailyCount.count + statement.excluded.count}))


async def flush_tally(sessions: Sessions, tally: Tally) -> int:
    """Write what the tally counted since the last flush; how many messages. When the database
    refuses, the counts go back into the tally for the next try.
    """
    counts = tally.take()
    try:
        await flush(sessions, counts)
    except Exception:
        tally.restore(counts)
        raise
    return sum(counts.values())


async def flush_forever(sessions: Sessions, tally: Tally, every: float = FLUSH_EVERY) -> None:
    """Flush the tally every `every` seconds, and once more when cancelled (at a clean stop).

    Recording a message costs one dictionary increment (the per-message budget is a few
    milliseconds of CPU); the database sees one upsert per instance every 15 s, whatever the
    traffic. A crash loses at most the last 15 s of counts: they are statistics, not records.
    """
    try:
        while True:
            await asyncio.sleep(every)
            try:
                await flush_tally(sessions, tally)
            except Exception as error:  # the database is away: the counts wait in memory
                log.warning("message counts not written yet (%s)", type(error).__name__)
    finally:
        try:
            await flush_tally(sessions, tally)
        except Exception as error:
            log.warning("%d message count(s) lost at stop (%s)", sum(tally.counts.values()),
                        type(error).__name__)


async def _per_day(session: AsyncSession, days: tuple[date, ...]) -> list[tuple[date, str, int]]:
    rows = await session.execute(
        select(DailyCount.day, DailyCount.outcome, func.sum(DailyCount.count))
        .where(DailyCount.day >= days[0], DailyCount.day <= days[-1])
        .group_by(DailyCount.day, DailyCount.outcome))
    return [(day, str(outcome), int(count or 0)) for day, outcome, count in rows]


async def _top_entries(session: AsyncSession, days: tuple[date, ...],
                       limit: int) -> tuple[tuple[str, int], ...]:
    total = func.sum(DailyCount.count)
    rows = await session.execute(
        select(DailyCount.entry_id, total)
        .where(DailyCount.day >= days[0], DailyCount.day <= days[-1],
               DailyCount.outcome == "answer", DailyCount.entry_id != stats.NO_ENTRY)
        .group_by(DailyCount.entry_id).order_by(total.desc(), DailyCount.entry_id).limit(limit))
    return tuple((str(entry), int(count or 0)) for entry, count in rows)


# --- subscribers over time ----------------------------------------------------------------------


async def subscriber_regions(sessions: Sessions) -> dict[str, int]:
    """Subscribers per region they chose (region key -> count)."""
    return await subscribers.region_counts(sessions)


async def _topics(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Subscription.topic, func.count())
                                 .group_by(Subscription.topic))
    found = {key: 0 for key, _, _ in TOPICS}
    found.update({str(topic): int(count) for topic, count in rows})
    return found


async def snapshot(sessions: Sessions, day: date,
                   regions: RegionCounts = subscriber_regions) -> None:
    """Record today's subscribers per topic and per region (run daily by the worker, and before
    any figure is drawn, so the last point is current); a second run the same day replaces it.
    """
    region_counts = await regions(sessions)
    async with sessions.begin() as session:
        counts = [(TOPIC, key, count) for key, count in (await _topics(session)).items()]
        counts += [(REGION, key, count) for key, count in region_counts.items()]
        rows = [{"day": day, "kind": kind, "key": key[:64], "count": count}
                for kind, key, count in counts]
        statement = _insert(session, SubscriberCount).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["day", "kind", "key"], set_={"count": statement.excluded.count}))


async def _subscribers(session: AsyncSession, days: tuple[date, ...]) -> tuple[Series, ...]:
    rows = await session.execute(
        select(SubscriberCount.kind, SubscriberCount.key, SubscriberCount.day,
               SubscriberCount.count)
        .where(SubscriberCount.day >= days[0], SubscriberCount.day <= days[-1])
        .order_by(SubscriberCount.kind.desc(), SubscriberCount.key, SubscriberCount.day))
    points: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for kind, key, day, count in rows:
        points[(str(kind), str(key))].append((day, int(count)))
    order = {key: index for index, (key, _, _) in enumerate(TOPICS)}
    series = [Series(kind, key, topic_label(key) if kind == TOPIC else place_label(key),
                     tuple(found))
              for (kind, key), found in points.items()]
    return tuple(sorted(series, key=lambda s: (s.kind != TOPIC, order.get(s.key, 99), s.key)))


# --- broadcasts ---------------------------------------------------------------------------------


async def _broadcasts(session: AsyncSession, limit: int) -> tuple[stats.BroadcastCount, ...]:
    found = list(await session.execute(
        select(Broadcast.id, Broadcast.kind, Broadcast.created_at)
        .where(Broadcast.state != DRAFT).order_by(Broadcast.id.desc()).limit(limit)))
    if not found:
        return ()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = await session.execute(
        select(Delivery.broadcast_id, Delivery.state, func.count())
        .where(Delivery.broadcast_id.in_([row[0] for row in found]))
        .group_by(Delivery.broadcast_id, Delivery.state))
    for broadcast_id, state, count in rows:
        counts[int(broadcast_id)][str(state)] = int(count)
    return tuple(stats.BroadcastCount(
        id=int(number), kind=str(kind), day=stats.paris_day(created),
        sent=counts[number].get(SENT, 0), blocked=counts[number].get(BLOCKED, 0),
        uncertain=counts[number].get(UNKNOWN, 0), total=sum(counts[number].values()))
        for number, kind, created in found)


# --- all five -----------------------------------------------------------------------------------


async def figures(sessions: Sessions, today: date, days: int = stats.DAYS) -> Figures:
    """The five figures as the database holds them, for the `days` days ending `today`."""
    window = stats.window(today, days)
    async with sessions() as session:
        per_day = stats.per_day(window, await _per_day(session, window))
        top = await _top_entries(session, window, stats.TOP)
        subscribers = await _subscribers(session, window)
        broadcasts = await _broadcasts(session, BROADCASTS)
    ratings = stats.worst_first(await feedback.ratings(sessions))
    return Figures(today=today, days=window, per_day=per_day, top_entries=top, ratings=ratings,
                   subscribers=subscribers, broadcasts=broadcasts)


async def current_figures(sessions: Sessions, clock: Clock = stats.utc_now,
                          regions: RegionCounts = subscriber_regions) -> Figures:
    """Today's snapshot of subscribers taken, then the five figures as of today."""
    today = stats.paris_day(clock())
    await snapshot(sessions, today, regions)
    return await figures(sessions, today)


# --- the weekly digest, once per week -----------------------------------------------------------

SENDING, DONE = "sending", "sent"
STALE_CLAIM = timedelta(minutes=10)  # a claim left this long in `sending` was its holder's crash


async def claim_digest(sessions: Sessions, week: str, holder: str, now: datetime,
                       stale: timedelta = STALE_CLAIM) -> int | None:
    """Take the week's digest before sending any of it: the number of parts already sent (0 for
    a fresh claim), or None when it is not ours to send (sent, or another instance at it).

    The week is the row's key, so one instance alone wins it. A claim left in `sending` longer
    than `stale` means its holder crashed mid-way: it is taken over and resumes after the last
    part recorded. So the digest is sent at least once: a crash between a part reaching Telegram
    and its record sends that one part twice, which beats a week without a digest.
    """
    async with sessions.begin() as session:
        result = await session.execute(
            _insert(session, Digest).values(week=week, state=SENDING, step=0, holder=holder,
                                            claimed_at=now)
            .on_conflict_do_nothing(index_elements=["week"]))
        if result.rowcount:  # type: ignore[attr-defined]
            return 0
        taken = await session.execute(
            update(Digest).where(Digest.week == week, Digest.state == SENDING,
                                 Digest.claimed_at < now - stale)
            .values(holder=holder, claimed_at=now))
        if not taken.rowcount:  # type: ignore[attr-defined]
            return None
        step = await session.scalar(select(Digest.step).where(Digest.week == week))
        return int(step or 0)


async def digest_progress(sessions: Sessions, week: str, holder: str, step: int, now: datetime,
                          done: bool = False) -> bool:
    """Record that `step` parts went out (and, with `done`, that the digest is complete); False
    when the claim passed to another instance meanwhile (then stop sending).
    """
    values: dict[str, object] = {"step": step, "claimed_at": now}
    if done:
        values.update(state=DONE, sent_at=now)
    async with sessions.begin() as session:
        result = await session.execute(update(Digest).where(
            Digest.week == week, Digest.holder == holder, Digest.state == SENDING).values(values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def digest_state(sessions: Sessions, week: str) -> tuple[str, int] | None:
    """The week's digest: (state, parts sent), None if never claimed."""
    async with sessions() as session:
        row = (await session.execute(select(Digest.state, Digest.step)
                                     .where(Digest.week == week))).first()
    return None if row is None else (str(row[0]), int(row[1]))
