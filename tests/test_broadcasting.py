"""The delivery engine on a real database: outcomes, retries, crashes at every step, pace.

Runs on an SQLite file and on PostgreSQL (see tests/databases.py).
A crash is a cancellation with no grace: what the database holds afterwards is exactly what was
committed, as after a SIGKILL; "restart" is a new engine on the same database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from careerbot.broadcasting import Broadcaster, Outcome, Pacer, Result
from careerbot.storage import outbox, subscribers
from tests.test_storage import fresh, run

pytestmark = pytest.mark.usefixtures("backend")


class ScriptedSender:
    """A stand-in for Telegram: answers each chat as scripted, else delivers; counts requests."""

    def __init__(self, script: dict[int, list[Result]] | None = None) -> None:
        self.script = script or {}
        self.sent: list[int] = []  # chats that got a copy
        self.requests: Counter[int] = Counter()  # requests that reached "Telegram", per chat

    async def ready(self) -> None:
        """Never paused."""

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """Answer from the script, else deliver."""
        self.requests[chat_id] += 1
        answers = self.script.get(chat_id)
        if answers:
            return answers.pop(0)
        self.sent.append(chat_id)
        return Result(Outcome.SENT, message_id=len(self.sent))


async def with_subscribers(tmp_path: Path, count: int, text: str = "hello") -> tuple[Any, Any, int]:
    """A database with `count` subscribers (chats 1..count) and a confirmed broadcast to all."""
    engine, db = await fresh(tmp_path)
    for chat in range(1, count + 1):
        await subscribers.subscribe(db, chat, "fr", ["all"])
    broadcast = await outbox.create(db, text)
    assert await outbox.confirm(db, broadcast) == count
    return engine, db, broadcast


def test_broadcast_outcomes_and_unsubscribing_blocked_users(tmp_path: Path) -> None:
    """Each recipient ends in one final state; blocked users are unsubscribed; only what is
    proven undelivered (429, a request that never left) is sent again; `unknown` never is.
    """
    async def scenario() -> None:
        engine, db, broadcast = await with_subscribers(tmp_path, 7)
        sender = ScriptedSender({
            2: [Result(Outcome.BLOCKED, error="Forbidden")],
            3: [Result(Outcome.RETRY_AFTER, retry_after=0.05)],
            4: [Result(Outcome.TRANSIENT, error="connection refused")],
            5: [Result(Outcome.UNKNOWN, error="502 Bad Gateway")],
            6: [Result(Outcome.GONE, error="chat not found")]})

        async def unsubscribe(chat: int) -> None:
            await subscribers.unsubscribe(db, chat)

        assert await outbox.confirm(db, broadcast) == 0  # a second confirmation does nothing
        await Broadcaster(db, sender, rate=1000, on_blocked=unsubscribe).run_due()
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.state == outbox.DONE
        assert summary.counts == {"sent": 4, "blocked": 1, "unknown": 1, "gone": 1}
        assert sorted(sender.sent) == [1, 3, 4, 7]  # 3 and 4 after a retry
        assert sender.requests[5] == 1  # may have arrived: never sent again on its own
        assert await subscribers.topics_of(db, 2) is None
        await engine.dispose()
    run(scenario)


def test_invalid_message_stops_the_broadcast(tmp_path: Path) -> None:
    """A message refused as such stops the broadcast instead of failing for everyone."""
    async def scenario() -> None:
        engine, db, broadcast = await with_subscribers(tmp_path, 39, "<b>oops")
        sender = ScriptedSender({chat: [Result(Outcome.INVALID, error="can't parse entities")]
                                 for chat in range(1, 40)})
        reports: list[outbox.Summary] = []

        async def follow(summary: outbox.Summary) -> None:
            reports.append(summary)

        await Broadcaster(db, sender, rate=1000, on_progress=follow).run_due()
        assert reports[-1].state == outbox.STOPPED  # the organiser is told
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.state == outbox.STOPPED
        assert summary.error == "can't parse entities"
        assert summary.counts == {"pending": 39}  # nothing sent, nothing lost
        await engine.dispose()
    run(scenario)


class Gate:
    """Where the crash happens: the step of chat `chat` at which the engine is stopped dead."""

    def __init__(self, chat: int, step: str) -> None:
        self.chat, self.step = chat, step
        self.reached = asyncio.Event()

    async def stop_here(self, step: str, chat: int | None) -> None:
        """Block forever at the chosen step (the test then kills the engine)."""
        if step == self.step and chat in (self.chat, None):
            self.reached.set()
            await asyncio.Event().wait()


class CrashingSender(ScriptedSender):
    """Delivers, but stops dead at one step of one chat's send."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.next_chat: int | None = None

    async def ready(self) -> None:
        """Just before the next claim: the chat claimed next is the lowest pending one."""
        await self.gate.stop_here("before the claim", self.next_chat)

    async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
        """The request leaves (counted), then its answer comes back."""
        self.next_chat = chat_id + 1
        await self.gate.stop_here("after the claim", chat_id)
        self.requests[chat_id] += 1
        if self.gate.step != "after the answer":
            await self.gate.stop_here("after the request", chat_id)
        self.sent.append(chat_id)
        return Result(Outcome.SENT, message_id=chat_id)


