"""Subscriptions and organisers' announcements on Telegram, and the sender of broadcasts.

Every organiser action (command or button) checks the user id against CAREERBOT_ADMIN_IDS again:
forged callback data from a non-admin gets a polite refusal and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from telegram import Message, Update

from careerbot import announcements as ui
from careerbot.announcements import event_buttons
from careerbot.conversation import Lang, Reply, format_date
from careerbot.faq import Event, Faq
from careerbot.numbers import ascii_int
from careerbot.privacy import user_tag
from careerbot.storage import feedback, outbox, subscribers
from careerbot.storage.outbox import Sessions
from careerbot.telegram_html import escape

log = logging.getLogger("careerbot.announce")
PARIS = ZoneInfo("Europe/Paris")
FLOW = "annonce"  # user_data key of an organiser's announcement in progress (memory only)


@dataclass
class Announcing:
    """What the announcement handlers share."""

    db: Sessions
    admins: frozenset[int]
    faq: Faq
    reports: dict[int, tuple[int, int]] = field(default_factory=dict)  # broadcast -> message
    tag_key: str = ""  # secret that keys the users' one-way tags (the bot token)

    def tag(self, user_id: int) -> str:
        """The one-way tag that links a user's recent questions and ratings to them."""
        return user_tag(user_id, self.tag_key)


def reminder_text(event: Event) -> str:
    """The reminder subscribers get the day before an event."""
    return (f"⏰ <b>Rappel</b> : {escape(event.title)}\n"
            f"📅 {format_date(event.start)}, {escape(event.place)}\n"
            f"{escape(event.description)}\n🔗 {escape(event.url)}")


def event_announcement(event: Event) -> str:
    """The text `/annonce evenement <id>` starts from."""
    return (f"📣 <b>{escape(event.title)}</b>\n📅 {format_date(event.start)}, "
            f"{escape(event.place)}\n{escape(event.description)}\n🔗 {escape(event.url)}")


def event_topics(event: Event) -> set[str]:
    """Who hears about an event: those following events, or one of its tags."""
    known = {key for key, _, _ in ui.TOPICS}
    return {"evenements"} | (set(event.tags) & known)


async def create_reminders(db: Sessions, faq: Faq, now: datetime, ahead: timedelta) -> list[int]:
    """Create and confirm the reminder of each event starting within `ahead`, once ever."""
    created = []
    for event in faq.events:
        if not now < event.start <= now + ahead:
            continue
        try:
            broadcast = await outbox.create(db, reminder_text(event), event_topics(event),
                                            kind="reminder", event_id=event.id)
        except IntegrityError:
            continue  # already reminded (even before a restart): once is enough
        await outbox.confirm(db, broadcast)
        created.append(broadcast)
    return created


# --- candidates -----------------------------------------------------------------------------


async def subscribe_start(update: Update, db: Sessions, lang: Lang) -> Reply:
    """/abonner: the topic keyboard with the current choice."""
    chat = update.effective_chat
    current = await subscribers.topics_of(db, chat.id) if chat else None
    return ui.choose_topics(current or set(), lang)


async def my_subscriptions(update: Update, db: Sessions, lang: Lang) -> Reply:
    """/mesabonnements."""
    chat = update.effective_chat
    topics = await subscribers.topics_of(db, chat.id) if chat else None
    if topics is None:
        return ui.text("not_subscribed", lang)
    return ui.text("mine", lang, topics=ui.describe(topics, lang))


async def unsubscribe(update: Update, db: Sessions, lang: Lang) -> Reply:
    """/desabonner."""
    chat = update.effective_chat
    done = chat is not None and await subscribers.unsubscribe(db, chat.id)
    return ui.text("unsubscribed" if done else "not_subscribed", lang)


async def subscription_button(action: str, message: Message, db: Sessions, lang: Lang) -> Reply:
    """sub:<topic> toggles, sub:save stores, sub:cancel leaves things as they were."""
    labels = [b.text for row in (message.reply_markup.inline_keyboard
                                 if message.reply_markup else ()) for b in row]
    selected = ui.selected_in(labels)
    value = action.removeprefix("sub:")
    if value == "cancel":
        return ui.text("kept", lang)
    if value == "save":
        if not selected:
            await subscribers.unsubscribe(db, message.chat.id)
            return ui.text("nothing_chosen", lang)
        await subscribers.subscribe(db, message.chat.id, lang, selected)
        return ui.text("saved", lang, topics=ui.describe(selected, lang))
    return ui.choose_topics(ui.toggle(selected, value), lang)


async def forget_button(action: str, chat_id: int, tag: str, db: Sessions, lang: Lang) -> Reply:
    """forget:yes erases everything about the chat and the user's tagged questions and ratings;
    forget:no keeps it.
    """
    if action == "forget:yes":
        await subscribers.forget(db, chat_id)
        await feedback.forget_tagged(db, tag)
        return ui.text("forgotten", lang)
    return ui.text("kept", lang)


# --- organisers -----------------------------------------------------------------------------


def is_admin(update: Update, announcing: Announcing) -> bool:
    """Whether the user is an organiser (checked on every action)."""
    user = update.effective_user
    return user is not None and user.id in announcing.admins


def start_flow(user_data: dict[Any, Any], args: list[str], faq: Faq) -> Reply:
    """/annonce [texte] or /annonce evenement <id>: start an announcement."""
    if len(args) >= 2 and args[0] in ("evenement", "événement", "event"):
        event = next((e for e in faq.events if e.id == args[1]), None)
        if event is None:
            ids = ", ".join(e.id for e in faq.events) or "aucun"
            return Reply(ui.ADMIN["unknown_event"].format(id=escape(args[1]), ids=escape(ids)))
        user_data[FLOW] = {"text": event_announcement(event), "topics": event_topics(event),
                           "event": event.id}
        return ui.audience_keyboard(user_data[FLOW]["topics"])
    if args:
        user_data[FLOW] = {"text": escape(" ".join(args)), "topics": set()}
        return ui.audience_keyboard(set())
    user_data[FLOW] = {"step": "text", "topics": set()}
    return Reply(ui.ADMIN["ask_text"])


