"""Flood control shared by the instances: a user writing through three of them is slowed as
through one. Buckets are keyed by the user's one-way tag and dropped once full again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.storage.models import Bucket as Row
from careerbot.throttle import Bucket

Sessions = async_sessionmaker[AsyncSession]


class SharedThrottle:
    """`burst` messages at once per user, refilled at `rate` per second, across instances."""

    def __init__(self, sessions: Sessions, *, burst: int = 6, rate: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.burst = burst
        self.rate = rate
        self.clock = clock  # wall time: instances share no monotonic clock

    async def check(self, key: str) -> str:
        """'ok' to serve the message, 'warn' to say "slow down" once, 'drop' to ignore it."""
        try:
            return await self._spend(key)
        except IntegrityError:  # another instance created the bucket at the same moment
            return await self._spend(key)

    async def _spend(self, key: str) -> str:
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await session.get(Row, key, with_for_update=True)
            if row is None:
                row = Row(key=key, tokens=float(self.burst), stamp=now, warned=False)
                session.add(row)
            bucket = Bucket(row.tokens, row.stamp, row.warned)
            verdict = bucket.spend(now, self.burst, self.rate)
            row.tokens, row.stamp, row.warned = bucket.tokens, bucket.updated, bucket.warned
            return verdict

    async def forget_full(self) -> int:
        """Drop the buckets that have refilled: they hold no information any more; how many."""
        full_after = self.burst / self.rate  # seconds for an empty bucket to refill
        async with self.sessions.begin() as session:
            result = await session.execute(delete(Row).where(Row.stamp < self.clock() - full_after))
            return int(result.rowcount)  # type: ignore[attr-defined]
