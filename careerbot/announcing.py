"""Subscriptions, organisers' announcements and event reminders, for any channel.

It knows no Telegram type: a channel passes chat ids, texts and decoded button actions, and
renders the replies it gets. An organiser's draft lives in the database (careerbot.storage.drafts)
and changes only through careerbot.drafting; this module turns typed messages and buttons into its
events, and its outcomes into replies. Every organiser action (command or button) checks the user
id against CAREERBOT_ADMIN_IDS again: forged callback data from a non-admin gets a polite refusal
and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from careerbot import announcements as ui
from careerbot import callbacks as cb
from careerbot import drafting, event_screens
from careerbot.agenda import Agenda
from careerbot.announcements import event_buttons
from careerbot.conversation import Lang, Reply, format_date
from careerbot.drafting import Draft, Outcome, Transition
from careerbot.faq import Event, Faq
from careerbot.privacy import user_tag
from careerbot.regions import ONLINE
from careerbot.storage import drafts, feedback, outbox, subscribers
from careerbot.storage import events as stored_events
from careerbot.storage.outbox import Sessions
from careerbot.telegram_html import escape

log = logging.getLogger("careerbot.announce")
TOPIC_KEYS = frozenset(key for key, _, _ in ui.TOPICS if key != ui.ALL)
SAVE_ATTEMPTS = 3  # a concurrent tap saved first: read the draft again and retry


@dataclass
class Announcing:
    """What the announcement handlers share."""

    db: Sessions
    admins: frozenset[int]
    faq: Faq
    tag_key: str = ""  # secret that keys the users' one-way tags (the bot token)
    agenda: Agenda = field(default_factory=Agenda)  # every event: the FAQ's and the stored ones
    # Organisers' buttons one at a time in this process: a double tap on "Envoyer" or on a resend
    # is settled by the drafts' compare-and-set, but never reaches the outbox twice at once.
    organiser_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if not self.agenda.listed:
            self.agenda.listed = self.faq.events

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


async def event_audience(db: Sessions, event: Event) -> list[int]:
    """Who hears about an event (its reminder, its cancellation): its topics' followers, in its
    region (or with none). The one place that says so.
    """
    return await subscribers.audience(db, event_topics(event), event.region)


async def create_reminders(db: Sessions, agenda: Agenda, now: datetime,
                           ahead: timedelta) -> list[int]:
    """Create and confirm the reminder of each event starting within `ahead`, once per date (an
    event moved to another date gets a reminder for its new date); it goes to the event's
    audience (`event_audience`), fixed at confirmation, and later to those who subscribe before
    the event starts (`late_reminders`).
    """
    created = []
    for event in agenda.events:
        if not now < event.start <= now + ahead:
            continue
        try:
            broadcast = await outbox.create(db, reminder_text(event), event_topics(event),
                                            kind="reminder", event_id=event.id,
                                            region=event.region)
            if agenda.is_stored(event.id) and not await stored_events.drop_reminder_unless_due(
                    db, event):
                continue  # cancelled or moved since the agenda was read
        except IntegrityError:  # already reminded (even before a restart): once is enough,
            found = await outbox.reminder_of(db, event.id)  # unless a stop came before confirming
            if found is None or not await outbox.confirm(
                    db, found, chats=await event_audience(db, event)):
                continue
            broadcast = found
        else:
            await outbox.confirm(db, broadcast, chats=await event_audience(db, event))
        created.append(broadcast)
    return created


async def late_reminders(db: Sessions, events: Iterable[Event], chat_id: int,
                         now: datetime) -> list[int]:
    """Queue for a chat that just subscribed, or changed its choice, the reminders already sent
    or being sent for events still to come that concern it, once each (outbox.add_late_recipient).
    """
    coming = [event.id for event in events if event.start > now]
    return await outbox.add_late_recipient(db, chat_id, coming)


# --- candidates -----------------------------------------------------------------------------


async def subscribe_start(chat_id: int, db: Sessions, lang: Lang) -> Reply:
    """/abonner: the topic keyboard with the current choice (its regions one screen away)."""
    current = await subscribers.topics_of(db, chat_id)
    return ui.choose_topics(current or set(), lang, await subscribers.regions_of(db, chat_id))


async def my_subscriptions(chat_id: int, db: Sessions, lang: Lang) -> Reply:
    """/mesabonnements."""
    topics = await subscribers.topics_of(db, chat_id)
    if topics is None:
        return ui.text("not_subscribed", lang)
    regions = ui.describe_regions(await subscribers.regions_of(db, chat_id), lang)
    return ui.text("mine", lang, topics=ui.describe(topics, lang), regions=regions)


async def unsubscribe(chat_id: int, db: Sessions, lang: Lang) -> Reply:
    """/desabonner."""
    done = await subscribers.unsubscribe(db, chat_id)
    return ui.text("unsubscribed" if done else "not_subscribed", lang)


SubscriptionButton = (cb.ToggleTopic | cb.SaveTopics | cb.KeepTopics | cb.OpenRegions
                      | cb.ToggleRegion | cb.BackToTopics | cb.SaveRegions)


async def subscription_button(action: SubscriptionButton, shown: Sequence[tuple[str, str | None]],
                              chat_id: int, announcing: Announcing, lang: Lang,
                              now: datetime | None = None) -> Reply:
    """A topic or region toggles, the screens swap, save stores, keep leaves things as they were.

    `shown` is the pressed keyboard, (label, payload) per button: the labels hold the choice in
    progress on this screen, a payload carries the other screen's (see ui.carried).
    """
    labels = [label for label, _ in shown]
    topics, regions = ui.carried(cb.decode(data) for _, data in shown if data)
    match action:
        case cb.KeepTopics():
            return ui.text("kept", lang)
        case cb.ToggleTopic(topic=topic):
            selected = ui.selected_in(labels)
            if topic in ui.TOPIC_ORDER:  # a forged topic: nothing to tick
                selected = ui.toggle(selected, topic)
            if regions is None:  # a keyboard drawn before regions: keep the stored ones
                regions = await subscribers.regions_of(announcing.db, chat_id)
            return ui.choose_topics(selected, lang, regions)
        case cb.OpenRegions():
            return ui.choose_regions(regions or set(), ui.selected_in(labels), lang)
        case cb.ToggleRegion(region=region):
            chosen = ui.regions_in(labels)
            if region in ui.PLACE_ORDER:
                chosen ^= {region}
            return ui.choose_regions(chosen, topics or set(), lang)
        case cb.BackToTopics():
            return ui.choose_topics(topics or set(), lang, ui.regions_in(labels))
        case cb.SaveRegions():
            regions = ui.regions_in(labels)
            if not topics:
                return ui.choose_topics(set(), lang, regions, note="pick_topic")
            return await _save(chat_id, topics, regions, announcing, lang, now)
    # SaveTopics: regions as carried by the keyboard, or as stored under one drawn before them
    return await _save(chat_id, ui.selected_in(labels), regions, announcing, lang, now)


async def _save(chat_id: int, topics: set[str], regions: set[str] | None, announcing: Announcing,
                lang: Lang, now: datetime | None) -> Reply:
    """Store a subscription (or end it when no topic is chosen), then queue the reminders the
    chat would have got had it subscribed earlier.
    """
    db = announcing.db
    if not topics:
        await subscribers.unsubscribe(db, chat_id)
        return ui.text("nothing_chosen", lang)
    await subscribers.subscribe(db, chat_id, lang, topics, regions)
    await late_reminders(db, announcing.agenda.events, chat_id, now or datetime.now(UTC))
    where = ui.describe_regions(await subscribers.regions_of(db, chat_id), lang)
    return ui.text("saved", lang, topics=ui.describe(topics, lang), regions=where)


async def forget_button(action: cb.Forget, chat_id: int, tag: str, db: Sessions,
                        lang: Lang) -> Reply:
    """Erase everything about the chat and the user's tagged questions and ratings, or keep it."""
    if action.erase:
        await subscribers.forget(db, chat_id)
        await feedback.forget_tagged(db, tag)
        return ui.text("forgotten", lang)
    return ui.text("kept", lang)


