"""How careerbot's requests to the Bot API keep Telegram's limits and survive its outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger("careerbot.telegram")

IDEMPOTENT_PREFIXES = ("get", "set", "delete", "edit", "answer")


def seconds(value: float | timedelta) -> float:
    """A duration PTB gives as seconds or as a timedelta, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also waits out Telegram's limits and outages for replies.

    The base class keeps Telegram's limits (30 msg/s, 20/min per group) and honours RetryAfter.
    A reply (a call without `rate_limit_args`) is then kept for up to `patience` seconds: a 429
    waits its retry_after again, a network error or a 5xx is retried with backoff. A user who asked
    a fair question gets one answer late rather than none; a rare double answer after a 5xx that
    had in fact been delivered is the price. A timed-out send is never retried (it may have
    arrived), except for idempotent methods. Broadcasts pass `rate_limit_args` (their own number of
    429 retries) because their engine has its own, stricter, retry policy.
    """

    def __init__(self, *, network_retries: int = 3, backoff: float = 0.5,
                 patience: float = 60.0) -> None:
        super().__init__(max_retries=3)
        self.network_retries = network_retries
        self.backoff = backoff
        self.patience = patience

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send through the rate limiter, waiting and retrying where it is safe."""
        patient = rate_limit_args is None and endpoint != "getUpdates"
        deadline = time.monotonic() + self.patience
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                     rate_limit_args)
            except TimedOut:
                if not endpoint.startswith(IDEMPOTENT_PREFIXES) or attempt >= self.network_retries:
                    raise
                wait = self.backoff * 2**attempt
            except BadRequest:
                raise  # BadRequest is a NetworkError in PTB, but retrying it cannot help
            except RetryAfter as error:
                if not patient:
                    raise
                wait = seconds(error.retry_after)
            except NetworkError:
                if endpoint == "getUpdates" or (not patient and attempt >= self.network_retries):
                    raise
                wait = min(self.backoff * 2**attempt, 5.0)
            if patient and time.monotonic() + wait > deadline:
                raise ReplyDropped(endpoint) from None
            attempt += 1
            log.warning("Bot API %s failed (attempt %d), retrying in %.1f s", endpoint, attempt,
                        wait)
            await asyncio.sleep(wait)


def _not_exhausted_retries(record: logging.LogRecord) -> bool:
    # AIORateLimiter logs an ERROR with a traceback when its own 429 retries run out; the
    # RetryingRateLimiter above then keeps waiting or gives up with one WARNING of its own.
    return not record.getMessage().startswith("Rate limit hit after maximum")


class ReplyDropped(NetworkError):
    """A reply could not be sent within the limiter's patience."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"{endpoint}: no answer from the Bot API in time")
