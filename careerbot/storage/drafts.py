"""Organisers' drafts, stored as broadcast rows in state `draft`, and where reports are shown.

A draft is saved only if nobody changed it since it was read (compare and set on its step,
version and audience, region included): two taps handled at the same time, or two bot
instances, cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.drafting import OPEN, Draft, Step
from careerbot.storage.models import Broadcast

Sessions = async_sessionmaker[AsyncSession]

DRAFT, CANCELLED = "draft", "cancelled"  # broadcast states (as in outbox)


def _topics(topics: Iterable[str]) -> str:
    return ",".join(sorted(set(topics)))


def _draft(row: Broadcast) -> Draft:
    return Draft(id=row.id, owner=int(row.owner_chat_id or 0), step=Step(row.flow_step or Step.TEXT),
                 version=row.version, text=row.text,
                 topics=frozenset(t for t in row.topics.split(",") if t),
                 everyone=bool(row.everyone), send_at=row.send_at, event_id=row.event_id,
                 region=row.region)


async def start(sessions: Sessions, owner: int, *, text: str = "", topics: Iterable[str] = (),
                event_id: str | None = None, region: str | None = None) -> Draft:
    """A new draft for an organiser (at the audience step when its text is known); their
    unconfirmed drafts are replaced, so the buttons drawn for them stop working.
    """
    async with sessions.begin() as session:
        await session.execute(update(Broadcast)
                              .where(Broadcast.owner_chat_id == owner, Broadcast.state == DRAFT,
                                     Broadcast.flow_step.in_([str(s) for s in OPEN]))
                              .values(state=CANCELLED, flow_step=str(Step.REPLACED),
                                      version=Broadcast.version + 1))
        row = Broadcast(kind="announce", text=text, topics=_topics(topics), state=DRAFT,
                        event_id=event_id, created_at=datetime.now(UTC), owner_chat_id=owner,
                        flow_step=str(Step.AUDIENCE if text else Step.TEXT), version=1,
                        everyone=False, region=region)
        session.add(row)
        await session.flush()
        return _draft(row)


async def get(sessions: Sessions, draft_id: int) -> Draft | None:
    """A draft by id (None if there is none: a forged id, or a broadcast no organiser wrote)."""
    async with sessions() as session:
        row = await session.get(Broadcast, draft_id)
        if row is None or row.owner_chat_id is None or row.flow_step is None:
            return None
        return _draft(row)


async def current(sessions: Sessions, owner: int) -> Draft | None:
    """The organiser's draft in progress, if any."""
    async with sessions() as session:
        row = await session.scalar(
            select(Broadcast)
            .where(Broadcast.owner_chat_id == owner, Broadcast.state == DRAFT,
                   Broadcast.flow_step.in_([str(s) for s in OPEN]))
            .order_by(Broadcast.id.desc()).limit(1))
        return _draft(row) if row is not None else None


async def save(sessions: Sessions, before: Draft, after: Draft, *,
               report_to: tuple[int, int] | None = None) -> bool:
    """Store a transition, unless the draft changed since `before` was read; whether it was."""
    values: dict[str, object] = {
        "flow_step": str(after.step), "version": after.version, "text": after.text,
        "topics": _topics(after.topics), "everyone": after.everyone, "send_at": after.send_at,
        "region": after.region}
    if after.step is Step.ABANDONED:
        values["state"] = CANCELLED
    if report_to is not None:
        values["report_chat_id"], values["report_message_id"] = report_to
    async with sessions.begin() as session:
        result = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == before.id, Broadcast.state == DRAFT,
                   Broadcast.flow_step == str(before.step), Broadcast.version == before.version,
                   Broadcast.topics == _topics(before.topics),
                   Broadcast.everyone == before.everyone,
                   Broadcast.region.is_(None) if before.region is None
                   else Broadcast.region == before.region)
            .values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def set_report_target(sessions: Sessions, broadcast_id: int, chat_id: int,
                            message_id: int) -> None:
    """Show this broadcast's live report in that message from now on."""
    async with sessions.begin() as session:
        await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                              .values(report_chat_id=chat_id, report_message_id=message_id))


async def report_target(sessions: Sessions, broadcast_id: int) -> tuple[int, int] | None:
    """The (chat, message) showing a broadcast's live report, if an organiser has one."""
    async with sessions() as session:
        row = (await session.execute(
            select(Broadcast.report_chat_id, Broadcast.report_message_id)
            .where(Broadcast.id == broadcast_id))).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return int(row[0]), int(row[1])


async def confirmed(sessions: Sessions, limit: int = 10) -> list[int]:
    """The latest broadcasts past their draft (drafts are not broadcasts yet), newest first."""
    async with sessions() as session:
        return list(await session.scalars(
            select(Broadcast.id).where(Broadcast.confirmed_at.is_not(None))
            .order_by(Broadcast.id.desc()).limit(limit)))