# --- organisers -----------------------------------------------------------------------------


def is_admin(user_id: int | None, announcing: Announcing) -> bool:
    """Whether the user is an organiser (checked on every action)."""
    return user_id is not None and user_id in announcing.admins


@dataclass(frozen=True, slots=True)
class Answer:
    """What an organiser's button does on screen: a toast, the pressed message's new content,
    and new messages to send after it, in order.
    """

    toast: str | None = None
    edit: Reply | None = None
    send: tuple[Reply, ...] = ()


async def start_draft(owner: int, args: list[str], announcing: Announcing,
                      html: str | None = None) -> Reply:
    """/annonce [texte] or /annonce evenement [id]: a new draft (replacing an unconfirmed one
    and any event draft left open); without an id, the events to come as buttons.

    `html` is the text after the command with its formatting (bold, links, line breaks), as
    Telegram HTML; without it the words of `args` are taken as plain text.
    """
    await stored_events.close_drafts(announcing.db, owner)
    if len(args) == 1 and args[0].lower() in ("evenement", "événement", "event"):
        return event_screens.events_to_announce(announcing.agenda.upcoming(datetime.now(UTC)))
    if len(args) >= 2 and args[0].lower() in ("evenement", "événement", "event"):
        event = announcing.agenda.find(args[1])
        if event is None:
            ids = ", ".join(e.id for e in announcing.agenda.upcoming(datetime.now(UTC))) or "aucun"
            return Reply(ui.ADMIN["unknown_event"].format(id=escape(args[1]), ids=escape(ids)))
        draft = await drafts.start(announcing.db, owner, text=event_announcement(event),
                                   topics=event_topics(event), event_id=event.id,
                                   region=regional_place(event))
        return ui.audience_keyboard(draft, regional_place(event))
    if args:
        text = html.strip() if html and html.strip() else escape(" ".join(args))
        draft = await drafts.start(announcing.db, owner, text=text)
        return ui.audience_keyboard(draft)
    await drafts.start(announcing.db, owner)
    return Reply(ui.ADMIN["ask_text"])


