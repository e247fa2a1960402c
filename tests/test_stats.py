"""The /stats figures on a real database: tallies flushed by several writers, the five figures of
a seeded month, subscriber snapshots, and the weekly digest's claim. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from careerbot import chart, stats
from careerbot.stats import Tally
from careerbot.storage import feedback, subscribers
from careerbot.storage import stats as stored
from careerbot.storage.database import migrate, open_engine, sessions
from careerbot.storage.models import DailyCount, Feedback
from tests.databases import database_url
from tests.stats_seed import seed
from tests.test_storage import fresh, run

pytestmark = pytest.mark.usefixtures("backend")
NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # a Monday, 12:00 in Paris
TODAY = date(2026, 12, 7)


class Clock:
    """A fake clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The time the test set."""
        return self.now


def test_tallies_of_two_writers_add_up(tmp_path: Path) -> None:
    """Two instances flush their in-memory counts at the same time: the database holds the sum,
    per day, outcome and entry, and a flushed tally starts again from zero.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        other = open_engine(await database_url(tmp_path))  # a second instance, its own pool
        clock = Clock(NOON)
        first, second = Tally(clock), Tally(clock)
        for _ in range(3):
            first.add("answer", "concours")
        second.add("answer", "concours")
        second.add("fallback")
        first.add("smalltalk")
        first.add("empty")  # not an outcome: not counted
        clock.now = NOON + timedelta(days=1)
        second.add("answer", "pacte")
        await asyncio.gather(stored.flush_tally(db, first), stored.flush_tally(sessions(other), second))
        assert first.counts == second.counts == {}
        second.add("answer", "concours")
        assert await stored.flush_tally(sessions(other), second) == 1
        found = await stored.figures(db, TODAY + timedelta(days=1))
        assert found.per_day["answer"][-2:] == (4, 2)
        assert found.per_day["fallback"][-2:] == (1, 0)
        assert found.per_day["smalltalk"][-2:] == (1, 0)
        assert found.top_entries == (("concours", 5), ("pacte", 1))
        assert found.messages == 8
        await other.dispose()
        await engine.dispose()
    run(scenario)


def test_a_refused_flush_keeps_the_counts_for_the_next(tmp_path: Path) -> None:
    """When the database refuses a flush, the counts go back into the tally, not lost."""
    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))  # not migrated: no table
        tally = Tally(Clock(NOON))
        tally.add("answer", "concours")
        with pytest.raises(Exception, match="daily_counts"):
            await stored.flush_tally(sessions(engine), tally)
        assert tally.counts == {(TODAY, "answer", "concours"): 1}
        await migrate(engine)
        assert await stored.flush_tally(sessions(engine), tally) == 1
        await engine.dispose()
    run(scenario)


def test_the_five_figures_of_a_seeded_month(tmp_path: Path) -> None:
    """Each figure is what the tables hold: per-day sums, the 10 most answered entries, ratings
    worst first with their counts, subscriber series, finished broadcasts with their counts.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await seed(db, TODAY)
        found = await stored.figures(db, TODAY)
        async with db() as session:
            total = await session.scalar(select(func.sum(DailyCount.count)))
            votes = await session.scalar(select(func.count()).select_from(Feedback))
        assert found.days[0] == TODAY - timedelta(days=29) and found.days[-1] == TODAY
        assert found.messages == total
        assert len(found.top_entries) == 10
        assert [count for _, count in found.top_entries] == sorted(
            (count for _, count in found.top_entries), reverse=True)
        assert sum(r.total for r in found.ratings) == votes
        assert [r.share for r in found.ratings] == sorted(r.share for r in found.ratings)
        assert {(r.entry_id, (r.helpful, r.unhelpful)) for r in found.ratings} == {
            (entry, counts) for entry, counts in (await feedback.ratings(db)).items()}
        assert [b.id for b in found.broadcasts] == [5, 4, 3, 2, 1]  # the draft is left out
        assert (found.broadcasts[0].sent, found.broadcasts[0].blocked,
                found.broadcasts[0].uncertain) == (131, 5, 1)
        topics = [s for s in found.subscribers if s.kind == "topic"]
        assert topics[0].key == "all" and len(topics[0].points) == 30
        assert {s.key for s in found.subscribers if s.kind == "region"} == {
            "ile-de-france", "en-ligne", "occitanie"}
        png = chart.render_png(found)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert chart.figures_in(png) == stats.as_json(found)
        assert "Messages du" in stats.as_text(found)
        await engine.dispose()
    run(scenario)


def test_a_snapshot_counts_topics_and_regions_and_replaces_the_days(tmp_path: Path) -> None:
    """The day's snapshot counts subscribers per topic (0 for an unfollowed one) and per region
    (through the regions reader); taken again the same day, it replaces the counts.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await subscribers.subscribe(db, 1, "fr", ["concours", "evenements"])
        await subscribers.subscribe(db, 2, "fr", ["concours"])

        async def regions(_: object) -> dict[str, int]:
            return {"bretagne": 1}

        await stored.snapshot(db, TODAY, regions)
        await subscribers.subscribe(db, 3, "fr", ["concours"])
        await stored.snapshot(db, TODAY, regions)
        found = {(s.kind, s.key): s.points for s in (await stored.figures(db, TODAY)).subscribers}
        assert found[("topic", "concours")] == ((TODAY, 3),)
        assert found[("topic", "evenements")] == ((TODAY, 1),)
        assert found[("topic", "alternance")] == ((TODAY, 0),)
        assert found[("region", "bretagne")] == ((TODAY, 1),)
        await engine.dispose()
    run(scenario)


def test_a_weeks_digest_is_claimed_once_and_a_stale_claim_is_taken_over(tmp_path: Path) -> None:
    """One instance wins the week; a claim left mid-way for 10 minutes passes to another, which
    resumes after the parts already sent; once sent, nobody claims it again.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        week = "2026-W50"
        assert await stored.claim_digest(db, week, "a", NOON) == 0
        assert await stored.claim_digest(db, week, "b", NOON + timedelta(minutes=1)) is None
        assert await stored.digest_progress(db, week, "a", 1, NOON)
        # "a" dies here; ten minutes later "b" takes over after part 1
        later = NOON + timedelta(minutes=11)
        assert await stored.claim_digest(db, week, "b", later) == 1
        assert not await stored.digest_progress(db, week, "a", 2, later)  # fenced off
        assert await stored.digest_progress(db, week, "b", 3, later, done=True)
        assert await stored.digest_state(db, week) == ("sent", 3)
        assert await stored.claim_digest(db, week, "c", later + timedelta(days=1)) is None
        assert await stored.claim_digest(db, "2026-W51", "c", later + timedelta(days=7)) == 0
        await engine.dispose()
    run(scenario)
