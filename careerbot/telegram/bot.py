"""careerbot on Telegram: python-telegram-bot handlers around the channel-agnostic Conversation.

Handlers read the update, ask `Conversation` for a `Reply` and render it; decisions live in the
core. Logs carry what an operator needs (which outcome, which error) and never the token, a user's
identity or what they wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, cast
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from careerbot import announcements as ui
from careerbot import budget, chart, metrics, organising, stats
from careerbot import callbacks as cb
from careerbot.announcing import (
    Announcing,
    Answer,
    abandon_draft,
    broadcast_button,
    draft_button,
    draft_message,
    forget_button,
    is_admin,
    list_broadcasts,
    my_subscriptions,
    refresh,
    refresh_forever,
    start_draft,
    subscribe_start,
    subscription_button,
    unsubscribe,
)
from careerbot.assistant import MAX_QUESTION, Assistant
from careerbot.broadcasting import Broadcaster
from careerbot.config import Config
from careerbot.conversation import COMMANDS, TEXTS, Button, Conversation, Lang, Reply
from careerbot.faq_reload import Loaded, Reloader
from careerbot.storage import coordination, feedback, subscribers
from careerbot.storage import stats as stored_stats
from careerbot.storage.database import dialect, head_revision, schema_is_current
from careerbot.storage.flood import SharedThrottle
from careerbot.telegram.digest import DigestJob, digest_forever, snapshots_forever
from careerbot.telegram.http import bot_api_request
from careerbot.telegram.keyboard import keyboard as rows_keyboard
from careerbot.telegram.keyboard import keyboard_json
from careerbot.telegram.limits import TelegramRateLimiter
from careerbot.telegram.sending import start_sending
from careerbot.telegram_html import visible_text
from careerbot.throttle import Throttle

log = logging.getLogger("careerbot.telegram")

DESCRIPTION = {
    "fr": ("Vous voulez travailler dans la fonction publique ? Posez vos questions : concours, "
           "catégories A, B, C, contrats, alternance, offres… Un service de l'association FP21."),
    "en": ("Want to work in the French public service? Ask about exams (concours), categories, "
           "contracts, apprenticeships, job offers… A service of the FP21 association."),
}
SHORT_DESCRIPTION = {
    "fr": "Vos questions pour entrer dans la fonction publique, avec FP21.",
    "en": "Your questions about joining the French public service, with FP21.",
}
DROPPED_REPLIES = itertools.count(1)  # numbers the replies given up, since start


@dataclass
class Services:
    """What the handlers share: the assistant (candidates' side), the organisers' chat and,
    when a database is configured, subscriptions and announcements.
    """

    assistant: Assistant
    admin_chat_id: int | None
    announcing: Announcing | None = None
    # Names this process to its peers (heartbeats, leases, updates taken); says nothing of anyone.
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def conversation(self) -> Conversation:
        """The conversation of the FAQ version answering now."""
        return self.assistant.conversation


class CareerContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handler context, with the shared services as a typed property."""

    @property
    def services(self) -> Services:
        """The services registered at start."""
        services: Services = self.bot_data["careerbot"]
        return services


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (None when there are none)."""
    return rows_keyboard(reply.buttons)


def user_id(update: Update) -> int | None:
    """The id of who sent the update (None for a channel post)."""
    return update.effective_user.id if update.effective_user else None


def language(update: Update) -> Lang:
    """English UI for users whose Telegram is in English, French otherwise."""
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "en" if code.startswith("en") else "fr"


async def send(update: Update, reply: Reply) -> None:
    """Send a reply in the chat of the update (as a reply to the message in groups, in the
    same topic in forums).
    """
    message = update.effective_message
    if message is None:
        return
    in_group = message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    bot = cast(TolerantBot, message.get_bot())  # polling and webhook both read updates with it
    await bot.send_reply(message.chat.id, reply.html, keyboard_json(reply.buttons),
                         quote=message.message_id if in_group else None,
                         thread=message.message_thread_id if message.is_topic_message else None)


def command_name(text: str) -> str:
    """The command of a message: "/Themes@careerbot_bot x" -> "themes"."""
    return text.split()[0].lstrip("/").split("@")[0].lower()


async def start(update: Update, context: CareerContext) -> None:
    """/start, with deep links: /start <entry-id>, theme-<id> or parcours."""
    payload = context.args[0] if context.args else ""
    await send(update, context.services.conversation.start(payload, language(update)))


async def command(update: Update, context: CareerContext) -> None:
    """/themes, /parcours, /evenements, /aide and /help."""
    message = update.effective_message
    if message is None or not message.text:
        return
    name = command_name(message.text)
    action = {"themes": cb.Themes(), "parcours": cb.RouteStep(0), "evenements": cb.Events(),
              "events": cb.Events(), "aide": cb.Help(), "help": cb.Help()}.get(name, cb.Menu())
    lang: Lang = "en" if name == "help" else language(update)
    announcing = context.services.announcing
    if (isinstance(action, cb.Events) and announcing is not None
            and message.chat.type == ChatType.PRIVATE and is_admin(user_id(update), announcing)):
        await send(update, await organising.organiser_events(context.services.conversation, lang,
                                                             announcing))
        return
    await send(update, context.services.conversation.follow(action, lang))


async def text(update: Update, context: CareerContext) -> None:
    """A free-text question: answer, suggestions, small talk or fallback."""
    started = time.monotonic()
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.text is None:
        return
    services = context.services
    lang = language(update)
    announcing = services.announcing
    organiser = announcing is not None and is_admin(user_id(update), announcing)
    verdict = "ok" if organiser else await services.assistant.allowed(user.id)  # trusted
    if verdict != "ok":
        if verdict == "warn":
            await send(update, services.conversation.text("slow_down", lang))
        return
    if announcing and organiser and message.chat.type == ChatType.PRIVATE:
        replies = await organising.event_message(message.chat.id, message.text, announcing)
        if replies is None:
            replies = await draft_message(message.chat.id, message.text_html, message.text,
                                          announcing)
        if replies is not None:
            for reply in replies:
                await send(update, reply)
            return
    reply = await services.assistant.answer(user.id, addressed_text(message, context.bot.username),
                                            lang)
    status = reply.match.status if reply.match else "empty"
    log.debug("question: %s", status)  # /metrics counts them; a line per message is noise
    await send(update, reply)
    metrics.REPLIES.labels(outcome=status).inc()
    metrics.REPLY_SECONDS.observe(time.monotonic() - started)


async def take_once(update: Update, context: CareerContext) -> None:
    """Let an update through once, whichever instance gets it (Telegram redelivers a webhook
    call that failed or timed out). Without the database, rather twice than never.

    A webhook call is answered only once its update is handled (`handle_webhook_update`), so a
    copy that comes again means the first call failed: the copy waits while a live instance is
    on it, is skipped once it is handled, and is handled here if its taker died.
    """
    services = context.services
    announcing = services.announcing
    if announcing is None:
        return
    try:
        first = await coordination.first_sight(announcing.db, update.update_id, services.instance)
        while not first:
            state = await coordination.redelivered(announcing.db, update.update_id,
                                                   services.instance)
            if state is coordination.Redelivered.TAKEN:
                log.info("update taken over from an instance that stopped")
                return
            if state is coordination.Redelivered.HANDLED:
                break
            await asyncio.sleep(REDELIVERED_POLL)
    except Exception as error:
        log.warning("could not check whether an update was handled (%s)", type(error).__name__)
        return
    if not first:
        log.info("update already handled: skipped")
        metrics.UPDATES.labels(kind="duplicate").inc()
        raise ApplicationHandlerStop


REDELIVERED_POLL = 0.2  # seconds between looks at an update another instance is handling


async def handle_webhook_update(application: Application[Any, Any, Any, Any, Any, Any],
                                update: Update) -> None:
    """Handle a webhook update before the call is answered, then record it handled: an instance
    killed meanwhile never answered the call, so Telegram sends the update again elsewhere.
    """
    await application.process_update(update)
    services: Services = application.bot_data["careerbot"]
    if services.announcing is not None:
        try:
            await coordination.settle(services.announcing.db, update.update_id)
        except Exception as error:  # a copy would wait for this instance's heartbeat to stop
            log.warning("could not record an update as handled (%s)", type(error).__name__)


async def count_update(update: Update, _: CareerContext) -> None:
    """Count every update by kind, before any handler (for /metrics)."""
    kind = next((name for name in ALLOWED_UPDATES if getattr(update, name, None) is not None),
                "other")
    metrics.UPDATES.labels(kind=kind).inc()


def addressed_text(message: Message, username: str) -> str:
    """The message text without the @mention of the bot (in groups)."""
    mention = f"@{username}".lower()
    result = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.MENTION:
            said = message.parse_entity(entity)
            if said.lower() == mention:
                result = result.replace(said, " ")
    return result.strip()


class AddressedInGroup(filters.MessageFilter):
    """A group message that mentions the bot or replies to one of its messages."""

    def __init__(self, username: Callable[[], str], bot_id: Callable[[], int]) -> None:
        super().__init__(name="AddressedInGroup")
        self.username = username
        self.bot_id = bot_id

    def filter(self, message: Message) -> bool:
        """Whether the bot was addressed."""
        replied = message.reply_to_message
        if replied is not None and replied.from_user and replied.from_user.id == self.bot_id():
            return True
        mention = f"@{self.username()}".lower()
        return any(said.lower() == mention
                   for said in message.parse_entities([MessageEntity.MENTION]).values())


async def stored_command(update: Update, context: CareerContext) -> None:
    """/abonner, /desabonner, /mesabonnements, /oublier; organisers' /annonce, /annonces,
    /evenement (/event) and /annuler.
    """
    message = update.effective_message
    if message is None or not message.text:
        return
    name = command_name(message.text)
    lang = language(update)
    announcing = context.services.announcing
    if announcing is None:
        await send(update, ui.text("no_storage", lang))
        return
    if name in ("annonce", "annonces", "annuler", "evenement", "event") and not is_admin(
            user_id(update), announcing):
        await send(update, Reply(ui.ADMIN["refused"]))
        return
    if name == "abonner":
        await send(update, await subscribe_start(message.chat.id, announcing.db, lang))
    elif name == "desabonner":
        await send(update, await unsubscribe(message.chat.id, announcing.db, lang))
    elif name == "mesabonnements":
        await send(update, await my_subscriptions(message.chat.id, announcing.db, lang))
    elif name == "oublier":
        await send(update, ui.forget_confirmation(lang))
    elif name == "annuler":
        event_draft = await organising.abandon_event(message.chat.id, announcing)
        await send(update, event_draft or await abandon_draft(message.chat.id, announcing))
    elif name in ("evenement", "event"):
        await send(update, await organising.start_event(message.chat.id, announcing))
    elif name == "annonce":
        await send(update, await start_draft(message.chat.id, list(context.args or []),
                                             announcing, after_command(message)))
    elif name == "annonces":
        for reply in await list_broadcasts(announcing):
            await send(update, reply)


async def my_id(update: Update, context: CareerContext) -> None:
    """/monid: anyone's Telegram id, to give the association for the organisers' list (never
    logged).
    """
    user = update.effective_user
    if user is not None:
        await send(update, ui.my_id(user.id, language(update)))


def after_command(message: Message) -> str:
    """The text after a leading /command (or /command@bot) with its formatting, as Telegram
    HTML ("" when there is none, or when formatting overlaps the command).
    """
    command = next((message.parse_entity(entity) for entity in message.entities
                    if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0), None)
    html = message.text_html or ""
    if command is None or not html.startswith(command):
        return ""
    return html.removeprefix(command).strip()


async def stats_picture(update: Update, context: CareerContext) -> None:
    """/stats, for organisers: the picture of what candidates ask (counts only)."""
    message = update.effective_message
    if message is None:
        return
    announcing = context.services.announcing
    if announcing is None:
        await send(update, ui.text("no_storage", language(update)))
        return
    if not is_admin(user_id(update), announcing):
        await send(update, Reply(ui.ADMIN["refused"]))
        return
    found = await stored_stats.current_figures(announcing.db)
    png = await asyncio.to_thread(chart.render_png, found)  # a second of CPU: off the loop
    await message.reply_photo(png, caption=stats.caption(found), filename="stats.png")


async def membership(update: Update, context: CareerContext) -> None:
    """A user who blocks the bot is unsubscribed at once (no need to wait for a failed send)."""
    change = update.my_chat_member
    announcing = context.services.announcing
    if change is None or announcing is None or change.chat.type != ChatType.PRIVATE:
        return
    if change.new_chat_member.status in ("kicked", "left"):
        await subscribers.unsubscribe(announcing.db, change.chat.id)
        log.info("a user blocked the bot: unsubscribed")


async def not_text(update: Update, context: CareerContext) -> None:
    """Stickers, photos, voice, files...: a short polite reply."""
    user = update.effective_user
    if user is None or await context.services.assistant.allowed(user.id) != "ok":
        return
    await send(update, context.services.conversation.text("not_text", language(update)))


async def unknown_command(update: Update, context: CareerContext) -> None:
    """A command the bot does not know (/foo), in private: how to use the bot."""
    user = update.effective_user
    if user is None or await context.services.assistant.allowed(user.id) != "ok":
        return
    await send(update, context.services.conversation.text("unknown_command", language(update)))


async def button(update: Update, context: CareerContext) -> None:
    """A button press: edit the message in place, send a calendar file, or forward a question.

    The query is answered last, so Telegram stops the button's spinner once the result shows.
    """
    query = update.callback_query
    if query is None:
        return
    toast = None
    try:
        toast = await follow(update, context, cb.decode(query.data), query.message)
    except BadRequest as error:
        if not stale(error):
            raise
        log.debug("button on a stale or unchanged message (%s)", type(error).__name__)
    finally:
        try:
            await query.answer(toast)
        except BadRequest as error:
            if not stale(error):
                raise
            log.debug("button answered too late (%s)", type(error).__name__)


# What Telegram answers to a double tap, or a tap on a deleted or too old message: the user did
# nothing wrong and the screen already shows the right thing, so nothing is said.
STALE = ("message is not modified", "message to edit not found", "query is too old",
         "message can't be edited")


def stale(error: BadRequest) -> bool:
    """Whether a 400 only says the button's message or query is gone or already up to date."""
    return any(reason in error.message.lower() for reason in STALE)


async def follow(update: Update, context: CareerContext, action: cb.Action | None,
                 message: MaybeInaccessibleMessage | None) -> str | None:
    """Do what a button's action says; a short notice to show, if any."""
    services = context.services
    lang = language(update)
    announcing = services.announcing
    match action:
        case None:
            return TEXTS[lang]["button_gone"]  # forged, or long retired
        case cb.SendToTeam():
            await forward_to_team(update, context, lang)
            return None
        case cb.Calendar(event=event_id):
            found = services.conversation.ics(event_id)
            if found and isinstance(message, Message):
                name, content = found
                await message.reply_document(document=content, filename=name)
            return None
        case cb.Details():
            # Details come as a second message under the answer, which loses its button: the
            # answer stays on screen and a second tap has nothing left to repeat.
            await send(update, services.conversation.follow(action, lang))
            if isinstance(message, Message):
                await replace(message, Reply(message.text_html,
                                             without_rows(message, lambda a: a == action)))
            return None
        case cb.Feedback() | cb.ToggleTopic() | cb.SaveTopics() | cb.KeepTopics() | cb.Forget() \
                | cb.OpenRegions() | cb.ToggleRegion() | cb.BackToTopics() | cb.SaveRegions() \
                | cb.DraftButton() | cb.BroadcastButton() | cb.Outdated() \
                | cb.EventDraftButton() | cb.EventButton() | cb.AnnounceEvent():
            if announcing is None:
                return ui.TEXTS[lang]["no_storage"]
            return await follow_stored(update, context, announcing, action, message, lang)
    reply = services.conversation.follow(action, lang)
    if not isinstance(message, Message):
        await send(update, reply)  # the message is too old to edit
    else:
        await replace(message, reply)
    return None


async def follow_stored(update: Update, context: CareerContext, announcing: Announcing,
                        action: cb.Action, message: MaybeInaccessibleMessage | None,
                        lang: Lang) -> str | None:
    """Buttons that need the database: subscriptions, forgetting, feedback, announcements."""
    if not isinstance(message, Message):
        return None
    match action:
        case cb.Feedback(entry=entry_id, helpful=helpful):
            user = update.effective_user
            if user is not None:
                await context.services.assistant.rate(user.id, entry_id, helpful,
                                                       message.message_id)
            await replace(message, Reply(message.text_html, without_rows(
                message, lambda a: isinstance(a, cb.Feedback))))
            return ui.TEXTS[lang]["thanks"]
        case cb.ToggleTopic() | cb.SaveTopics() | cb.KeepTopics() | cb.OpenRegions() \
                | cb.ToggleRegion() | cb.BackToTopics() | cb.SaveRegions():
            shown = [(b.text, b.callback_data if isinstance(b.callback_data, str) else None)
                     for row in (message.reply_markup.inline_keyboard
                                 if message.reply_markup else ()) for b in row]
            await replace(message, await subscription_button(action, shown, message.chat.id,
                                                             announcing, lang))
            return None
        case cb.Forget():
            if context.user_data is not None:
                context.user_data.clear()
            user = update.effective_user
            tag = announcing.tag(user.id if user else message.chat.id)
            if action.erase:
                await context.services.assistant.forget_waiting(
                    user.id if user else message.chat.id)
            await replace(message, await forget_button(action, message.chat.id, tag,
                                                       announcing.db, lang))
            return None
    if not is_admin(user_id(update), announcing):
        return ui.ADMIN["refused"]  # a notice: the message stays as it was
    async with announcing.organiser_lock:
        match action:
            case cb.DraftButton():
                answer = await draft_button(action, (message.chat.id, message.message_id),
                                            announcing)
            case cb.BroadcastButton():
                answer = await broadcast_button(action, (message.chat.id, message.message_id),
                                                announcing)
            case cb.EventDraftButton():
                answer = await organising.draft_button(action, message.chat.id, announcing)
            case cb.EventButton():
                answer = await organising.event_button(action, message.chat.id, announcing)
            case cb.AnnounceEvent():
                answer = await organising.announce_button(action, message.chat.id, announcing)
            case _:
                answer = Answer(toast=ui.ADMIN["outdated"])
    if answer.edit is not None:
        await replace(message, answer.edit)
    for reply in answer.send:
        await message.reply_text(reply.html, reply_markup=keyboard(reply))
    return answer.toast


def without_rows(message: Message,
                 dropped: Callable[[cb.Action | None], bool]) -> tuple[tuple[Button, ...], ...]:
    """The message's buttons without the rows holding an action `dropped` selects."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else ()
    return tuple(tuple(Button(b.text, b.callback_data if isinstance(b.callback_data, str)
                              else None, b.url) for b in row)
                 for row in rows if not any(
                     isinstance(b.callback_data, str) and dropped(cb.decode(b.callback_data))
                     for b in row))


async def replace(message: Message, reply: Reply) -> None:
    """Edit a message to show a reply, unless it already does."""
    if not unchanged(message, reply):
        await message.edit_text(reply.html, reply_markup=keyboard(reply))


def unchanged(message: Message, reply: Reply) -> bool:
    """Whether the message already shows this reply (same text and buttons)."""
    return message.text == visible_text(reply.html) and message.reply_markup == keyboard(reply)


async def forward_to_team(update: Update, context: CareerContext, lang: Lang) -> None:
    """Send the user's last unanswered question to the organisers' chat, without identity."""
    services = context.services
    user = update.effective_user
    if services.admin_chat_id is None or user is None:
        await send(update, services.conversation.text("team_nothing", lang))
        return
    outcome, question = await services.assistant.question_for_team(user.id)
    if outcome != "sent" or question is None:
        await send(update, services.conversation.text(f"team_{outcome}", lang))
        return
    await context.bot.send_message(services.admin_chat_id,
                                   services.conversation.team_message(question))
    log.info("question forwarded to the organisers")
    await send(update, services.conversation.text("team_sent", lang))


async def inline(update: Update, context: CareerContext) -> None:
    """Inline mode: @bot question in any chat offers the best answers to share."""
    query = update.inline_query
    if query is None:
        return
    lang: Lang = "en" if (query.from_user.language_code or "").startswith("en") else "fr"
    results = []
    for entry, answer in context.services.conversation.inline(query.query[:MAX_QUESTION], lang):
        links = "\n".join(f'🔗 <a href="{link.url}">{link.label}</a>' for link in entry.links)
        preview = visible_text(answer).replace("\n", " ")
        results.append(InlineQueryResultArticle(
            id=entry.id,
            title=entry.en.question if lang == "en" and entry.en else entry.question,
            description=preview[:120],
            input_message_content=InputTextMessageContent(
                f"{answer}\n\n{links}".strip(), parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True)),
        ))
    # Telegram keeps the results for cache_time: short, so a new event shows in shared answers
    # soon, while a burst of the same query is still served from Telegram's cache.
    await query.answer(results, cache_time=30, is_personal=False)


async def on_error(update: object, context: CareerContext) -> None:
    """Log an error (without user data), tell the user when it is our bug, and carry on."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user blocked the bot; reply dropped")  # expected, not a fault of ours
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Retries are spent (or unsafe: a timed-out send may have arrived). Another message
        # would fail the same way or duplicate the reply.
        log.warning("Bot API unreachable after retries (%s); reply dropped (%d since start)",
                    type(error).__name__, next(DROPPED_REPLIES))
        return
    log.error("handler failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await send(update, context.services.conversation.text("error", language(update)))
        except Exception:  # the error may be the network itself: logging it is all we can do
            log.warning("could not tell the user about the error")


async def register_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register commands and descriptions, in French and English, at start (all at once: six
    round trips one after the other would delay the first answer).
    """
    bot = application.bot
    requests = []
    for lang, index in (("fr", 1), ("en", 2)):
        code = None if lang == "fr" else "en"
        commands = [BotCommand(c[0], c[index]) for c in COMMANDS]
        requests += [bot.set_my_commands(commands, scope=BotCommandScopeDefault(),
                                         language_code=code),
                     bot.set_my_description(DESCRIPTION[lang], language_code=code),
                     bot.set_my_short_description(SHORT_DESCRIPTION[lang], language_code=code)]
    announcing = application.bot_data["careerbot"].announcing
    organisers = [BotCommand(*c[:2]) for c in (*COMMANDS, *ui.ORGANISER_COMMANDS)]
    requests += [_organiser_menu(bot, admin, organisers)
                 for admin in (announcing.admins if announcing is not None else ())]
    await asyncio.gather(*requests)
    log.info("bot @%s ready", bot.username)


async def _organiser_menu(bot: ExtBot[Any], admin: int, commands: list[BotCommand]) -> None:
    """An organiser's own menu, with their commands (Telegram refuses a chat that never wrote
    to the bot: they get the public menu until the next start).
    """
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
    except TelegramError as error:
        log.info("an organiser's menu was not set (%s)", type(error).__name__)


NO_PREVIEW = json.dumps({"is_disabled": True})  # link_preview_options of every message


class TolerantBot(ExtBot[Any]):
    """An ExtBot that skips the updates python-telegram-bot cannot read.

    Without it one such update (a poll from a Bot API server older than 9.6, say) makes
    getUpdates fail on every call: polling never gets past it and nobody is answered. The update
    is replaced by an empty one with the same update_id, so the offset moves on, no handler runs,
    and one line says so, without its content. A batch is parsed once; only a batch that fails is
    parsed again, update by update.
    """

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """The updates, each readable one parsed once, the unreadable ones emptied."""
        self._last_batch: list[Any] = []
        try:
            return await super().get_updates(*args, **kwargs)
        except NetworkError:
            raise
        except Exception:  # a parsing failure: the library's own, not the user's
            if not self._last_batch:
                raise
            return tuple(self._readable(raw) for raw in self._last_batch)

    async def _post(self, endpoint: str, data: dict[str, Any] | None = None,
                    **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            self._last_batch = result
        return result

    async def send_reply(self, chat_id: int, html: str, markup: str | None = None, *,
                         quote: int | None = None, thread: int | None = None) -> None:
        """A reply, at a third of the CPU of `send_message` (0.1 ms against 0.38 ms
        for an answer with its buttons): the keyboard goes as the JSON kept with it
        (keyboard_json), the options as constants, and the message sent is not read back into
        objects, since nothing here uses it. The same rate limiter, the same errors.
        """
        params: dict[str, Any] = {"chat_id": chat_id, "text": html, "parse_mode": "HTML",
                                  "link_preview_options": NO_PREVIEW}
        if markup is not None:
            params["reply_markup"] = markup
        if quote is not None:
            params["reply_parameters"] = json.dumps({"message_id": quote})
        if thread is not None:
            params["message_thread_id"] = thread
        await self._post("sendMessage", params)

    def _readable(self, raw: Any) -> Update:
        try:
            return Update.de_json(raw, self)
        except Exception as error:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("skipped update %s that python-telegram-bot cannot read (%s)",
                        update_id, type(error).__name__)
            return Update(update_id=int(update_id or 0))


def _no_update_contents(record: logging.LogRecord) -> bool:
    # python-telegram-bot logs a batch it cannot parse with its whole content (users' messages):
    # TolerantBot handles that batch, and logs one line without content.
    return not record.getMessage().startswith("Error while parsing updates")


def build_application(config: Config, conversation: Conversation, *,
                      throttle: Throttle | None = None, announcing: Announcing | None = None,
                      concurrency: int = 64) -> Application[Any, Any, Any, Any, Any, Any]:
    """The python-telegram-bot Application with every handler registered."""
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).addFilter(_no_update_contents)
    bot = TolerantBot(
        config.token, base_url=config.base_url, base_file_url=f"{config.api_root}/file/bot",
        defaults=Defaults(parse_mode=ParseMode.HTML,
                          link_preview_options=LinkPreviewOptions(is_disabled=True)),
        rate_limiter=TelegramRateLimiter(),
        # As ApplicationBuilder would: a pool for concurrent replies, one connection for polling.
        request=bot_api_request(256), get_updates_request=bot_api_request())
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(concurrency)
        .context_types(ContextTypes(context=CareerContext))
        .post_init(register_commands)
        .build()
    )
    shared = (SharedThrottle(announcing.db)
              if announcing is not None and dialect(announcing.db) == "postgresql" else None)
    assistant = Assistant(conversation, db=announcing.db if announcing else None,
                          tag_key=config.token, throttle=throttle or Throttle(),
                          shared_throttle=shared)
    application.bot_data["careerbot"] = Services(assistant, config.admin_chat_id, announcing)
    new_messages = filters.UpdateType.MESSAGE  # edited messages are ignored on purpose
    private = filters.ChatType.PRIVATE
    addressed = AddressedInGroup(lambda: bot.username, lambda: bot.id)
    handlers: Sequence[Any] = (
        CommandHandler("start", start, filters=new_messages),
        CommandHandler(["themes", "parcours", "evenements", "events", "aide", "help"], command,
                       filters=new_messages),
        CommandHandler(["abonner", "desabonner", "mesabonnements", "oublier", "annonce",
                        "annonces", "annuler", "evenement", "event"], stored_command,
                       filters=new_messages & private),
        CommandHandler("monid", my_id, filters=new_messages & private),
        CommandHandler("stats", stats_picture, filters=new_messages),
        MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND
                       & (private | (filters.ChatType.GROUPS & addressed)), text),
        MessageHandler(new_messages & private & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                       not_text),
        MessageHandler(new_messages & private & filters.COMMAND, unknown_command),
        CallbackQueryHandler(button),
        InlineQueryHandler(inline),
        ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER),
    )
    if config.webhook_url is not None:
        # Only a webhook redelivers an update. By polling, the next getUpdates confirms a batch
        # as soon as it is queued, and Telegram lets one poller in at a time: an update comes
        # once, and checking it in the database cost a transaction on every message.
        application.add_handler(TypeHandler(Update, take_once), group=-2)
    application.add_handler(TypeHandler(Update, count_update), group=-1)
    application.add_handlers(list(handlers))
    application.add_error_handler(on_error)
    return application


# Exactly the updates the handlers read (the webhook and polling ask for the same).
ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]


def run(config: Config, loaded: Loaded, announcing: Announcing | None = None) -> None:
    """Run the bot until interrupted: long polling, or a webhook when CAREERBOT_WEBHOOK_URL is
    set; with CAREERBOT_LISTEN (or a webhook), health, readiness and metrics on that port too.
    """
    if announcing is not None:  # one agenda: the FAQ's events and the stored ones, kept current
        loaded.conversation.agenda = announcing.agenda
    application = build_application(config, loaded.conversation, announcing=announcing)
    application.post_init = starting(config, loaded, announcing)
    if config.role != "worker" and config.webhook_url is None and config.listen is None:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        return
    asyncio.run(run_with_web(application, config, announcing))


async def run_with_web(application: Application[Any, Any, Any, Any, Any, Any], config: Config,
                       announcing: Announcing | None) -> None:
    """Serve the web endpoints while updates come by webhook, or by polling beside them; a
    worker takes no updates, and serves the endpoints only with CAREERBOT_LISTEN.
    """
    from careerbot.telegram.web import serving, until_stopped, web_app  # Starlette, uvicorn

    fetch = config.role != "worker"
    path = (urlsplit(config.webhook_url).path or "/") if fetch and config.webhook_url else None
    app = web_app(partial(handle_webhook_update, application), ready=readiness(announcing),
                  bot=application.bot, webhook_path=path,
                  secret=config.webhook_secret)
    async with application:
        if application.post_init:
            await application.post_init(application)
        # Listening before setWebhook, since Telegram may push at once.
        web = await serving(app, config.listen) if config.listen else until_stopped()
        if fetch and config.webhook_url:
            # Idempotent; never deleted at shutdown, since another instance may still serve it.
            await application.bot.set_webhook(config.webhook_url,
                                              secret_token=config.webhook_secret,
                                              allowed_updates=ALLOWED_UPDATES)
        elif fetch and application.updater:
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES,
                                                    drop_pending_updates=False)
        await application.start()
        try:
            await web
        finally:
            if application.updater and application.updater.running:
                await application.updater.stop()
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)


def readiness(announcing: Announcing | None) -> Callable[[], Awaitable[bool]]:
    """Ready when the database answers with its schema at head (a FAQ is loaded before start)."""
    head = head_revision()

    async def ready() -> bool:
        return announcing is None or await schema_is_current(announcing.db, head)
    return ready


def starting(config: Config, loaded: Loaded,
             announcing: Announcing | None) -> Callable[..., Coroutine[Any, Any, None]]:
    """The start-up hook: commands and message counts (web), broadcasts, reminders, subscriber
    snapshots and the weekly digest (worker, with a database), live reloads (all roles).
    """

    async def start(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if config.role != "worker":
            await register_commands(application)
        start_reloads(application, config, loaded, announcing)
        settle_memory_soon()
        if announcing is None:
            return
        await refresh(announcing)  # the stored events, before the first update
        keep_running(application, refresh_forever(announcing), "events")
        services: Services = application.bot_data["careerbot"]
        instance = services.instance
        broadcaster = (start_sending(application, config, announcing, instance)
                       if config.role != "web" else None)
        if config.role != "worker":
            keep_running(application, tidy(announcing, services.assistant.shared_throttle),
                         "tidy")
            keep_running(application, stored_stats.flush_forever(announcing.db,
                                                                 services.assistant.tally),
                         "stats-flush")
            at_stop(application, services.assistant.close)
        if config.role != "web":
            keep_running(application, snapshots_forever(announcing.db), "stats-snapshots")
            if config.admin_chat_id is not None:
                job = DigestJob(announcing.db, config.admin_chat_id, instance,
                                lambda: services.conversation)
                keep_running(application, digest_forever(application.bot, job), "digest")
        # Alive before the first update: a copy of an update this instance takes must not
        # mistake it for a dead one (see take_once).
        with contextlib.suppress(Exception):
            await coordination.beat(announcing.db, instance, config.role, 0.0)
        keep_running(application, share_budget(application, config, announcing, instance,
                                               broadcaster), "budget")

    return start


async def share_budget(application: Application[Any, Any, Any, Any, Any, Any], config: Config,
                       announcing: Announcing, instance: str, broadcaster: Broadcaster | None,
                       every: float = 0.5) -> None:
    """Every half second: tell the peers how busy this instance is, and keep to its share of
    Telegram's budget (see budget.py); at the end, leave, so the others take the whole budget at
    once.
    """
    limiter = application.bot.rate_limiter
    counted, since = (limiter.replies if isinstance(limiter, TelegramRateLimiter) else 0,
                      time.monotonic())
    try:
        while True:
            await asyncio.sleep(every)
            replies = limiter.replies if isinstance(limiter, TelegramRateLimiter) else 0
            waiting = limiter.waiting if isinstance(limiter, TelegramRateLimiter) else 0
            # Demand: replies sent per second lately, and those waiting their turn now.
            demand = (replies - counted) / max(time.monotonic() - since, 1e-3) + waiting
            counted, since = replies, time.monotonic()
            try:
                # A peer a whole beat late is counted out of the split: more often dead than
                # slow, and meanwhile its traffic queues on the others. A SIGKILLed web instance
                # held its share for 1.5-2.5 s with a beat a second (a chat p99 of 173 ms on the
                # survivor in the acceptance probe), 1-1.5 s now; a live peer may lag 0.5 s.
                peers = await coordination.beat(announcing.db, instance, config.role, demand,
                                                alive=timedelta(seconds=2 * every))
            except Exception as error:  # the database is away: keep the last share
                log.warning("heartbeat failed (%s)", type(error).__name__)
                continue
            share = budget.split([(p.role, p.replies) for p in peers], config.broadcast_rate,
                                 own_demand=demand if config.role in budget.ANSWERING else 0.0)
            if isinstance(limiter, TelegramRateLimiter) and config.role in budget.ANSWERING:
                limiter.set_overall_rate(share.per_answering_instance)
            if broadcaster is not None:
                broadcaster.pacer.set_rate(share.broadcast)
    finally:
        with contextlib.suppress(Exception):
            await coordination.leave(announcing.db, instance)


async def tidy(announcing: Announcing, shared: SharedThrottle | None,
               every: float = 3600.0) -> None:
    """Hourly, drop the records of updates too old for Telegram to send again, the heartbeats
    of instances gone, the flood buckets that have refilled, and the user tags of questions and
    ratings past 30 days.
    """
    while True:
        try:
            await coordination.forget_old_updates(announcing.db)
            await coordination.forget_gone(announcing.db)
            await feedback.untag_old(announcing.db)
            if shared is not None:
                await shared.forget_full()
        except Exception as error:  # the database is away: next hour
            log.warning("old records not dropped (%s)", type(error).__name__)
        await asyncio.sleep(every)


def settle_memory_soon(delay: float = 1.0) -> None:
    """Shortly after the start or a reload, collect garbage once, then exempt every object alive
    (the FAQ, its index, the libraries: over 100,000) from the cyclic garbage collector, and
    turn it on (`careerbot run` starts without it). Each full collection walked them all, a
    pause of tens of milliseconds in the middle of replies; they are still freed when no longer
    referenced.
    """
    asyncio.get_running_loop().call_later(delay, _settle_memory)


def _settle_memory() -> None:
    gc.collect()
    gc.freeze()
    gc.enable()


def keep_running(application: Application[Any, Any, Any, Any, Any, Any],
                 work: Coroutine[Any, Any, None], name: str) -> None:
    """Run `work` in the background until the application stops."""
    task = asyncio.create_task(work, name=name)

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    at_stop(application, cancel)


def at_stop(application: Application[Any, Any, Any, Any, Any, Any],
            action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` when the application stops, before what was registered earlier."""
    stopped = application.post_stop

    async def stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await action()
        if stopped is not None:
            await stopped(app)

    application.post_stop = stop


