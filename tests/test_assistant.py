"""The candidates' side without any channel: the same service Telegram's handlers call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from careerbot.assistant import Assistant
from careerbot.faq_reload import build
from careerbot.storage import feedback
from careerbot.throttle import Throttle
from tests.test_storage import fresh

UNKNOWN = "combien coûte un abonnement de piscine municipale pour un chat ?"


def test_without_a_database_the_last_unanswered_question_waits_in_memory(faq_dir: Path) -> None:
    """An unanswered question can be sent on once; answers carry no rating buttons."""
    assistant = Assistant(build(faq_dir, team_inbox=True).conversation)

    async def scenario() -> list[tuple[str, str | None]]:
        answered = await assistant.answer(1, "c'est quoi un concours", "fr")
        assert answered.match is not None and answered.match.status == "answer"
        assert "aidé" not in answered.html  # no database: no rating to keep
        unanswered = await assistant.answer(1, UNKNOWN, "fr")
        assert unanswered.match is not None and unanswered.match.status == "fallback"
        return [await assistant.question_for_team(1), await assistant.question_for_team(1)]

    assert asyncio.run(scenario()) == [("sent", UNKNOWN), ("nothing", None)]


@pytest.mark.usefixtures("backend")
def test_with_a_database_questions_and_ratings_are_stored(faq_dir: Path, tmp_path: Path) -> None:
    """Answers ask whether they helped; the unanswered question is found in the database (by
    any instance); flood control slows a user down.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        assistant = Assistant(build(faq_dir, team_inbox=True).conversation, db=db,
                              tag_key="secret", throttle=Throttle(burst=2, rate=0.01),
                              write_after=0.05)
        answered = await assistant.answer(7, "c'est quoi un concours", "fr")
        assert "aidé" in answered.html
        await assistant.answer(7, UNKNOWN, "fr")
        await asyncio.sleep(0.5)  # written behind the reply, within write_after
        other = Assistant(assistant.conversation, db=db, tag_key="secret")  # another instance
        assert await other.question_for_team(7) == ("sent", UNKNOWN)
        assert await assistant.question_for_team(7) == ("nothing", None)
        await assistant.answer(7, UNKNOWN + " ?", "fr")  # on this instance: found at once
        assert await assistant.question_for_team(7) == ("sent", UNKNOWN + " ?")
        assert [await assistant.allowed(7) for _ in range(4)] == ["ok", "ok", "warn", "drop"]
        await engine.dispose()
    asyncio.run(scenario())


@pytest.mark.usefixtures("backend")
def test_unanswered_questions_are_written_behind_the_reply_in_batches(tmp_path: Path) -> None:
    """Queued questions reach the database together after the delay, or at once on flush and
    at a clean stop; /oublier drops a user's queued ones; a failed write loses none.
    """
    async def stored(db: feedback.Sessions) -> list[str]:
        return sorted(text for text, _ in await feedback.unanswered(db))

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        kept = feedback.UnansweredLog(db, delay=0.2)
        kept.add("un", "fallback", "lea")
        kept.add("deux", "suggest", "max")
        assert await stored(db) == []  # not yet: the reply did not wait for it
        await asyncio.sleep(0.6)
        assert await stored(db) == ["deux", "un"]
        kept.add("trois", "fallback", "lea")
        kept.add("quatre", "fallback", "max")
        await kept.forget("lea")  # /oublier before the write: Léa's question never lands
        await kept.flush()
        assert await stored(db) == ["deux", "quatre", "un"]
        async with engine.begin() as connection:  # the database refuses the next write
            await connection.execute(text("alter table unanswered rename to away"))
        kept.add("cinq", "fallback", None)
        with pytest.raises(DBAPIError):
            await kept.flush()
        async with engine.begin() as connection:
            await connection.execute(text("alter table away rename to unanswered"))
        kept.add("six", "fallback", None)
        await kept.close()  # a clean stop writes what waited, the refused batch included, once
        assert await stored(db) == ["cinq", "deux", "quatre", "six", "un"]
        await engine.dispose()

    asyncio.run(scenario())
