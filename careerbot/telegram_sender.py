"""The broadcast engine's Sender on Telegram: one send, and what Telegram's answer proves."""

from __future__ import annotations

from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from careerbot.announcements import event_buttons
from careerbot.broadcasting import Outcome, Result
from careerbot.faq import Faq
from careerbot.telegram_keyboard import keyboard
from careerbot.telegram_limits import seconds

BROADCAST_429_RETRIES = 3


class TelegramSender:
    """Sends broadcast texts with the bot, and classifies every answer (never raises for one)."""

    def __init__(self, bot: ExtBot[Any], faq: Faq) -> None:
        self.bot = bot
        self.events = {event.id: event for event in faq.events}

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """Send one copy; an event's announcement carries its link and calendar buttons."""
        markup = keyboard(event_buttons(self.events.get(event_id or "")))
        try:
            # rate_limit_args: the broadcast engine has its own retry policy (see RetryingRateLimiter)
            message = await self.bot.send_message(chat_id, text, reply_markup=markup,
                                                  rate_limit_args=BROADCAST_429_RETRIES)
        except Forbidden as error:
            return Result(Outcome.BLOCKED, error=str(error))
        except ChatMigrated as error:
            return Result(Outcome.GONE, error=f"chat migrated to {error.new_chat_id}")
        except RetryAfter as error:
            return Result(Outcome.RETRY_AFTER, retry_after=seconds(error.retry_after),
                          error=str(error))
        except BadRequest as error:
            return Result(classify_bad_request(str(error)), error=str(error))
        except TimedOut as error:
            return Result(Outcome.UNKNOWN, error=f"timed out: {error}")
        except NetworkError as error:
            return Result(Outcome.TRANSIENT, error=str(error))
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
