"""Events organisers add from Telegram, their drafts, and what changing one does to its reminder.

A change is a compare and set on the event's `revision`, so that two taps, or two instances,
cannot both win. The reminder of an event (the `reminder` broadcast, one per event) follows it:
- moving the date retires the reminder made for the old date (cancelled if it has not gone out
  yet), so that `create_reminders` makes one for the new date, once;
- cancelling the event cancels a reminder not sent yet, and may tell the people who were to get
  it, through a broadcast queued in the same transaction (crash-safe: the event is cancelled and
  the notice queued together, or neither).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.event_drafting import OPEN, EventDraft, Step, from_event
from careerbot.faq import Event
from careerbot.french_dates import PARIS
from careerbot.storage.database import poll
from careerbot.storage.models import Broadcast, Delivery, StoredEvent
from careerbot.storage.models import EventDraft as DraftRow

Sessions = async_sessionmaker[AsyncSession]

LIVE, CANCELLED = "live", "cancelled"
REMINDER, MOVED_REMINDER, CANCELLATION = "reminder", "old-reminder", "cancellation"
UNSENT = ("draft", "scheduled", "sending", "paused")  # broadcast states that may still send


@dataclass(frozen=True, slots=True)
class Stored:
    """An event from the database, with what its buttons carry."""

    number: int
    revision: int
    state: str
    event: Event


def _tags(tags: Iterable[str]) -> str:
    return ",".join(sorted(set(tags)))


def _event(row: StoredEvent) -> Event:
    # Stored in UTC; shown, like the file's events, in the zone they happen in.
    return Event(id=row.id, title=row.title, start=row.start.astimezone(PARIS),
                 end=row.end.astimezone(PARIS), place=row.place,
                 url=row.url, tags=tuple(t for t in row.tags.split(",") if t),
                 description=row.description, region=row.region or None)


def _stored(row: StoredEvent) -> Stored:
    return Stored(row.number, row.revision, row.state, _event(row))


async def live(sessions: Sessions) -> tuple[Event, ...]:
    """Every event not cancelled (past ones included: they are listed as past)."""
    async with sessions() as session:
        rows = await session.scalars(select(StoredEvent).where(StoredEvent.state == LIVE)
                                     .order_by(StoredEvent.start))
        return tuple(_event(row) for row in rows)


async def stamp(sessions: Sessions) -> tuple[int, int]:
    """A cheap fingerprint of the table: it changes whenever an event is added or changed."""
    [(count, revisions)] = await poll(sessions, _STAMP)
    return int(count), int(revisions)


_STAMP = select(func.count(), func.coalesce(func.sum(StoredEvent.revision), 0)).select_from(
    StoredEvent)  # read every half second: built once (see database.poll)


async def every(sessions: Sessions) -> list[Stored]:
    """Every stored event, cancelled ones included, soonest first (for the export)."""
    async with sessions() as session:
        rows = await session.scalars(select(StoredEvent).order_by(StoredEvent.start,
                                                                  StoredEvent.number))
        return [_stored(row) for row in rows]


async def get(sessions: Sessions, number: int) -> Stored | None:
    """An event by number."""
    async with sessions() as session:
        row = await session.get(StoredEvent, number)
        return _stored(row) if row is not None else None


async def by_id(sessions: Sessions, event_id: str) -> Stored | None:
    """An event by id."""
    async with sessions() as session:
        row = await session.scalar(select(StoredEvent).where(StoredEvent.id == event_id))
        return _stored(row) if row is not None else None


async def ids(sessions: Sessions) -> set[str]:
    """Every id taken in the table (cancelled events keep theirs)."""
    async with sessions() as session:
        return set(await session.scalars(select(StoredEvent.id)))


async def by_draft(sessions: Sessions, draft_id: int) -> Stored | None:
    """The event a draft became, if it was stored."""
    async with sessions() as session:
        row = await session.scalar(select(StoredEvent).where(StoredEvent.draft_id == draft_id))
        return _stored(row) if row is not None else None


async def add(sessions: Sessions, event: Event, owner: int | None, *,
              draft_id: int | None = None) -> Stored | None:
    """Store a new event; None if its id is taken (pick another and try again) or its draft
    was stored already (a draft becomes one event, however often it is confirmed).
    """
    now = datetime.now(UTC)
    try:
        async with sessions.begin() as session:
            row = StoredEvent(id=event.id, title=event.title, start=event.start, end=event.end,
                              place=event.place, region=event.region or "", url=event.url,
                              description=event.description, tags=_tags(event.tags), state=LIVE,
                              revision=1, created_by=owner, draft_id=draft_id, created_at=now,
                              updated_at=now)
            session.add(row)
            await session.flush()
            return _stored(row)
    except IntegrityError:
        return None


async def change(sessions: Sessions, number: int, revision: int, event: Event) -> bool:
    """Store an edit unless the event changed since `revision` was read; whether it was.

    A new date retires the reminder made for the old one in the same transaction: not sent yet,
    it is cancelled; sent, it stays in the reports; either way the new date gets its own.
    """
    async with sessions.begin() as session:
        before = await session.get(StoredEvent, number)
        if before is None or before.revision != revision or before.state != LIVE:
            return False
        moved = before.start != event.start
        result = await session.execute(
            update(StoredEvent)
            .where(StoredEvent.number == number, StoredEvent.revision == revision,
                   StoredEvent.state == LIVE)
            .values(title=event.title, start=event.start, end=event.end, place=event.place,
                    region=event.region or "", url=event.url, description=event.description,
                    tags=_tags(event.tags), revision=revision + 1,
                    updated_at=datetime.now(UTC)))
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        if moved:
            await _retire_reminder(session, before.id)
        return True


async def _retire_reminder(session: AsyncSession, event_id: str) -> list[int]:
    """Stop the event's reminder if it has not gone out, and free its place for a new one; the
    chats it went to, or was going to.
    """
    reminder = await session.scalar(select(Broadcast).where(Broadcast.kind == REMINDER,
                                                            Broadcast.event_id == event_id)
                                    .with_for_update())
    if reminder is None:
        return []
    chats = list(await session.scalars(select(Delivery.chat_id)
                                       .where(Delivery.broadcast_id == reminder.id)))
    if reminder.state in UNSENT:
        reminder.state = "cancelled"
    reminder.kind = MOVED_REMINDER
    return [int(chat) for chat in chats]


async def reminded(sessions: Sessions, event_id: str) -> list[int]:
    """The chats the event's current reminder went, or is going, to (none before it is made)."""
    async with sessions() as session:
        return [int(chat) for chat in await session.scalars(
            select(Delivery.chat_id).join(Broadcast)
            .where(Broadcast.kind == REMINDER, Broadcast.event_id == event_id))]


