"""Per-user flood control: a token bucket, so one user flooding is slowed, not the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class Bucket:
    """One user's tokens, when they were last counted, and whether "slow down" was said."""

    tokens: float
    updated: float
    warned: bool = False

    def spend(self, now: float, burst: int, rate: float) -> str:
        """Refill for the time passed, then take a token: 'ok', 'warn' (once), or 'drop'."""
        self.tokens = min(burst, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.warned = False
            return "ok"
        if self.warned:
            return "drop"
        self.warned = True
        return "warn"


class Throttle:
    """Allow `burst` messages at once per user, refilled at `rate` per second."""

    def __init__(self, *, burst: int = 6, rate: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, max_users: int = 100_000) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self.max_users = max_users
        self._buckets: dict[Hashable, Bucket] = {}

    def check(self, user: Hashable) -> str:
        """'ok' to serve the message, 'warn' to say "slow down" once, 'drop' to ignore it."""
        now = self.clock()
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= self.max_users:
                self._forget_full(now)
            bucket = self._buckets[user] = Bucket(float(self.burst), now)
        return bucket.spend(now, self.burst, self.rate)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold no information any more."""
        full = [user for user, b in self._buckets.items()
                if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for user in full:
            del self._buckets[user]
