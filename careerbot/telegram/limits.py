"""How careerbot's requests to the Bot API keep Telegram's limits and survive its outages.

One limiter for every request, replies and broadcasts alike:

- Telegram's pace: 30 messages/s overall, 20 per minute in one group (as AIORateLimiter);
- a 429 opens a retry window: no request leaves before its `retry_after` has passed, whoever
  asked, and however many requests are in flight or finish meanwhile;
- one retry policy, by what an error proves. A reply (a call without `rate_limit_args`) is
  patient: a user who asked a fair question gets one answer late rather than none, so 429s, network
  errors and 5xx are retried for up to a minute (a rare double answer after a 5xx that had in fact
  been delivered is the price). A timed-out send is retried only when nothing left (a connect
  timeout) or the method is idempotent. A broadcast send passes `rate_limit_args=0` and gets exactly
  one attempt: its engine retries only what is proven undelivered, and nothing is retried twice
  over in nested layers.

This replaces python-telegram-bot's AIORateLimiter, whose 429 pause is ended by any request that
finishes (upstream issue #5338, fixed on master after 22.8, in no 22.x release) and is never opened
when a request allows no retry. When a release fixes both, `test_rate_limit.py`'s strict xfail on
AIORateLimiter starts failing, and this class can shrink to the retry policy over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from careerbot import metrics

log = logging.getLogger("careerbot.telegram")

IDEMPOTENT_PREFIXES = ("get", "set", "delete", "edit", "answer")
# httpx errors raised before any byte of the request left: a retry cannot make a duplicate.
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                httpx.UnsupportedProtocol)
# rate_limit_args of a request that gets exactly one attempt (ExtBot drops a falsy value).
ONE_ATTEMPT = 1
MAX_GROUPS = 512  # group limiters kept; idle ones are dropped beyond that

Result = bool | dict[str, Any] | list[dict[str, Any]]


def seconds(value: float | timedelta) -> float:
    """A duration PTB gives as seconds or as a timedelta, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def error_code(error: NetworkError) -> str:
    """A metrics label for a network error (PTB keeps no HTTP status for a 5xx)."""
    if sent_nothing(error):
        return "unreachable"
    return "timeout" if isinstance(error, TimedOut) else "5xx_or_network"


