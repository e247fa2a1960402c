"""The delivery engine: sends confirmed broadcasts from the outbox, paced, and records everything.

It knows nothing of Telegram: a `Sender` turns one send into a `Result`. With the outbox it
guarantees:

- nobody gets a broadcast twice: a delivery is claimed (committed as `sending`) just before its own
  request leaves, and sent again only after an answer proving it did not arrive (a 429, or an error
  raised before the request left);
- a send whose fate is unknown (a timeout, a dropped connection, a 5xx: Telegram may have delivered
  it) ends as `unknown`, reported and never resent automatically; a crash leaves as `unknown` only
  the requests really in flight (and, at worst, one claimed in the millisecond or so before its
  request reached the server: a claim cannot follow its request), and recipients never attempted
  stay `pending`, sent after a restart;
- the pace holds under faults: sends form a paced pipeline in which a slow or failed send holds
  back no other;
- blocked users are unsubscribed; a refusal that would hit everyone (a text Telegram rejects)
  stops the broadcast instead of failing 10,000 times.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from careerbot import metrics
from careerbot.storage import outbox
from careerbot.storage.outbox import Sessions

log = logging.getLogger("careerbot.broadcast")

MAX_BACKOFF = 60.0  # seconds between two tries while the Bot API cannot be reached at all


class Outcome(enum.Enum):
    """What one send attempt established."""

    SENT = "sent"  # delivered; message_id known
    BLOCKED = "blocked"  # the user blocked the bot (403)
    GONE = "gone"  # the chat does not exist any more
    RETRY_AFTER = "retry_after"  # flood control: wait, then send again (not delivered)
    TRANSIENT = "transient"  # proven not delivered: the request never left (connection refused)
    UNKNOWN = "unknown"  # may have been delivered (timeout, 5xx): never resent automatically
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

    async def ready(self) -> None:
        """Return when a send could leave at once (no pause asked by the API is running)."""

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """Send (with the event's calendar button when there is one), and say what happened;
        never raise for an API answer.
        """


class Pacer:
    """Spaces sends evenly at `rate` per second; holds them all when the API asks to wait."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self.next_slot = 0.0
        self.failures = 0  # sends in a row that could not leave at all
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for the next free slot (no catching up after a stall: that would be a burst)."""
        async with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)

    def set_rate(self, rate: float) -> None:
        """Keep another pace from the next slot on (the instances share Telegram's budget)."""
        self.interval = 1.0 / rate

    def hold(self, seconds: float) -> None:
        """Send nothing for a while (Telegram asked us to wait)."""
        self.next_slot = max(self.next_slot, self.clock() + seconds)

    def back_off(self) -> float:
        """The API could not be reached: wait longer after each failure in a row; how long."""
        self.failures += 1
        seconds: float = min(MAX_BACKOFF, 0.5 * 2.0 ** (self.failures - 1))
        self.hold(seconds)
        return seconds

    def reached(self) -> None:
        """A request reached the API: the next failure starts the backoff over."""
        self.failures = 0


class Broadcaster:
    """Works through due broadcasts, at most `rate` sends per second, `in_flight` at a time."""

    def __init__(self, sessions: Sessions, sender: Sender, *, rate: float = 28.0,
                 in_flight: int = 16, grace: float = 5.0, report_every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 holder: str | None = None,
                 on_blocked: Callable[[int], Awaitable[None]] | None = None,
                 on_progress: Callable[[outbox.Summary], Awaitable[None]] | None = None) -> None:
        self.sessions = sessions
        self.sender = sender
        self.pacer = Pacer(rate, clock, sleep)
        self.in_flight = in_flight
        self.grace = grace  # on stop, seconds given to the sends in flight to get their answer
        self.report_every = report_every
        self.clock = clock
        self.holder = holder  # the sender's lease this engine sends under (None: no lease)
        self.on_blocked = on_blocked
        self.on_progress = on_progress

    async def recover(self) -> int:
        """After a restart: sends caught in flight become `unknown` (reported, not resent)."""
        count = await outbox.recover(self.sessions)
        if count:
            log.warning("%d delivery(ies) were in flight when the bot stopped: marked unknown",
                        count)
        return count

    async def run_due(self) -> None:
        """Send every broadcast that is due now."""
        due = await outbox.due(self.sessions)
        # Nothing due means nothing running, so nothing waiting: no count to ask for.
        metrics.OUTBOX_DEPTH.set(await outbox.waiting(self.sessions) if due else 0)
        for broadcast_id in due:
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
        sends: set[asyncio.Task[None]] = set()
        try:
            await self._dispatch(broadcast_id, found.text, found.event_id, sends)
        finally:
            await self._drain(sends)
        if await outbox.finish_if_complete(self.sessions, broadcast_id):
            log.info("broadcast %d complete", broadcast_id)
        await self._report(broadcast_id)

    async def _dispatch(self, broadcast_id: int, text: str, event_id: str | None,
                        sends: set[asyncio.Task[None]]) -> None:
        """Claim and start one send per slot of the pace, until nothing is left to claim."""
        slots = asyncio.Semaphore(self.in_flight)
        reported = self.clock()
        while True:
            await slots.acquire()
            await self.pacer.wait()
            await self.sender.ready()
            chat_id = await outbox.claim_one(self.sessions, broadcast_id, self.holder)
            if chat_id is None:  # done, paused, cancelled or stopped, unless a send gives back
                slots.release()
                if not sends:
                    return
                await asyncio.wait(sends)
                continue
            task = asyncio.create_task(self._deliver(broadcast_id, chat_id, text, event_id))
            sends.add(task)
            task.add_done_callback(functools.partial(_finished, sends, slots))
            if self.clock() - reported >= self.report_every:
                reported = self.clock()
                await self._report(broadcast_id)

    async def _drain(self, sends: set[asyncio.Task[None]]) -> None:
        """Let the sends in flight record their answer (up to `grace`), then cancel the rest."""
        if not sends:
            return
        if self.grace > 0:
            await asyncio.wait(set(sends), timeout=self.grace)
        for task in set(sends):  # left `sending`: recovered as `unknown` at the next start
            task.cancel()
        await asyncio.gather(*sends, return_exceptions=True)

    async def _report(self, broadcast_id: int) -> None:
        """Tell whoever follows the broadcast where it stands."""
        if self.on_progress:
            summary = await outbox.summary(self.sessions, broadcast_id)
            if summary:
                await self.on_progress(summary)

    async def _deliver(self, broadcast_id: int, chat_id: int, text: str,
                       event_id: str | None) -> None:
        """Send one claimed copy and record what the answer proves."""
        try:
            result = await self.sender.send(chat_id, text, event_id)
        except Exception as failure:  # a bug of ours after the claim: the request may have left
            log.exception("broadcast %d: a send failed unexpectedly", broadcast_id)
            result = Result(Outcome.UNKNOWN, error=f"{type(failure).__name__} while sending")
        if result.outcome is not Outcome.TRANSIENT:
            self.pacer.reached()
        state, error = STATES.get(result.outcome, outbox.PENDING), result.error
        match result.outcome:
            case Outcome.SENT:
                error = None
            case Outcome.RETRY_AFTER:  # not delivered, and not this chat's fault
                self.pacer.hold(result.retry_after)
            case Outcome.TRANSIENT:
                log.warning("broadcast %d: Bot API unreachable, next try in %.1f s",
                            broadcast_id, self.pacer.back_off())
            case Outcome.INVALID:
                await outbox.stop(self.sessions, broadcast_id, result.error or "refused")
                log.error("broadcast %d stopped: the message is refused", broadcast_id)
        await outbox.record(self.sessions, broadcast_id, chat_id, state,
                            message_id=result.message_id, error=error)
        metrics.DELIVERIES.labels(state=state).inc()
        if result.outcome is Outcome.BLOCKED and self.on_blocked:
            await self.on_blocked(chat_id)


# The delivery state each outcome leads to; the others give the delivery back (`pending`).
STATES = {Outcome.SENT: outbox.SENT, Outcome.BLOCKED: outbox.BLOCKED, Outcome.GONE: outbox.GONE,
          Outcome.REFUSED: outbox.FAILED, Outcome.UNKNOWN: outbox.UNKNOWN}


def _finished(sends: set[asyncio.Task[None]], slots: asyncio.Semaphore,
              task: asyncio.Task[None]) -> None:
    """A send is over: free its place in flight."""
    sends.discard(task)
    slots.release()
    if not task.cancelled() and (error := task.exception()) is not None:
        # Its outcome could not be recorded: it stays `sending`, recovered as `unknown`.
        log.error("a delivery could not be recorded (%s)", type(error).__name__)