async def cancel(sessions: Sessions, number: int, revision: int, *, notice: str | None,
                 audience: Iterable[int]) -> tuple[bool, int | None]:
    """Cancel an event unless it changed since `revision` was read: its reminder is stopped if it
    has not gone out, and with a `notice`, a broadcast tells `audience` plus whoever the reminder
    went or was going to. Whether it was cancelled, and the notice's broadcast.
    """
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        result = await session.execute(
            update(StoredEvent)
            .where(StoredEvent.number == number, StoredEvent.revision == revision,
                   StoredEvent.state == LIVE)
            .values(state=CANCELLED, revision=revision + 1, updated_at=now)
            .returning(StoredEvent.id))
        event_id = result.scalar()
        if event_id is None:
            return False, None
        reminded = await _retire_reminder(session, event_id)
        if notice is None:
            return True, None
        chats = sorted(set(audience) | set(reminded))
        broadcast = Broadcast(kind=CANCELLATION, event_id=event_id, text=notice, topics="",
                              state="sending" if chats else "done", created_at=now,
                              confirmed_at=now, everyone=False,
                              finished_at=None if chats else now)
        session.add(broadcast)
        await session.flush()
        if chats:
            await session.execute(insert(Delivery), [
                {"broadcast_id": broadcast.id, "chat_id": chat, "state": "pending",
                 "attempts": 0} for chat in chats])
        return True, broadcast.id