def regional_place(event: Event | None) -> str | None:
    """The region an announcement of this event is limited to by default: its own, unless it
    concerns every region (online, or tied to no place).
    """
    if event is None or event.region is None or event.region == ONLINE:
        return None
    return event.region


async def abandon_draft(owner: int, announcing: Announcing) -> Reply:
    """/annuler: drop the organiser's announcement draft in progress, if any."""
    draft = await drafts.current(announcing.db, owner)
    if draft is not None:
        await _apply(draft, drafting.Abandon(), None, announcing, report_to=None)
    return Reply(ui.ADMIN["cancelled"])


async def draft_message(owner: int, html: str, plain: str,
                        announcing: Announcing) -> tuple[Reply, ...] | None:
    """A message from an organiser with a draft waiting for text or a date (or "annuler");
    the replies to send, or None when the message is not for the draft (a question).
    """
    draft = await drafts.current(announcing.db, owner)
    if draft is None:
        return None
    event = drafting.typed(html, plain)
    if not isinstance(event, drafting.Abandon) and draft.step not in (drafting.Step.TEXT,
                                                                      drafting.Step.WHEN):
        return None
    answer = await _apply(draft, event, None, announcing, report_to=None)
    # Typed input edits no message: what a button would show in place comes as a new message.
    return (*((answer.edit,) if answer.edit else ()), *answer.send,
            *((Reply(answer.toast),) if answer.toast else ()))


