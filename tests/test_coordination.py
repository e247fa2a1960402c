"""What instances share, on SQLite and PostgreSQL: updates taken once, the sender's lease,
flood control and the questions for the organisers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from careerbot.budget import split
from careerbot.storage import coordination, feedback, outbox, subscribers
from careerbot.storage.flood import SharedThrottle
from careerbot.storage.models import Instance
from tests.test_storage import fresh, run

pytestmark = pytest.mark.usefixtures("backend")
TTL = timedelta(seconds=8)


def test_an_update_is_taken_once(tmp_path: Path) -> None:
    """The first instance to see an update takes it; a redelivery or a duplicate is refused."""
    async def scenario() -> list[bool]:
        engine, db = await fresh(tmp_path)
        seen = await asyncio.gather(*(coordination.first_sight(db, 1001) for _ in range(5)))
        seen.append(await coordination.first_sight(db, 1002))
        await engine.dispose()
        return list(seen)

    seen = run(scenario)
    assert sorted(seen[:5]) == [False, False, False, False, True] and seen[5] is True


def test_a_webhook_update_copy_waits_for_its_taker_or_takes_over_when_it_died(
        tmp_path: Path) -> None:
    """A copy of an update taken unsettled: running while its taker beats, handled once settled,
    taken over (by one copy only) once its taker's heartbeat stopped.
    """
    Redelivered = coordination.Redelivered

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await coordination.beat(db, "web-a", "web", 0.0)
        await coordination.beat(db, "web-b", "web", 0.0)
        assert await coordination.first_sight(db, 7, "web-a")
        assert not await coordination.first_sight(db, 7, "web-b")
        assert await coordination.redelivered(db, 7, "web-b") is Redelivered.RUNNING
        await coordination.settle(db, 7)
        assert await coordination.redelivered(db, 7, "web-b") is Redelivered.HANDLED

        assert await coordination.first_sight(db, 8, "web-a")
        await coordination.leave(db, "web-a")  # as good as dead: no heartbeat any more
        taken = await asyncio.gather(*(coordination.redelivered(db, 8, name)
                                       for name in ("web-b", "web-c")))
        assert sorted(state.value for state in taken) == ["running", "taken"]
        assert await coordination.redelivered(db, 8, "web-b") is not Redelivered.HANDLED
        await coordination.settle(db, 8)
        assert await coordination.redelivered(db, 8, "web-c") is Redelivered.HANDLED

        await engine.dispose()
    run(scenario)


def test_the_sender_lease_is_held_renewed_taken_over_and_released(tmp_path: Path) -> None:
    """One holder at a time; it renews; when it stops renewing, a standby takes over once it has
    expired; a release hands over at once.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        assert await coordination.hold(db, "a", TTL)
        assert not await coordination.hold(db, "b", TTL)
        assert await coordination.hold(db, "a", TTL)  # renewal
        assert await coordination.hold(db, "a", timedelta(seconds=-1))  # as if it had lapsed
        assert await coordination.hold(db, "b", TTL)  # the standby takes over
        assert not await coordination.hold(db, "a", TTL)  # the former holder does not get it back
        await coordination.release(db, "b")
        assert await coordination.hold(db, "a", TTL)
        await engine.dispose()
    run(scenario)


def test_a_former_holder_claims_nothing(tmp_path: Path) -> None:
    """Claims are fenced by the lease: once another instance holds it, the old one sends nothing."""
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        for chat in (1, 2, 3):
            await subscribers.subscribe(db, chat, "fr", ["all"])
        broadcast = await outbox.create(db, "hello")
        await outbox.confirm(db, broadcast)
        assert await coordination.hold(db, "old", TTL)
        assert await outbox.claim_one(db, broadcast, "old") == 1
        assert await coordination.hold(db, "old", timedelta(seconds=-1))
        assert await coordination.hold(db, "new", TTL)
        assert await outbox.claim_one(db, broadcast, "old") is None
        assert await outbox.claim_one(db, broadcast, "new") == 2
        await engine.dispose()
    run(scenario)


def test_flood_control_is_shared(tmp_path: Path) -> None:
    """Two instances' throttles on one database count one user's messages together."""
    async def scenario() -> list[str]:
        engine, db = await fresh(tmp_path)
        now = [1000.0]
        first, second = (SharedThrottle(db, burst=3, rate=0.5, clock=lambda: now[0])
                         for _ in range(2))
        verdicts = [await first.check("tag-a"), await second.check("tag-a"),
                    await first.check("tag-a"), await second.check("tag-a"),
                    await first.check("tag-a"), await second.check("tag-b")]
        now[0] += 2.0  # one token back
        verdicts.append(await second.check("tag-a"))
        now[0] += 60.0  # everyone full again: nothing worth keeping
        assert await first.forget_full() == 2
        await engine.dispose()
        return verdicts

    assert run(scenario) == ["ok", "ok", "ok", "warn", "drop", "ok", "ok"]