async def drop_reminder_unless_due(sessions: Sessions, event: Event) -> bool:
    """After creating a reminder, before confirming it: retire it if the event was cancelled or
    moved meanwhile (whether it may go on). A cancel or move after this check finds the reminder
    and retires it itself.
    """
    async with sessions.begin() as session:
        result = await session.execute(
            update(StoredEvent)
            .where(StoredEvent.id == event.id, StoredEvent.state == LIVE,
                   StoredEvent.start == event.start)
            .values(state=LIVE))
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        await _retire_reminder(session, event.id)
        return False


# --- drafts -------------------------------------------------------------------------------------


def _draft(row: DraftRow) -> EventDraft:
    start, end = (m.astimezone(PARIS) if m is not None else None for m in (row.start, row.end))
    return EventDraft(id=row.id, owner=int(row.owner_chat_id), step=Step(row.flow_step),
                      version=row.version, target=row.target, title=row.title, start=start,
                      end=end, place=row.place, region=row.region, url=row.url,
                      description=row.description,
                      tags=frozenset(t for t in row.tags.split(",") if t))


def _values(draft: EventDraft) -> dict[str, object]:
    return {"flow_step": str(draft.step), "version": draft.version, "target": draft.target,
            "title": draft.title, "start": draft.start, "end": draft.end, "place": draft.place,
            "region": draft.region, "url": draft.url, "description": draft.description,
            "tags": _tags(draft.tags)}


async def close_drafts(sessions: Sessions, owner: int) -> None:
    """Replace the organiser's open event drafts: their buttons stop working."""
    async with sessions.begin() as session:
        await session.execute(update(DraftRow)
                              .where(DraftRow.owner_chat_id == owner,
                                     DraftRow.flow_step.in_([str(s) for s in OPEN]))
                              .values(flow_step=str(Step.REPLACED),
                                      version=DraftRow.version + 1))


async def start_draft(sessions: Sessions, owner: int, *,
                      editing: Event | None = None) -> EventDraft:
    """A new draft for an organiser (of a new event, or an edit of `editing`), replacing the
    ones they left open.
    """
    await close_drafts(sessions, owner)
    async with sessions.begin() as session:
        row = DraftRow(owner_chat_id=owner, flow_step=str(Step.TITLE), version=1,
                       created_at=datetime.now(UTC))
        session.add(row)
        await session.flush()
        if editing is not None:
            draft = from_event(row.id, owner, editing)
            for name, value in _values(draft).items():
                setattr(row, name, value)
            await session.flush()
        return _draft(row)


async def get_draft(sessions: Sessions, draft_id: int) -> EventDraft | None:
    """A draft by id."""
    async with sessions() as session:
        row = await session.get(DraftRow, draft_id)
        return _draft(row) if row is not None else None


async def current_draft(sessions: Sessions, owner: int) -> EventDraft | None:
    """The organiser's open draft, if any."""
    async with sessions() as session:
        row = await session.scalar(select(DraftRow)
                                   .where(DraftRow.owner_chat_id == owner,
                                          DraftRow.flow_step.in_([str(s) for s in OPEN]))
                                   .order_by(DraftRow.id.desc()).limit(1))
        return _draft(row) if row is not None else None


async def save_draft(sessions: Sessions, before: EventDraft, after: EventDraft) -> bool:
    """Store a transition unless the draft changed since `before` was read; whether it was."""
    async with sessions.begin() as session:
        result = await session.execute(
            update(DraftRow)
            .where(DraftRow.id == before.id, DraftRow.flow_step == str(before.step),
                   DraftRow.version == before.version, DraftRow.tags == _tags(before.tags))
            .values(**_values(after)))
        return bool(result.rowcount)  # type: ignore[attr-defined]