STEPS = ["before the claim", "after the claim", "after the request", "after the answer"]


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_every_step_of_a_send(tmp_path: Path, step: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed at any step of chat 5's send, then restarted: chats never attempted are sent once;
    the one caught between its claim and its recorded answer is reported `unknown`, never resent;
    nobody gets two copies and nobody is forgotten.
    """
    gate = Gate(5, step)
    record = outbox.record

    async def record_or_crash(sessions: Any, broadcast_id: int, chat_id: int, state: str,
                              **details: Any) -> None:
        await gate.stop_here("after the answer", chat_id)
        await record(sessions, broadcast_id, chat_id, state, **details)

    async def scenario() -> None:
        engine, db, broadcast = await with_subscribers(tmp_path, 10)
        sender = CrashingSender(gate)
        sender.next_chat = 1
        with monkeypatch.context() as patch:
            patch.setattr(outbox, "record", record_or_crash)
            crashing = Broadcaster(db, sender, rate=1000, in_flight=1, grace=0)
            task = asyncio.create_task(crashing.run_due())
            await asyncio.wait_for(gate.reached.wait(), 10)
            task.cancel()  # SIGKILL: nothing more is committed
            await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()

        engine, db = await fresh(tmp_path)  # restart on the same database
        after = ScriptedSender()
        restarted = Broadcaster(db, after, rate=1000)
        caught = await restarted.recover()
        await restarted.run_due()
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.state == outbox.DONE
        if step == "before the claim":
            assert caught == 0 and summary.counts == {"sent": 10}
        else:
            assert caught == 1 and summary.counts == {"sent": 9, "unknown": 1}
        requests = sender.requests + after.requests
        if step == "before the claim":
            assert after.requests[5] == 1  # never attempted before: sent after the restart
        else:
            assert after.requests[5] == 0  # caught in flight: reported, never resent
            assert requests[5] == (0 if step == "after the claim" else 1)
        assert all(requests[chat] == 1 for chat in range(1, 11) if chat != 5)
        await engine.dispose()
    run(scenario)


def test_a_slow_send_holds_back_no_other(tmp_path: Path) -> None:
    """While one send waits for its answer, the others go out at the pace."""
    async def scenario() -> None:
        engine, db, _broadcast = await with_subscribers(tmp_path, 12)
        others_done = asyncio.Event()

        class SlowForChat3(ScriptedSender):
            async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
                if chat_id == 3:
                    await others_done.wait()  # answered only once every other chat has its copy
                result = await super().send(chat_id, text, event_id)
                if len(self.sent) == 11:
                    others_done.set()
                return result

        sender = SlowForChat3()
        await asyncio.wait_for(Broadcaster(db, sender, rate=1000).run_due(), 10)
        assert sender.sent[-1] == 3 and sorted(sender.sent) == list(range(1, 13))
        await engine.dispose()
    run(scenario)


def test_resending_to_the_uncertain_on_request(tmp_path: Path) -> None:
    """An organiser's explicit re-send goes to the `unknown` recipients only, once."""
    async def scenario() -> None:
        engine, db, broadcast = await with_subscribers(tmp_path, 5)
        sender = ScriptedSender({2: [Result(Outcome.UNKNOWN, error="timed out")],
                                 4: [Result(Outcome.UNKNOWN, error="502")]})
        engine_ = Broadcaster(db, sender, rate=1000)
        assert await outbox.resend_unknown(db, broadcast) == 0  # not finished yet
        await engine_.run_due()
        assert await outbox.resend_unknown(db, broadcast) == 2
        assert await outbox.resend_unknown(db, broadcast) == 0  # a double tap queues nothing more
        await engine_.run_due()
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.state == outbox.DONE
        assert summary.counts == {"sent": 5}
        assert sender.requests == Counter({1: 1, 2: 2, 3: 1, 4: 2, 5: 1})
        await engine.dispose()
    run(scenario)


def test_pause_resume_cancel(tmp_path: Path) -> None:
    """A paused broadcast sends nothing until resumed; a cancelled one never."""
    async def scenario() -> None:
        engine, db, broadcast = await with_subscribers(tmp_path, 1, "x")
        assert await outbox.change(db, broadcast, "pause")
        sender = ScriptedSender()
        await Broadcaster(db, sender, rate=1000).run_due()
        assert sender.sent == []
        assert await outbox.change(db, broadcast, "resume")
        assert await outbox.change(db, broadcast, "cancel")
        await Broadcaster(db, sender, rate=1000).run_due()
        assert sender.sent == []
        assert not await outbox.change(db, broadcast, "resume")
        await engine.dispose()
    run(scenario)


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        """The current fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` pass at once."""
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spaces_slots_and_holds_when_asked() -> None:
    """Slots come every 1/rate s, with no catching up after a stall (that would be a burst); a
    429 holds every slot for its retry_after; unreachable API: 0.5 s, 1 s, 2 s... then reset.
    """
    async def scenario() -> None:
        clock = FakeClock()
        pacer = Pacer(20.0, clock, clock.sleep)
        for _ in range(5):
            await pacer.wait()
        assert clock.now == pytest.approx(100.2)
        clock.now += 3.0  # a stall: the next slot is now, and the one after 1/20 s later
        await pacer.wait()
        await pacer.wait()
        assert clock.now == pytest.approx(103.25)
        pacer.hold(1.5)
        await pacer.wait()
        assert clock.now == pytest.approx(104.75)
        assert [pacer.back_off() for _ in range(3)] == [0.5, 1.0, 2.0]
        pacer.reached()
        assert pacer.back_off() == 0.5
        assert max(pacer.back_off() for _ in range(20)) == 60.0
    asyncio.run(scenario())


def test_engine_keeps_the_pace_through_faults(tmp_path: Path) -> None:
    """With 403s and 5xx among the answers, sends still leave at exactly the pace (fake clock)."""
    async def scenario() -> list[float]:
        engine, db, broadcast = await with_subscribers(tmp_path, 40)
        clock = FakeClock()
        times: list[float] = []

        class Faulty(ScriptedSender):
            async def send(self, chat_id: int, text: str, event_id: str | None = None) -> Result:
                times.append(clock())
                if chat_id % 7 == 0:
                    return Result(Outcome.BLOCKED, error="Forbidden")
                if chat_id % 10 == 0:
                    return Result(Outcome.UNKNOWN, error="502")
                return await super().send(chat_id, text, event_id)

        await Broadcaster(db, Faulty(), rate=28.0, clock=clock, sleep=clock.sleep).run_due()
        summary = await outbox.summary(db, broadcast)
        assert summary is not None and summary.state == outbox.DONE
        await engine.dispose()
        return times

    times = run(scenario)
    assert len(times) == 40
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([1 / 28.0] * 39)
