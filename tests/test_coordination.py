"""What instances share, on SQLite and PostgreSQL: updates taken once, the sender's lease,
flood control and the questions for the organisers.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from careerbot.storage import coordination, feedback, outbox, subscribers
from careerbot.storage.flood import SharedThrottle
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
        for number in range(4):
            await feedback.record_unanswered(db, f"question {number} 06 12 34 56 78", "fallback",
                                             "tag-a")
            got.append(await feedback.hand_to_team(db, "tag-a"))
        got.append(await feedback.hand_to_team(db, "tag-a"))
        await engine.dispose()
        return got

    got = run(scenario)
    assert got[0] == ("nothing", None)
    assert [outcome for outcome, _ in got[1:]] == ["sent", "sent", "sent", "capped", "capped"]
    assert got[1][1] is not None and "question 0" in got[1][1] and "06 12" not in got[1][1]
