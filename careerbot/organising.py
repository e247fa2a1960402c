"""Organisers keep their events current from any channel: add, edit, cancel, announce.

It knows no Telegram type: a channel passes chat ids, texts and decoded button actions, and
renders the replies it gets. The draft of an event lives in the database
(careerbot.storage.events) and changes only through careerbot.event_drafting, so it survives a
restart and any instance can take the next step. Every action checks the organiser again (the
channel does, before calling here). After every write the agenda is read again at once, so the
organiser sees their change; other instances see it within a second (`refresh_forever`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from careerbot import callbacks as cb
from careerbot import event_drafting as machine
from careerbot import event_screens as screens
from careerbot.announcing import (
    Announcing,
    Answer,
    abandon_draft,
    event_audience,
    refresh,
    start_draft,
)
from careerbot.conversation import Button, Conversation, Lang, Reply
from careerbot.event_drafting import EventDraft, Outcome, Step, Transition
from careerbot.faq import Event
from careerbot.storage import events as stored_events
from careerbot.telegram_html import escape

SAVE_ATTEMPTS = 3
LISTED = 10  # events to come shown to organisers in /evenements (candidates see 3)


def _now() -> datetime:
    return datetime.now(UTC)


async def start_event(owner: int, announcing: Announcing) -> Reply:
    """/evenement: a new event draft (an announcement or event draft left open is dropped)."""
    await abandon_draft(owner, announcing)
    draft = await stored_events.start_draft(announcing.db, owner)
    return screens.question(draft, screens.topic_choices(announcing.faq))


async def abandon_event(owner: int, announcing: Announcing) -> Reply | None:
    """/annuler during an event draft: drop it (None when there is no event draft)."""
    draft = await stored_events.current_draft(announcing.db, owner)
    if draft is None:
        return None
    answer = await _apply(draft, machine.Abandon(), None, announcing)
    return answer.edit or Reply(screens.TEXT["abandoned"])


async def event_message(owner: int, text: str, announcing: Announcing) -> tuple[Reply, ...] | None:
    """A message from an organiser whose event draft awaits typed input; the replies to send,
    or None when the message is not for the draft.
    """
    draft = await stored_events.current_draft(announcing.db, owner)
    if draft is None:
        return None
    action = machine.typed(text)
    if not isinstance(action, machine.Abandon) and draft.step not in machine.TYPED:
        return None
    answer = await _apply(draft, action, None, announcing)
    return (*((answer.edit,) if answer.edit else ()), *answer.send,
            *((Reply(answer.toast),) if answer.toast else ()))


async def draft_button(action: cb.EventDraftButton, chat: int, announcing: Announcing) -> Answer:
    """A button of an event draft, checked against the draft's step and version."""
    draft = await stored_events.get_draft(announcing.db, action.draft)
    if draft is None or draft.owner != chat:
        return Answer(toast=screens.TEXT["unknown_draft"])
    match action:
        case cb.EventRegion(region=region):
            step: machine.Action = machine.PickRegion(region)
        case cb.EventTopic(topic=topic):
            step = machine.Toggle(topic)
        case cb.EventTopicsDone():
            step = machine.Next()
        case cb.EventField(field=field) if field in {str(s) for s in machine.EDITABLE}:
            step = machine.PickField(Step(field))
        case cb.EventConfirm():
            step = machine.Confirm()
        case cb.EventAbandon():
            step = machine.Abandon()
        case _:
            return Answer(toast=screens.TEXT["passed"])
    return await _apply(draft, step, action.version, announcing)


async def _apply(draft: EventDraft, action: machine.Action, version: int | None,
                 announcing: Announcing) -> Answer:
    """Step the draft, store it (again if a concurrent tap saved first), show the result."""
    topics = frozenset(key for key, _ in screens.topic_choices(announcing.faq))
    for _ in range(SAVE_ATTEMPTS):
        moved = machine.step(draft, action, _now(), version=version, topics=topics)
        if moved.outcome is Outcome.INVALID:
            return Answer(send=(Reply(f"⚠️ {escape(moved.problem)}"),))
        if not moved.changed:
            if (moved.outcome is Outcome.ALREADY_CONFIRMED and draft.target is None
                    and await stored_events.by_draft(announcing.db, draft.id) is None):
                # Stopped between confirming the draft and storing its event: store it now.
                return await _publish(draft, announcing)
            return Answer(toast=screens.TEXT[str(moved.outcome)])
        if await stored_events.save_draft(announcing.db, draft, moved.draft):
            return await _show(moved, announcing)
        found = await stored_events.get_draft(announcing.db, draft.id)
        if found is None:
            break
        draft = found
    return Answer(toast=screens.TEXT["busy"])