def sent_nothing(error: BaseException) -> bool:
    """Whether a network error proves the request never left (refused, DNS, connect timeout)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, NOTHING_SENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class RetryWindow:
    """The moment before which Telegram asked us to send nothing (the latest 429's retry_after)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self.until = 0.0

    def open(self, duration: float) -> None:
        """Telegram said: wait `duration` seconds (a later, shorter 429 never shortens it)."""
        self.until = max(self.until, self.clock() + duration)

    def left(self) -> float:
        """Seconds until requests may leave again (0 when they may now)."""
        return max(0.0, self.until - self.clock())

    async def wait(self) -> None:
        """Return once no window is open (re-checked: another 429 may extend it meanwhile)."""
        while (left := self.left()) > 0:
            await self.sleep(left)


EPSILON = 1e-9  # rounding: a wait computed to the exact moment must be enough


class Pace:
    """The overall pace: a leaky bucket whose rate changes without granting a new burst.

    Instances change their share of Telegram's budget every second (budget.py). aiolimiter's
    AsyncLimiter cannot change its rate, and a new one starts empty: replacing it each time let
    every instance send a whole burst again, and together they overran Telegram's budget. The
    bucket holds half a second of sends, so that instances bursting together stay within it.
    """

    BURST = 0.5  # seconds of sends the bucket lets out at once

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.level = 0.0  # sends still in the bucket
        self.at = clock()
        self.waiting = 0  # requests waiting for their turn now
        self._turn = asyncio.Lock()  # first come, first served

    @property
    def capacity(self) -> float:
        """Sends the bucket lets out at once (at least one)."""
        return max(1.0, self.rate * self.BURST)

    def has_capacity(self) -> bool:
        """Whether a request could leave at once (none waiting, room in the bucket)."""
        self._leak()
        return not self.waiting and self.level + 1 <= self.capacity + EPSILON

    def set_rate(self, rate: float) -> None:
        """Keep to another rate from now on; what was just sent still counts."""
        self._leak()
        self.rate = rate

    def _leak(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now

    async def acquire(self) -> None:
        """Return when one more request may leave."""
        self.waiting += 1
        try:
            async with self._turn:
                while True:
                    self._leak()
                    if self.level + 1 <= self.capacity + EPSILON:
                        self.level += 1
                        return
                    await self.sleep((self.level + 1 - self.capacity) / self.rate)
        finally:
            self.waiting -= 1


class ReplyDropped(NetworkError):
    """A reply could not be sent within the limiter's patience."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"{endpoint}: no answer from the Bot API in time")


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Telegram's limits and retry windows for every request, with one retry policy."""

    def __init__(self, *, overall_rate: float | None = 30.0, group_per_minute: float = 20.0,
                 network_retries: int = 3, backoff: float = 0.5, patience: float = 60.0,
                 window: RetryWindow | None = None) -> None:
        self.window = window or RetryWindow()
        self.overall = Pace(overall_rate) if overall_rate else None
        self.group_per_minute = group_per_minute
        self.groups: dict[int | str, AsyncLimiter] = {}
        self.network_retries = network_retries
        self.backoff = backoff
        self.patience = patience
        self.replies = 0  # replies sent since start (a broadcast send is not one)

    def set_overall_rate(self, rate: float) -> None:
        """Keep to another share of Telegram's budget (instances share it: see budget.py)."""
        if self.overall is not None:
            self.overall.set_rate(rate)

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn in the overall pace now."""
        return self.overall.waiting if self.overall is not None else 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Send within Telegram's limits; retry what the policy allows (see the module)."""
        # getMe comes at start: an unreachable API must stop the bot with one line, not in a minute.
        patient = rate_limit_args is None and endpoint not in ("getUpdates", "getMe")
        deadline = time.monotonic() + self.patience
        attempt = 0
        if patient and data.get("chat_id") is not None:
            self.replies += 1
        while True:
            try:
                return await self._send(callback, args, kwargs, data)
            except RetryAfter as error:
                self.window.open(seconds(error.retry_after))
                metrics.API_ERRORS.labels(code="429").inc()
                metrics.RETRY_WAITS.inc()
                metrics.RETRY_SECONDS.inc(seconds(error.retry_after))
                log.warning("Bot API asked to wait %.1f s (429)", seconds(error.retry_after))
                if not patient:
                    raise
                wait = self.window.left()
            except BadRequest:
                metrics.API_ERRORS.labels(code="400").inc()
                raise  # a NetworkError in PTB, but retrying a refused request cannot help
            except Forbidden:
                metrics.API_ERRORS.labels(code="403").inc()
                raise
            except NetworkError as error:
                metrics.API_ERRORS.labels(code=error_code(error)).inc()
                if not patient or not self._may_retry(error, endpoint, attempt):
                    raise
                wait = min(self.backoff * 2**attempt, 5.0)
            if time.monotonic() + wait > deadline:
                raise ReplyDropped(endpoint) from None
            attempt += 1
            log.warning("Bot API %s failed (attempt %d), retrying in %.1f s", endpoint, attempt,
                        wait)
            await asyncio.sleep(wait)

    def _may_retry(self, error: NetworkError, endpoint: str, attempt: int) -> bool:
        """A timed-out send may have arrived: retried only when nothing left or when idempotent."""
        if isinstance(error, TimedOut) and not sent_nothing(error):
            return endpoint.startswith(IDEMPOTENT_PREFIXES) and attempt < self.network_retries
        return True

    async def _send(self, callback: Callable[..., Coroutine[Any, Any, Result]], args: Any,
                    kwargs: dict[str, Any], data: dict[str, Any]) -> Result:
        """One request, after Telegram's pace and any open retry window allow it."""
        chat_id = data.get("chat_id")
        async with self._paced(chat_id):
            await self.window.wait()  # last, so that nothing leaves inside a window
            return await callback(*args, **kwargs)

    @contextlib.asynccontextmanager
    async def _paced(self, chat_id: Any) -> AsyncIterator[None]:
        """Hold the overall limiter for messages to a chat, and the group's for a group chat."""
        group = self._group(chat_id)
        async with contextlib.AsyncExitStack() as stack:
            if group is not None:
                await stack.enter_async_context(group)
            if chat_id is not None and self.overall is not None:
                await self.overall.acquire()
            yield

    def _group(self, chat_id: Any) -> AsyncLimiter | None:
        """The limiter of a group chat (negative id or @username), None for a private chat."""
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        if not ((isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)):
            return None
        if chat_id not in self.groups:
            if len(self.groups) >= MAX_GROUPS:
                idle = [key for key, limiter in self.groups.items()
                        if limiter.has_capacity(limiter.max_rate)]
                for key in idle:
                    del self.groups[key]
            self.groups[chat_id] = AsyncLimiter(self.group_per_minute, 60.0)
        return self.groups[chat_id]