async def draft_button(action: cb.DraftButton, pressed: tuple[int, int],
                       announcing: Announcing) -> Answer:
    """A button of a draft, checked against the draft's current step and version; `pressed` is
    the (chat, message) it was under, where the live report will show after a confirmation.
    """
    draft = await drafts.get(announcing.db, action.draft)
    if draft is None or draft.owner != pressed[0]:
        return Answer(toast=ui.ADMIN["unknown_draft"])
    event = draft_event(action, datetime.now(UTC),
                        regional_place(announcing.agenda.find(draft.event_id) if draft.event_id else None))
    if event is None:
        return Answer(toast=ui.ADMIN["unknown_draft"])
    return await _apply(draft, event, action.version, announcing, report_to=pressed)


def draft_event(action: cb.DraftButton, now: datetime,
                place: str | None = None) -> drafting.Event | None:
    """The draft event a button stands for (None for a topic, time or region no button offers);
    `place` is the region of the draft's event, if it has one.
    """
    match action:
        case cb.AudienceTopic(topic=topic):
            return drafting.Toggle(topic) if topic in TOPIC_KEYS else None
        case cb.AudienceEveryone():
            return drafting.Everyone()
        case cb.AudienceRegion(regional=regional):
            if place is None:
                return None
            return drafting.Region(place if regional else None)
        case cb.AudienceDone():
            return drafting.Next()
        case cb.SendTime(choice=choice):
            return drafting.schedule(choice, now)
        case cb.ConfirmDraft():
            return drafting.Confirm()
        case cb.AbandonDraft():
            return drafting.Abandon()
    return None


async def _apply(draft: Draft, event: drafting.Event, version: int | None,
                 announcing: Announcing, *, report_to: tuple[int, int] | None) -> Answer:
    """Step the draft, store the result (retrying if a concurrent tap saved first), show it."""
    for _ in range(SAVE_ATTEMPTS):
        moved = drafting.step(draft, event, version=version)
        if not moved.changed:
            if (moved.outcome is Outcome.ALREADY_CONFIRMED
                    and await outbox.confirm(announcing.db, draft.id)):
                # The bot stopped between storing the confirmation and queueing the broadcast:
                # the organiser's second tap queues it (confirm takes a draft only once).
                return await _confirmed(draft, announcing)
            return Answer(toast=ui.ADMIN[str(moved.outcome)])
        target = report_to if moved.outcome is Outcome.CONFIRMED else None
        if await drafts.save(announcing.db, draft, moved.draft, report_to=target):
            return await _show(moved, announcing)
        found = await drafts.get(announcing.db, draft.id)
        if found is None:
            break
        draft = found
    return Answer(toast=ui.ADMIN["busy"])


async def _show(moved: Transition, announcing: Announcing) -> Answer:
    """What the organiser sees after a saved transition."""
    draft = moved.draft
    match moved.outcome:
        case Outcome.ASK_AUDIENCE | Outcome.AUDIENCE_CHANGED:
            place = regional_place(announcing.agenda.find(draft.event_id) if draft.event_id else None)
            return Answer(edit=ui.audience_keyboard(draft, place))
        case Outcome.ASK_WHEN:
            return Answer(edit=ui.when_keyboard(draft))
        case Outcome.PREVIEW:
            count = len(await subscribers.audience(announcing.db, recipients(draft),
                                                   draft.region))
            event = announcing.agenda.find(draft.event_id) if draft.event_id else None
            return Answer(send=(Reply(draft.text, event_buttons(event)),
                                ui.preview_controls(draft, count)))
        case Outcome.CONFIRMED:
            await outbox.confirm(announcing.db, draft.id)
            return await _confirmed(draft, announcing)
    return Answer(edit=Reply(ui.ADMIN["cancelled"]))


def recipients(draft: Draft) -> frozenset[str]:
    """The topics a draft goes to; none means every subscriber (the outbox's convention)."""
    return frozenset() if draft.everyone else draft.topics