def start_reloads(application: Application[Any, Any, Any, Any, Any, Any], config: Config,
                  loaded: Loaded, announcing: Announcing | None) -> Reloader:
    """Reload the FAQ on SIGHUP, on `careerbot reload` (any instance sharing the database), and
    on file changes with CAREERBOT_FAQ_WATCH=1.
    """
    services: Services = application.bot_data["careerbot"]

    def swap(new: Loaded) -> None:
        if announcing is not None:
            announcing.agenda.listed = new.faq.events
            new.conversation.agenda = announcing.agenda
            announcing.faq = new.faq
            if clashes := announcing.agenda.clashes():
                log.error("event id(s) both in events.yaml and in the database: %s (the "
                          "file's are shown)", ", ".join(clashes))
        services.assistant.conversation = new.conversation
        metrics.faq_loaded(new.version, new.loaded_at)
        settle_memory_soon()

    async def notify(text: str) -> None:
        if config.admin_chat_id is not None:
            await application.bot.send_message(config.admin_chat_id, text)

    reloader = Reloader(config.faq_dir, loaded, team_inbox=config.admin_chat_id is not None,
                        swap=swap, notify=notify, cache_dir=config.cache_dir)
    tasks: set[asyncio.Task[Any]] = set()  # reloads under way (a reference keeps them alive)

    def on_sighup() -> None:
        task = asyncio.create_task(reloader.reload("SIGHUP"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_sighup)
    if config.faq_watch:
        keep_running(application, reloader.watch(), "faq-watch")
    if announcing is not None:
        keep_running(application, reloader.follow_requests(
            lambda: coordination.asked(announcing.db)), "reload-requests")
    return reloader