def test_a_question_goes_to_the_team_once_and_at_most_three_a_day(tmp_path: Path) -> None:
    """Any instance finds the user's last unanswered question; it is sent once; 3 a day."""
    async def scenario() -> list[tuple[str, str | None]]:
        engine, db = await fresh(tmp_path)
        got = [await feedback.hand_to_team(db, "tag-a")]
        kept = feedback.UnansweredLog(db)
        for number in range(4):
            kept.add(f"question {number} 06 12 34 56 78", "fallback", "tag-a")
            await kept.flush()
            got.append(await feedback.hand_to_team(db, "tag-a"))
        got.append(await feedback.hand_to_team(db, "tag-a"))
        await engine.dispose()
        return got

    got = run(scenario)
    assert got[0] == ("nothing", None)
    assert [outcome for outcome, _ in got[1:]] == ["sent", "sent", "sent", "capped", "capped"]
    assert got[1][1] is not None and "question 0" in got[1][1] and "06 12" not in got[1][1]


def test_instances_see_each_other_alive(tmp_path: Path) -> None:
    """Heartbeats: each instance sees the live ones with their load; one that left is gone."""
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await coordination.beat(db, "w1", "web", 4.0)
        await coordination.beat(db, "k1", "worker", 0.0)
        peers = await coordination.beat(db, "w2", "web", 6.0)
        assert sorted((p.role, p.replies) for p in peers) == [("web", 4.0), ("web", 6.0),
                                                               ("worker", 0.0)]
        await coordination.leave(db, "w1")
        stale = await coordination.beat(db, "w2", "web", 6.0, alive=timedelta(seconds=-1))
        assert stale == []  # nobody seen "in the future": the window excludes everyone
        assert len(await coordination.beat(db, "w2", "web", 6.0)) == 2
        async with db.begin() as session:  # k1 died a while ago
            await session.execute(update(Instance).where(Instance.id == "k1").values(
                seen_at=datetime.now(UTC) - coordination.GONE - timedelta(seconds=1)))
        assert await coordination.forget_gone(db) == 1
        async with db() as session:
            assert set(await session.scalars(select(Instance.id))) == {"w2"}
        await engine.dispose()
    run(scenario)


@pytest.mark.parametrize(("peers", "wanted", "per_instance", "broadcast"), [
    ([("all", 0.5)], 28.0, 29.0, 28.0),  # one process, a few questions: full pace
    ([("web", 8.0), ("web", 7.0), ("web", 9.0), ("worker", 0.0)], 28.0, 29 * 8 / 24, 1.2),
    ([("web", 2.0), ("web", 0.0), ("worker", 0.0)], 28.0, 29 * 2 / 3, 27.6),  # the other is idle
    ([("web", 26.0), ("web", 0.5), ("web", 0.0)], 28.0, 29 * 26 / 28, 1.0),  # load moved here
    ([("web", 2.0), ("web", 14.0), ("web", 13.0)], 28.0, 2.0, 1.0),  # all busy: by demand
    ([("worker", 0.0)], 28.0, 29.0, 28.0),
])
def test_replies_first_broadcasts_take_the_rest(peers: list[tuple[str, float]], wanted: float,
                                                 per_instance: float, broadcast: float) -> None:
    """Answering instances split the budget by demand, so that their limits never add up to more
    than Telegram's 30 messages a second, less the broadcast's trickle; the broadcast slows down
    when they are busy, never below that trickle. Seen from the first peer.
    """
    def seen_from(role: str, demand: float) -> float:
        return split(peers, wanted, own_demand=demand if role != "worker" else 0.0
                     ).per_answering_instance

    share = split(peers, wanted, own_demand=peers[0][1] if peers[0][0] != "worker" else 0.0)
    assert share.per_answering_instance == pytest.approx(per_instance)
    assert share.broadcast == pytest.approx(max(1.0, broadcast))
    answering = [(role, demand) for role, demand in peers if role != "worker"]
    if answering:
        assert sum(seen_from(*peer) for peer in answering) == pytest.approx(29.0)
    replies = sum(r for role, r in peers if role != "worker")
    assert min(replies, 29.0) + share.broadcast <= 30.0
