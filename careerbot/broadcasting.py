"""The delivery engine: sends confirmed broadcasts from the outbox, paced, and records everything.

It knows nothing of Telegram: a `Sender` turns one send into a `Result`. Guarantees, with the
outbox: nobody gets a broadcast twice (a delivery is claimed before it is sent and never re-sent
once claimed, except after an answer proving it was not delivered); an interrupted send ends as
`unknown` and is reported; blocked users are unsubscribed; a refusal that would hit everyone
(a text Telegram rejects) stops the broadcast instead of failing 10,000 times.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from careerbot.storage import outbox
from careerbot.storage.outbox import Sessions

log = logging.getLogger("careerbot.broadcast")

MAX_ATTEMPTS = 5  # transient failures of one delivery before it is given up as failed


class Outcome(enum.Enum):
    """What one send attempt established."""

    SENT = "sent"  # delivered; message_id known
    BLOCKED = "blocked"  # the user blocked the bot (403)
    GONE = "gone"  # the chat does not exist any more
    RETRY_AFTER = "retry_after"  # flood control: wait, then send again (not delivered)
    TRANSIENT = "transient"  # a failure proven not delivered (5xx, connection refused)
    UNKNOWN = "unknown"  # may have been delivered (timeout): never resent
    REFUSED = "refused"  # this chat refused it for its own reason
    INVALID = "invalid"  # the message itself is refused: it would fail for everyone


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one send, with what the API said."""

    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    error: str | None = None


class Sender(Protocol):
    """Sends one broadcast text to one chat."""

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """Send (with the event's calendar button when there is one), and say what happened;
        never raise for an API answer.
        """


class Pacer:
    """Spaces sends evenly at `rate` per second, across all workers."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.next_slot = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for the next free slot."""
        async with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Send nothing for a while (Telegram asked us to wait)."""
        self.next_slot = max(self.next_slot, self.clock() + seconds)


class Broadcaster:
    """Works through due broadcasts, `workers` sends in flight, at most `rate` per second."""

    def __init__(self, sessions: Sessions, sender: Sender, *, rate: float = 28.0,
                 workers: int = 8,
                 on_blocked: Callable[[int], Awaitable[None]] | None = None,
                 on_progress: Callable[[outbox.Summary], Awaitable[None]] | None = None) -> None:
        self.sessions = sessions
        self.sender = sender
        self.pacer = Pacer(rate)
        self.workers = workers
        self.on_blocked = on_blocked
        self.on_progress = on_progress

    async def recover(self) -> int:
        """After a restart: interrupted sends become `unknown` (reported, not resent)."""
        count = await outbox.recover(self.sessions)
        if count:
            log.warning("%d delivery(ies) were interrupted by a stop: marked unknown", count)
        return count

    async def run_due(self) -> None:
        """Send every broadcast that is due now."""
        for broadcast_id in await outbox.due(self.sessions):
            await self.run(broadcast_id)

    async def forever(self, poll: float = 1.0) -> None:
        """Keep sending due broadcasts until cancelled."""
        while True:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end broadcasting for good
                log.exception("broadcast loop failed; retrying")
            await asyncio.sleep(poll)

    async def run(self, broadcast_id: int) -> None:
        """Send one broadcast until it is complete, paused, cancelled or stopped."""
        found = await outbox.summary(self.sessions, broadcast_id)
        if found is None:
            return
        text, event_id = found.text, found.event_id
        while True:
            chats = await outbox.claim(self.sessions, broadcast_id, self.workers * 4)
            if not chats:
                break
            queue: asyncio.Queue[int] = asyncio.Queue()
            for chat in chats:
                queue.put_nowait(chat)
            results = await asyncio.gather(*(self._worker(broadcast_id, text, event_id, queue)
                                             for _ in range(min(self.workers, len(chats)))))
            if not all(results):  # stopped: the message is refused for everyone
                await self._report(broadcast_id)
                return
            await self._report(broadcast_id)
        if await outbox.finish_if_complete(self.sessions, broadcast_id):
            log.info("broadcast %d complete", broadcast_id)
            await self._report(broadcast_id)

    async def _report(self, broadcast_id: int) -> None:
        """Tell whoever follows the broadcast where it stands."""
        if self.on_progress:
            summary = await outbox.summary(self.sessions, broadcast_id)
            if summary:
                await self.on_progress(summary)

    async def _worker(self, broadcast_id: int, text: str, event_id: str | None,
                      queue: asyncio.Queue[int]) -> bool:
        """Send claimed deliveries one after the other; False if the broadcast was stopped."""
        while not queue.empty():
            chat_id = queue.get_nowait()
            if not await self._deliver(broadcast_id, chat_id, text, event_id):
                while not queue.empty():  # give the others back: they were never sent
                    await outbox.record(self.sessions, broadcast_id, queue.get_nowait(),
                                        outbox.PENDING)
                return False
        return True

    async def _deliver(self, broadcast_id: int, chat_id: int, text: str,
                       event_id: str | None) -> bool:
        """Send one copy, retrying what is proven undelivered; False to stop the broadcast."""
        failures = 0
        while failures < MAX_ATTEMPTS:
            await self.pacer.wait()
            result = await self.sender.send(chat_id, text, event_id)
            match result.outcome:
                case Outcome.SENT:
                    await outbox.record(self.sessions, broadcast_id, chat_id, outbox.SENT,
                                        message_id=result.message_id)
                    return True
                case Outcome.BLOCKED:
                    await outbox.record(self.sessions, broadcast_id, chat_id, outbox.BLOCKED,
                                        error=result.error)
                    if self.on_blocked:
                        await self.on_blocked(chat_id)
                    return True
                case Outcome.GONE | Outcome.REFUSED:
                    state = outbox.GONE if result.outcome is Outcome.GONE else outbox.FAILED
                    await outbox.record(self.sessions, broadcast_id, chat_id, state,
                                        error=result.error)
                    return True
                case Outcome.UNKNOWN:
                    await outbox.record(self.sessions, broadcast_id, chat_id, outbox.UNKNOWN,
                                        error=result.error)
                    return True
                case Outcome.INVALID:
                    await outbox.record(self.sessions, broadcast_id, chat_id, outbox.PENDING)
                    await outbox.stop(self.sessions, broadcast_id, result.error or "refused")
                    log.error("broadcast %d stopped: the message is refused", broadcast_id)
                    return False
                case Outcome.RETRY_AFTER:  # not delivered, and not this chat's fault
                    self.pacer.hold(result.retry_after)
                case Outcome.TRANSIENT:
                    failures += 1
                    await asyncio.sleep(min(30.0, 0.5 * 2**failures))
        await outbox.record(self.sessions, broadcast_id, chat_id, outbox.FAILED,
                            error=f"gave up after {MAX_ATTEMPTS} attempts")
        return True
