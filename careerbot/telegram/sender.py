"""The broadcast engine's Sender on Telegram: one send, and what Telegram's answer proves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import ExtBot

from careerbot.announcements import event_buttons
from careerbot.broadcasting import Outcome, Result
from careerbot.faq import Event
from careerbot.telegram.keyboard import keyboard
from careerbot.telegram.limits import ONE_ATTEMPT, TelegramRateLimiter, seconds, sent_nothing


class TelegramSender:
    """Sends broadcast texts with the bot, and says what each answer proves (never raises for one).

    Only what proves the message did not arrive may be sent again: a 429 (after its retry_after)
    and an error raised before the request left (connection refused, DNS, connect timeout). A read
    timeout, a dropped connection or a 5xx may come after Telegram delivered it: `unknown`.
    """

    def __init__(self, bot: ExtBot[Any], events: Callable[[], Iterable[Event]]) -> None:
        self.bot = bot
        self.events = events  # the events now on offer: the FAQ's (reloadable) and stored ones

    async def ready(self) -> None:
        """Return when a send could leave at once: no 429 window open, room in Telegram's pace.

        The engine claims a delivery only then, so that a claimed delivery is one whose request
        is really on its way (replies share the pace, and may have taken the room meanwhile).
        """
        limiter = self.bot.rate_limiter
        if not isinstance(limiter, TelegramRateLimiter):
            return
        await limiter.window.wait()
        while limiter.overall is not None and not limiter.overall.has_capacity():
            await asyncio.sleep(0.01)
            await limiter.window.wait()

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """Send one copy; an event's announcement carries its link and calendar buttons."""
        event = next((e for e in self.events() if e.id == event_id), None)
        markup = keyboard(event_buttons(event))
        try:
            # One attempt: the engine alone decides what may be sent again.
            message = await self.bot.send_message(chat_id, text, reply_markup=markup,
                                                  rate_limit_args=ONE_ATTEMPT)
        except Forbidden as error:
            return Result(Outcome.BLOCKED, error=str(error))
        except ChatMigrated as error:
            return Result(Outcome.GONE, error=f"chat migrated to {error.new_chat_id}")
        except RetryAfter as error:
            return Result(Outcome.RETRY_AFTER, retry_after=seconds(error.retry_after),
                          error=str(error))
        except BadRequest as error:
            return Result(classify_bad_request(str(error)), error=str(error))
        except NetworkError as error:  # TimedOut included
            if sent_nothing(error):
                return Result(Outcome.TRANSIENT, error=f"not sent: {error}")
            return Result(Outcome.UNKNOWN, error=f"{type(error).__name__}: {error}")
        return Result(Outcome.SENT, message_id=message.message_id)


def classify_bad_request(description: str) -> Outcome:
    """A 400 about the chat concerns one recipient; one about the message concerns everyone."""
    text = description.lower()
    if any(s in text for s in ("chat not found", "user is deactivated", "bot was kicked",
                               "user not found", "peer_id_invalid")):
        return Outcome.GONE
    if any(s in text for s in ("parse entities", "message is too long", "text must be non-empty",
                               "unsupported", "can't parse", "entity")):
        return Outcome.INVALID
    return Outcome.REFUSED
