"""The worker's statistics jobs on Telegram: the weekly digest to the organisers' chat, and the
daily snapshot of subscribers.

Once per week, even across restarts and several instances: the week is claimed in the database
(its key is the ISO week) before anything is sent, and each of the three parts (picture,
unanswered questions, events) is recorded once sent. An instance that crashed mid-way leaves a
claim that another takes over after 10 minutes, resuming after the last recorded part: at least
once, at worst one part twice (see storage.stats.claim_digest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode

from careerbot import chart, digest
from careerbot.conversation import Conversation
from careerbot.reporting import group_questions
from careerbot.stats import Clock, paris_day, utc_now
from careerbot.storage import feedback
from careerbot.storage import stats as stored
from careerbot.storage.outbox import Sessions

log = logging.getLogger("careerbot.digest")
PARTS = 3  # picture, unanswered questions, events
WEEK = timedelta(days=7)


@dataclass
class DigestJob:
    """What the digest needs: the database, the organisers' chat, this instance's name, the FAQ
    answering now (its matcher groups the questions, its events are listed) and a clock.
    """

    db: Sessions
    chat_id: int
    holder: str
    conversation: Callable[[], Conversation]
    clock: Clock = utc_now
    regions: stored.RegionCounts = stored.subscriber_regions


async def send_digest_if_due(bot: Bot, job: DigestJob) -> bool:
    """Send this week's digest if it is due and no instance sent it yet; whether this call
    finished it.
    """
    now = job.clock()
    if not digest.due(now):
        return False
    week = digest.week_of(now)
    step = await stored.claim_digest(job.db, week, job.holder, now)
    if step is None:
        return False
    log.info("sending the weekly digest %s (from part %d)", week, step + 1)
    for part in range(step, PARTS):
        await _send_part(bot, job, part, week)
        if not await stored.digest_progress(job.db, week, job.holder, part + 1, job.clock(),
                                            done=part + 1 == PARTS):
            log.warning("digest %s: another instance took it over; stopping", week)
            return False
    return True


async def _send_part(bot: Bot, job: DigestJob, part: int, week: str) -> None:
    now = job.clock()
    if part == 0:
        found = await stored.current_figures(job.db, job.clock, job.regions)
        png = await asyncio.to_thread(chart.render_png, found)
        await bot.send_photo(job.chat_id, png, caption=digest.caption(week),
                             filename=f"stats-{week}.png")
    elif part == 1:
        questions = await feedback.unanswered(job.db, since=now - WEEK)
        matcher = job.conversation().matcher
        groups = await asyncio.to_thread(group_questions, [q for q, _ in questions], matcher)
        await bot.send_message(job.chat_id, digest.clusters_text(groups),
                               parse_mode=ParseMode.HTML)
    else:
        await bot.send_message(job.chat_id,
                               digest.events_text(job.conversation().agenda.events, now),
                               parse_mode=ParseMode.HTML)


async def digest_forever(bot: Bot, job: DigestJob, every: float = 60.0) -> None:
    """Check every minute whether the weekly digest is due (the claim makes it happen once)."""
    while True:
        try:
            await send_digest_if_due(bot, job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Telegram or the database away: the claim goes stale
            log.warning("weekly digest not sent (%s); retrying", type(error).__name__)
        await asyncio.sleep(every)


async def snapshots_forever(db: Sessions, clock: Clock = utc_now,
                            regions: stored.RegionCounts = stored.subscriber_regions,
                            every: float = 3600.0) -> None:
    """Keep today's count of subscribers per topic and region (hourly: the day's row is replaced,
    so the chart's last point is at most an hour old and every day has one).
    """
    while True:
        try:
            await stored.snapshot(db, paris_day(clock()), regions)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("subscriber snapshot not taken (%s)", type(error).__name__)
        await asyncio.sleep(every)

