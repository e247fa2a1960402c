"""Per-user flood control: a token bucket, so one user flooding is slowed, not the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class Throttle:
    """Allow `burst` messages at once per user, refilled at `rate` per second."""

    def __init__(self, *, burst: int = 6, rate: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, max_users: int = 100_000) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self.max_users = max_users
        self._buckets: dict[Hashable, _Bucket] = {}

    def check(self, user: Hashable) -> str:
        """'ok' to serve the message, 'warn' to say "slow down" once, 'drop' to ignore it."""
        now = self.clock()
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= self.max_users:
                self._forget_full(now)
            bucket = self._buckets[user] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return "ok"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold no information any more."""
        full = [user for user, b in self._buckets.items()
                if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for user in full:
            del self._buckets[user]