async def _show(moved: Transition, announcing: Announcing) -> Answer:
    """What the organiser sees after a saved transition."""
    draft = moved.draft
    choices = screens.topic_choices(announcing.faq)
    match moved.outcome:
        case Outcome.ASK | Outcome.TOPICS_CHANGED:
            return Answer(edit=screens.question(draft, choices))
        case Outcome.PREVIEW:
            shown, controls = screens.preview(draft, draft.event(draft.target or "apercu"),
                                              choices)
            return Answer(send=(shown, controls))
        case Outcome.CONFIRMED:
            return await _publish(draft, announcing)
    return Answer(edit=Reply(screens.TEXT["abandoned"]))


async def _publish(draft: EventDraft, announcing: Announcing) -> Answer:
    """Store the confirmed draft: a new event, or the edit of one."""
    db = announcing.db
    if draft.target is None:
        for _ in range(SAVE_ATTEMPTS):
            taken = {e.id for e in announcing.agenda.events} | await stored_events.ids(db)
            event = draft.event(screens.new_id(draft.event("x"), taken))
            if await stored_events.add(db, event, draft.owner, draft_id=draft.id) is not None:
                await refresh(announcing)
                return Answer(edit=screens.published(event))
            if await stored_events.by_draft(db, draft.id) is not None:  # a concurrent tap
                return Answer(toast=screens.TEXT["already_confirmed"])
        return Answer(toast=screens.TEXT["busy"])
    stored = await stored_events.by_id(db, draft.target)
    event = draft.event(draft.target)
    if stored is None or not await stored_events.change(db, stored.number, stored.revision,
                                                        event):
        return Answer(edit=Reply(screens.TEXT["not_saved"]))
    await refresh(announcing)
    moved = stored.event.start != event.start
    return Answer(edit=Reply(screens.TEXT["saved_moved" if moved else "saved"]))


# --- an event's controls in /evenements ---------------------------------------------------------


async def organiser_events(conversation: Conversation, lang: Lang,
                           announcing: Announcing) -> Reply:
    """/evenements for an organiser: the events to come, each with its controls."""
    handles = {s.event.id: (s.number, s.revision)
               for s in await stored_events.every(announcing.db) if s.state == stored_events.LIVE}

    def row(event: Event) -> tuple[Button, ...]:
        return screens.controls(event, handles.get(event.id))
    reply = conversation.events(lang, controls=row, limit=LISTED)
    upcoming = announcing.agenda.upcoming(_now())[:LISTED]
    if any(event.id not in handles for event in upcoming):
        reply = Reply(f"{reply.html}\n\n{screens.TEXT['from_file']}", reply.buttons)
    return reply


async def event_button(action: cb.EventButton, owner: int, announcing: Announcing) -> Answer:
    """Edit, cancel (after asking whether to tell the subscribers), or keep an event."""
    db = announcing.db
    stored = await stored_events.get(db, action.event)
    if stored is None or stored.state != stored_events.LIVE:
        return Answer(toast=screens.TEXT["gone"])
    if stored.revision != action.revision:
        return Answer(toast=screens.TEXT["changed"])
    event = stored.event
    match action:
        case cb.EditEvent():
            await abandon_draft(owner, announcing)
            draft = await stored_events.start_draft(db, owner, editing=event)
            return Answer(send=(screens.question(draft, screens.topic_choices(announcing.faq)),))
        case cb.AskCancelEvent():
            count = len(await cancellation_audience(event, announcing))
            return Answer(send=(screens.cancel_question(event, stored.number, stored.revision,
                                                        count),))
        case cb.CancelEvent(notify=notify):
            audience = await cancellation_audience(event, announcing) if notify else []
            notice = screens.cancellation_notice(event) if notify else None
            done, broadcast = await stored_events.cancel(db, stored.number, stored.revision,
                                                         notice=notice, audience=audience)
            if not done:
                return Answer(toast=screens.TEXT["changed"])
            await refresh(announcing)
            title = escape(event.title)
            if broadcast is None:
                return Answer(edit=Reply(screens.TEXT["cancelled_quiet"].format(title=title)))
            return Answer(edit=Reply(screens.TEXT["cancelled_notified"].format(
                title=title, count=len(audience), id=broadcast)))
        case cb.KeepEvent():
            return Answer(edit=Reply(screens.TEXT["kept"].format(title=escape(event.title))))
    return Answer(toast=screens.TEXT["passed"])


async def cancellation_audience(event: Event, announcing: Announcing) -> list[int]:
    """Who is told an event is cancelled: whoever its reminder reaches (`event_audience`), and
    whoever its reminder already went or was going to.
    """
    reminded = await stored_events.reminded(announcing.db, event.id)
    return sorted(set(await event_audience(announcing.db, event)) | set(reminded))


async def announce_button(action: cb.AnnounceEvent, owner: int, announcing: Announcing) -> Answer:
    """"Annoncer": the `/annonce evenement <id>` flow, as a new message."""
    return Answer(send=(await start_draft(owner, ["evenement", action.event], announcing),))
