"""The worker's side on Telegram: broadcasts and reminders, sent by one instance at a time.

Every worker competes for the sender's lease; the holder sends and renews it every 2 s, the
others stand by and take over within 10 s when it dies. Taking over recovers exactly as a
restart does (deliveries caught in flight become `unknown`, the rest are sent), and claims are
fenced by the lease, so a former holder that wakes up late sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest
from telegram.ext import Application

from careerbot import announcements as ui
from careerbot.announcing import Announcing, reminders_forever
from careerbot.broadcasting import Broadcaster
from careerbot.config import Config
from careerbot.storage import coordination, drafts, outbox, subscribers
from careerbot.telegram.keyboard import keyboard
from careerbot.telegram.sender import TelegramSender

log = logging.getLogger("careerbot.broadcast")

LEASE = timedelta(seconds=8)  # a standby takes over at most this long after the holder died
RENEW = 2.0  # seconds between two renewals by the holder
STANDBY = 1.0  # seconds between two tries by a standby
REPORT_EVERY = 5.0  # seconds between two edits of an organiser's live report


def start_sending(application: Application[Any, Any, Any, Any, Any, Any], config: Config,
                  announcing: Announcing, instance: str) -> Broadcaster:
    """Compete for the sender's lease in the background, until the application stops; the
    engine that sends while this instance holds it.
    """
    async def unsubscribe_blocked(chat_id: int) -> None:
        await subscribers.unsubscribe(announcing.db, chat_id)

    broadcaster = Broadcaster(announcing.db, TelegramSender(application.bot,
                                                             lambda: announcing.agenda.events),
                              rate=config.broadcast_rate, holder=instance,
                              on_blocked=unsubscribe_blocked,
                              on_progress=reporter(application, announcing))
    ahead = timedelta(hours=config.reminder_ahead_hours)
    task = asyncio.create_task(lead(announcing, broadcaster, instance, ahead), name="sender")
    stopped = application.post_stop

    async def stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        task.cancel()  # sends in flight get their grace to record an answer
        await asyncio.gather(task, return_exceptions=True)
        try:
            await coordination.release(announcing.db, instance)  # a standby takes over at once
        except Exception as error:  # the database is gone: the lease will simply expire
            log.warning("sender lease not released (%s)", type(error).__name__)
        if stopped is not None:
            await stopped(app)

    application.post_stop = stop
    return broadcaster


async def lead(announcing: Announcing, broadcaster: Broadcaster, instance: str,
               ahead: timedelta) -> None:
    """Stand by until the lease is ours; then send while it stays ours; repeat."""
    while True:
        if not await _hold(announcing, instance):
            await asyncio.sleep(STANDBY)
            continue
        log.info("this instance now sends broadcasts and reminders")
        await broadcaster.recover()
        work = [asyncio.create_task(broadcaster.forever(), name="broadcasts"),
                asyncio.create_task(reminders_forever(announcing, ahead), name="reminders")]
        try:
            while await _hold(announcing, instance):
                await asyncio.sleep(RENEW)
        finally:
            for task in work:
                task.cancel()
            await asyncio.gather(*work, return_exceptions=True)
        log.warning("this instance lost the sender lease: standing by")


async def _hold(announcing: Announcing, instance: str) -> bool:
    """Take or renew the lease; False when the database cannot say (then nobody may send)."""
    try:
        return await coordination.hold(announcing.db, instance, LEASE)
    except Exception as error:
        log.warning("sender lease unavailable (%s)", type(error).__name__)
        return False


def reporter(application: Application[Any, Any, Any, Any, Any, Any], announcing: Announcing
             ) -> Callable[[outbox.Summary], Awaitable[None]]:
    """The live report: the organiser's message edited as a broadcast advances (every 5 s, and
    at the end), wherever it was confirmed and whichever instance sends it.
    """
    last_report: dict[int, float] = {}

    async def progress(summary: outbox.Summary) -> None:
        now = asyncio.get_running_loop().time()
        final = summary.state not in (outbox.RUNNING, outbox.SCHEDULED)
        if not final and now - last_report.get(summary.id, 0) < REPORT_EVERY:
            return
        # Stored at confirmation: after a restart the report resumes in the same message.
        target = await drafts.report_target(announcing.db, summary.id)
        if target is None:
            return
        last_report[summary.id] = now
        shown = ui.report_reply(summary)
        try:
            await application.bot.edit_message_text(shown.html, chat_id=target[0],
                                                    message_id=target[1],
                                                    reply_markup=keyboard(shown.buttons))
        except BadRequest as error:  # the organiser deleted the message: fine
            log.info("progress report not updated: %s", error)

    return progress
