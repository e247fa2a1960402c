"""Broadcasts and their deliveries: the outbox that makes sending crash-safe.

A broadcast's audience is copied into `deliveries` when it is confirmed, in one transaction.
A delivery is claimed (`sending`, committed) just before its message leaves, and its outcome
recorded after; a crash between the two leaves it in `sending`, which `recover` turns into
`unknown` at the next start: reported, never silently resent, never silently dropped. Deliveries
never claimed stay `pending` and are sent after the restart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, insert, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.storage import coordination
from careerbot.storage.database import poll
from careerbot.storage.models import Broadcast, Delivery, Subscriber
from careerbot.storage.subscribers import audience_query

Sessions = async_sessionmaker[AsyncSession]

# Delivery states. Final: sent, blocked (user blocked the bot), gone (chat not found),
# failed (refused for this chat), unknown (may or may not have arrived).
PENDING, SENDING, SENT, BLOCKED, GONE, FAILED, UNKNOWN = (
    "pending", "sending", "sent", "blocked", "gone", "failed", "unknown")
# Broadcast states.
DRAFT, SCHEDULED, RUNNING, PAUSED, CANCELLED, DONE, STOPPED = (
    "draft", "scheduled", "sending", "paused", "cancelled", "done", "stopped")
ACTIVE = (SCHEDULED, RUNNING, PAUSED)


@dataclass(frozen=True, slots=True)
class Summary:
    """A broadcast and the count of its deliveries per state."""

    id: int
    kind: str
    state: str
    text: str
    topics: tuple[str, ...]
    send_at: datetime | None
    counts: dict[str, int]
    error: str | None
    event_id: str | None = None
    region: str | None = None  # only subscribers of this region (or of none); None: any

    @property
    def total(self) -> int:
        """Recipients fixed at confirmation."""
        return sum(self.counts.values())


def _now() -> datetime:
    return datetime.now(UTC)


async def create(sessions: Sessions, text: str, topics: Iterable[str] = (), *,
                 kind: str = "announce", event_id: str | None = None,
                 send_at: datetime | None = None, region: str | None = None) -> int:
    """A draft broadcast; nothing is sent until it is confirmed. An announcement without topics
    goes to every subscriber, and says so (`everyone`, as an organiser's explicit choice does);
    with a region, only to the subscribers that region concerns (subscribers.audience_query).
    """
    chosen = sorted(set(topics))
    async with sessions.begin() as session:
        broadcast = Broadcast(kind=kind, event_id=event_id, text=text, topics=",".join(chosen),
                              state=DRAFT, send_at=send_at, created_at=_now(),
                              everyone=kind == "announce" and not chosen, region=region)
        session.add(broadcast)
        await session.flush()
        return broadcast.id


async def confirm(sessions: Sessions, broadcast_id: int, *,
                  chats: Iterable[int] | None = None) -> int:
    """Fix the audience and make the broadcast due; the number of recipients. The audience is
    the subscribers of the broadcast's topics, or exactly `chats` when given (an event's
    reminder goes to `announcing.event_audience`).

    Confirming twice changes nothing: only a draft is confirmed, and the draft is taken by the
    transaction's first statement, so a confirmation running at the same moment (a double tap,
    another instance) waits for it and then finds nothing to do. With nobody to reach, the
    broadcast is done at once.
    """
    async with sessions.begin() as session:
        taken = await session.execute(update(Broadcast)
                                      .where(Broadcast.id == broadcast_id,
                                             Broadcast.state == DRAFT)
                                      .values(state=RUNNING, confirmed_at=_now()))
        if not taken.rowcount:  # type: ignore[attr-defined]
            return 0
        broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
        assert broadcast is not None
        if chats is None:
            topics = [t for t in broadcast.topics.split(",") if t]
            audience = audience_query(topics, broadcast.region).subquery()
            await session.execute(insert(Delivery).from_select(
                ["broadcast_id", "chat_id", "state", "attempts"],
                select(literal(broadcast_id), audience.c[0], literal(PENDING), literal(0))))
        elif chosen := sorted(set(chats)):
            await session.execute(insert(Delivery), [
                {"broadcast_id": broadcast_id, "chat_id": chat, "state": PENDING, "attempts": 0}
                for chat in chosen])
        total = int(await session.scalar(select(func.count()).select_from(Delivery)
                                         .where(Delivery.broadcast_id == broadcast_id)) or 0)
        later = broadcast.send_at is not None and broadcast.send_at > _now()
        broadcast.state = (SCHEDULED if later else RUNNING) if total else DONE
        return total


async def reminder_of(sessions: Sessions, event_id: str) -> int | None:
    """The reminder broadcast of an event, if one was created."""
    async with sessions() as session:
        return await session.scalar(select(Broadcast.id).where(Broadcast.kind == "reminder",
                                                               Broadcast.event_id == event_id))


async def due(sessions: Sessions, now: datetime | None = None) -> list[int]:
    """Broadcasts to work on now: running ones, and scheduled ones whose time has come."""
    moment = now or _now()
    found = await poll(sessions, _READY, {"moment": moment})
    if all(state == RUNNING for _, state in found):  # nothing starts: one read, no write
        return [int(broadcast_id) for broadcast_id, _ in found]
    async with sessions.begin() as session:
        await session.execute(update(Broadcast)
                              .where(Broadcast.state == SCHEDULED, Broadcast.send_at <= moment)
                              .values(state=RUNNING))
        return list(await session.scalars(select(Broadcast.id).where(Broadcast.state == RUNNING)
                                          .order_by(Broadcast.id)))


_READY = (select(Broadcast.id, Broadcast.state)  # read every second: built once (database.poll)
          .where(or_(Broadcast.state == RUNNING,
                     (Broadcast.state == SCHEDULED) & (Broadcast.send_at <= bindparam("moment"))))
          .order_by(Broadcast.id))


async def waiting(sessions: Sessions) -> int:
    """Deliveries of broadcasts being sent that are still to go out (the outbox depth)."""
    async with sessions() as session:
        return int(await session.scalar(
            select(func.count()).select_from(Delivery).join(Broadcast)
            .where(Broadcast.state == RUNNING, Delivery.state == PENDING)) or 0)


async def claim_one(sessions: Sessions, broadcast_id: int,
                    holder: str | None = None) -> int | None:
    """Take the next pending delivery of a running broadcast, committed as `sending`: called
    just before its request leaves, so that a crash leaves `sending` only what was in flight.
    None when nothing is left to send, or the broadcast is not running (paused, cancelled...),
    or `holder` no longer holds the sender's lease (another instance sends now).
    """
    running = (select(Broadcast.id)
               .where(Broadcast.id == broadcast_id, Broadcast.state == RUNNING).exists())
    first_pending = (select(Delivery.chat_id)
                     .where(Delivery.broadcast_id == broadcast_id, Delivery.state == PENDING)
                     .order_by(Delivery.chat_id).limit(1)
                     .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer
                     .scalar_subquery())
    fence = coordination.holding(holder) if holder else true()
    async with sessions.begin() as session:
        claimed = await session.scalar(
            update(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.chat_id == first_pending,
                   Delivery.state == PENDING, running, fence)
            .values(state=SENDING, attempts=Delivery.attempts + 1, updated_at=_now())
            .returning(Delivery.chat_id))
        return None if claimed is None else int(claimed)


async def record(sessions: Sessions, broadcast_id: int, chat_id: int, state: str, *,
                 message_id: int | None = None, error: str | None = None) -> None:
    """Record what happened to one delivery."""
    async with sessions.begin() as session:
        await session.execute(update(Delivery)
                              .where(Delivery.broadcast_id == broadcast_id,
                                     Delivery.chat_id == chat_id)
                              .values(state=state, message_id=message_id,
                                      error=error[:256] if error else None, updated_at=_now()))


async def recover(sessions: Sessions) -> int:
    """At start: deliveries caught mid-send become `unknown`; how many."""
    async with sessions.begin() as session:
        result = await session.execute(update(Delivery).where(Delivery.state == SENDING)
                                       .values(state=UNKNOWN, updated_at=_now(),
                                               error="interrupted while sending"))
        return int(result.rowcount)  # type: ignore[attr-defined]


async def finish_if_complete(sessions: Sessions, broadcast_id: int) -> bool:
    """Mark a running broadcast done when no delivery is left to send."""
    async with sessions.begin() as session:
        # Lock the row first (PostgreSQL): a late subscriber's delivery (`add_late_recipient`)
        # is either counted here or added after this transaction, which it then revives.
        await session.execute(select(Broadcast.id).where(Broadcast.id == broadcast_id)
                              .with_for_update())
        left = await session.scalar(
            select(func.count()).select_from(Delivery)
            .where(Delivery.broadcast_id == broadcast_id,
                   or_(Delivery.state == PENDING, Delivery.state == SENDING)))
        if left:
            return False
        result = await session.execute(update(Broadcast)
                                       .where(Broadcast.id == broadcast_id,
                                              Broadcast.state == RUNNING)
                                       .values(state=DONE, finished_at=_now()))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def stop(sessions: Sessions, broadcast_id: int, error: str) -> None:
    """Stop a broadcast that would fail for everyone (e.g. a text Telegram refuses)."""
    async with sessions.begin() as session:
        await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                              .values(state=STOPPED, error=error[:1000], finished_at=_now()))


TRANSITIONS = {"pause": ({RUNNING, SCHEDULED}, PAUSED), "resume": ({PAUSED}, RUNNING),
               "cancel": ({DRAFT, SCHEDULED, RUNNING, PAUSED}, CANCELLED)}


async def change(sessions: Sessions, broadcast_id: int, action: str) -> bool:
    """Pause, resume or cancel a broadcast; whether it was allowed in its current state."""
    allowed, target = TRANSITIONS[action]
    async with sessions.begin() as session:
        result = await session.execute(update(Broadcast)
                                       .where(Broadcast.id == broadcast_id,
                                              Broadcast.state.in_(allowed))
                                       .values(state=target))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def summary(sessions: Sessions, broadcast_id: int) -> Summary | None:
    """A broadcast with its delivery counts."""
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None:
            return None
        rows = await session.execute(select(Delivery.state, func.count())
                                     .where(Delivery.broadcast_id == broadcast_id)
                                     .group_by(Delivery.state))
        counts = Counter({str(row[0]): int(row[1]) for row in rows})
        return Summary(broadcast.id, broadcast.kind, broadcast.state, broadcast.text,
                       tuple(t for t in broadcast.topics.split(",") if t), broadcast.send_at,
                       dict(counts), broadcast.error, broadcast.event_id, broadcast.region)


async def recent(sessions: Sessions, limit: int = 20) -> list[Summary]:
    """The latest broadcasts, newest first."""
    async with sessions() as session:
        ids = list(await session.scalars(select(Broadcast.id).order_by(Broadcast.id.desc())
                                         .limit(limit)))
    found = [await summary(sessions, i) for i in ids]
    return [s for s in found if s is not None]


async def resend_unknown(sessions: Sessions, broadcast_id: int) -> int:
    """On an organiser's explicit request: send again to the recipients whose copy may or may not
    have arrived (some will get it twice). How many were queued again.

    Only a finished broadcast qualifies (`done`, or `stopped` once its text was fixed is not a
    case: a stopped text fails for everyone); it runs again until those are settled.
    """
    async with sessions.begin() as session:
        broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
        if broadcast is None or broadcast.state != DONE:
            return 0
        result = await session.execute(update(Delivery)
                                       .where(Delivery.broadcast_id == broadcast_id,
                                              Delivery.state == UNKNOWN)
                                       .values(state=PENDING, updated_at=_now(),
                                               error="resent on request"))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        if count:
            broadcast.state = RUNNING
            broadcast.finished_at = None
        return count


async def add_late_recipient(sessions: Sessions, chat_id: int,
                             event_ids: Iterable[str]) -> list[int]:
    """Give a chat that just subscribed (or changed its topics or regions) the reminders already
    queued for these events (those not started yet) that it would have got had it subscribed
    earlier; the reminders it was added to.

    Once per chat and reminder: a chat that already has a delivery of it (sent, or even blocked)
    gets nothing more, so unsubscribing and subscribing again does not double it. A reminder
    already finished runs again for this one delivery, as `resend_unknown` does; a cancelled or
    stopped one is left alone.
    """
    wanted = sorted(set(event_ids))
    if not wanted:
        return []
    async with sessions() as session:
        candidates = list(await session.scalars(
            select(Broadcast.id)
            .where(Broadcast.kind == "reminder", Broadcast.event_id.in_(wanted),
                   Broadcast.state.in_((*ACTIVE, DONE)))
            .order_by(Broadcast.id)))
    added = []
    for broadcast_id in candidates:
        try:
            if await _add_late(sessions, broadcast_id, chat_id):
                added.append(broadcast_id)
        except IntegrityError:  # the same chat added at the same moment (a double tap): once
            continue
    return added


async def _add_late(sessions: Sessions, broadcast_id: int, chat_id: int) -> bool:
    async with sessions.begin() as session:
        broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True,
                                      populate_existing=True)
        if broadcast is None or broadcast.state not in (*ACTIVE, DONE):
            return False
        topics = [t for t in broadcast.topics.split(",") if t]
        concerned = audience_query(topics, broadcast.region).where(
            Subscriber.chat_id == chat_id).exists()
        already = (select(Delivery.chat_id).where(Delivery.broadcast_id == broadcast_id,
                                                  Delivery.chat_id == chat_id).exists())
        if not await session.scalar(select(concerned & ~already)):
            return False
        session.add(Delivery(broadcast_id=broadcast_id, chat_id=chat_id, state=PENDING,
                             attempts=0, updated_at=_now()))
        if broadcast.state == DONE:
            broadcast.state = RUNNING
            broadcast.finished_at = None
        return True