async def _confirmed(draft: Draft, announcing: Announcing) -> Answer:
    """The controls message becomes the confirmation; the live report will replace it."""
    summary = await outbox.summary(announcing.db, draft.id)
    if summary is None or summary.total == 0:
        return Answer(edit=Reply(ui.ADMIN["empty_audience"]))
    if summary.state == outbox.SCHEDULED and summary.send_at:
        return Answer(edit=Reply(ui.ADMIN["scheduled"].format(
            id=draft.id, count=summary.total, when=format_date(summary.send_at))))
    return Answer(edit=Reply(ui.ADMIN["confirmed"].format(id=draft.id, count=summary.total)))


async def broadcast_button(action: cb.BroadcastButton, pressed: tuple[int, int],
                           announcing: Announcing) -> Answer:
    """Pause, resume, cancel, or send again to the uncertain recipients (after a warning);
    `pressed` is the (chat, message) of the report, which follows the resend.
    """
    number = action.broadcast
    db = announcing.db
    summary = await outbox.summary(db, number)
    if summary is None:
        return Answer(toast=ui.ADMIN["not_changed"].format(id=number))
    match action:
        case cb.AskResend():
            if not ui.uncertain(summary):
                return Answer(toast=ui.ADMIN["nothing_to_resend"], edit=ui.report_reply(summary))
            return Answer(edit=ui.resend_confirmation(summary))
        case cb.KeepUncertain():
            return Answer(edit=ui.report_reply(summary))
        case cb.ConfirmResend():
            count = await outbox.resend_unknown(db, number)
            if not count:
                return Answer(toast=ui.ADMIN["nothing_to_resend"])
            await drafts.set_report_target(db, number, *pressed)
            return Answer(edit=Reply(ui.ADMIN["resending"].format(id=number, count=count)))
    verb = {cb.PauseBroadcast: "pause", cb.ResumeBroadcast: "resume",
            cb.CancelBroadcast: "cancel"}.get(type(action))
    changed = verb is not None and await outbox.change(db, number, verb)
    summary = await outbox.summary(db, number) or summary
    state = ui.STATE_FR.get(summary.state, summary.state)
    headline = ui.ADMIN["changed" if changed else "not_changed"].format(id=number, state=state)
    return Answer(edit=ui.report_reply(summary, headline))


async def list_broadcasts(announcing: Announcing) -> list[Reply]:
    """/annonces: one message per recent broadcast, with its controls."""
    found = [await outbox.summary(announcing.db, number)
             for number in await drafts.confirmed(announcing.db, limit=10)]
    summaries = [s for s in found if s is not None]
    if not summaries:
        return [Reply(ui.ADMIN["list_none"])]
    return [ui.report_reply(s) for s in reversed(summaries)]


async def refresh(announcing: Announcing) -> None:
    """Read the stored events again (after a write here, or to see another instance's)."""
    announcing.agenda.stored = await stored_events.live(announcing.db)


async def refresh_forever(announcing: Announcing, every: float = 0.5) -> None:
    """Keep the agenda's stored events within `every` seconds of the database: a cheap
    fingerprint each time, the events read again only when it changed.
    """
    seen: tuple[int, int] | None = None
    while True:
        try:
            now = await stored_events.stamp(announcing.db)
            if now != seen:
                await refresh(announcing)
                seen = now
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database is away: keep the events we have
            log.warning("stored events not refreshed (%s)", type(error).__name__)
        await asyncio.sleep(every)


async def reminders_forever(announcing: Announcing, ahead: timedelta,
                            every: float = 60.0) -> None:
    """Create due reminders every minute (the outbox makes each one happen once)."""
    while True:
        try:
            await refresh(announcing)  # events another instance added a moment ago
            created = await create_reminders(announcing.db, announcing.agenda,
                                             datetime.now(UTC), ahead)
            if created:
                log.info("%d event reminder(s) queued", len(created))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reminder check failed; retrying")
        await asyncio.sleep(every)