def flow_text(user_data: dict[Any, Any], message: Message) -> Reply | None:
    """A message from an organiser in the middle of an announcement (None: not for the flow)."""
    flow = user_data.get(FLOW)
    if not flow or flow.get("step") not in ("text", "when"):
        return None
    if message.text and message.text.strip().lower() == "annuler":
        user_data.pop(FLOW, None)
        return Reply(ui.ADMIN["cancelled"])
    if flow["step"] == "text":
        flow["text"] = message.text_html
        flow["step"] = "audience"
        return ui.audience_keyboard(flow["topics"])
    moment = parse_when(message.text or "")
    if moment is None:
        return Reply(ui.ADMIN["bad_date"])
    flow["send_at"] = moment
    flow["step"] = "preview"
    return None  # the caller builds the preview (it needs the database)


def parse_when(text: str) -> datetime | None:
    """JJ/MM/AAAA HH:MM in Paris time, as an aware datetime (None if not understood)."""
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=PARIS)
        except ValueError:
            continue
    return None


def choose_when(choice: str, now: datetime) -> datetime | None:
    """The moment behind a time button (None = now)."""
    if choice == "hour":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(9, 0), tzinfo=PARIS)
    return None


async def preview(flow: dict[str, Any], announcing: Announcing) -> tuple[Reply, Reply]:
    """Create the draft; the message as recipients will see it, and the control message."""
    topics = set(flow["topics"]) - {ui.ALL}
    if "draft" in flow:  # the organiser chose another time: the former draft is dropped
        await outbox.change(announcing.db, flow["draft"], "cancel")
    draft = await outbox.create(announcing.db, flow["text"], topics, send_at=flow.get("send_at"),
                                event_id=flow.get("event"))
    count = len(await subscribers.audience(announcing.db, topics))
    flow["draft"] = draft
    event = next((e for e in announcing.faq.events if e.id == flow.get("event")), None)
    shown = Reply(flow["text"], event_buttons(event))
    return shown, ui.preview_controls(draft, count, set(flow["topics"]), flow.get("send_at"))


async def admin_button(action: str, update: Update, user_data: dict[Any, Any],
                       announcing: Announcing, report_to: tuple[int, int] | None
                       ) -> tuple[Reply | None, Reply | None]:
    """Handle an ann:* button; returns (new content of the message, a preview to send first)."""
    if not is_admin(update, announcing):
        return Reply(ui.ADMIN["refused"]), None
    parts = action.split(":")
    flow = user_data.get(FLOW)
    kind = parts[1] if len(parts) > 1 else ""
    if kind == "aud" and flow:
        flow["topics"] = ui.toggle(set(flow["topics"]), parts[2])
        return ui.audience_keyboard(flow["topics"]), None
    if kind == "when" and flow:
        flow["step"] = "when"
        return ui.when_keyboard(), None
    if kind == "at" and flow:
        flow["send_at"] = choose_when(parts[2], datetime.now(UTC))
        shown, controls = await preview(flow, announcing)
        return controls, shown
    number = ascii_int(parts[2]) if len(parts) == 3 else None
    if kind in ("ok", "no") and number is not None:
        user_data.pop(FLOW, None)
        broadcast = number
        if kind == "no":
            await outbox.change(announcing.db, broadcast, "cancel")
            return Reply(ui.ADMIN["cancelled"]), None
        count = await outbox.confirm(announcing.db, broadcast)
        summary = await outbox.summary(announcing.db, broadcast)
        if summary is None or count == 0:
            return Reply(ui.ADMIN["empty_audience"]), None
        if report_to:
            announcing.reports[broadcast] = report_to
        if summary.state == outbox.SCHEDULED and summary.send_at:
            return Reply(ui.ADMIN["scheduled"].format(id=broadcast, count=count,
                                                      when=format_date(summary.send_at))), None
        return Reply(ui.ADMIN["confirmed"].format(id=broadcast, count=count)), None
    if kind == "abort":
        user_data.pop(FLOW, None)
        return Reply(ui.ADMIN["cancelled"]), None
    if kind in outbox.TRANSITIONS and number is not None:
        broadcast = number
        changed = await outbox.change(announcing.db, broadcast, kind)
        summary = await outbox.summary(announcing.db, broadcast)
        state = ui.STATE_FR.get(summary.state, summary.state) if summary else "?"
        key = "changed" if changed else "not_changed"
        return Reply(ui.ADMIN[key].format(id=broadcast, state=state)), None
    return None, None


async def list_broadcasts(announcing: Announcing) -> list[Reply]:
    """/annonces: one message per recent broadcast, with controls when it is active."""
    found = await outbox.recent(announcing.db, limit=10)
    if not found:
        return [Reply(ui.ADMIN["list_none"])]
    return [Reply(ui.report(s), (controls,) if (controls := ui.broadcast_controls(s)) else ())
            for s in reversed(found)]


async def reminders_forever(announcing: Announcing, ahead: timedelta,
                            every: float = 60.0) -> None:
    """Create due reminders every minute (the outbox makes each one happen once)."""
    while True:
        try:
            created = await create_reminders(announcing.db, announcing.faq, datetime.now(UTC),
                                             ahead)
            if created:
                log.info("%d event reminder(s) queued", len(created))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reminder check failed; retrying")
        await asyncio.sleep(every)
