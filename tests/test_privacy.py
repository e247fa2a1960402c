"""Contact details are removed from what users typed before it is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careerbot.privacy import scrub, user_tag
from careerbot.storage import feedback
from careerbot.storage.models import Unanswered
from tests.test_storage import fresh, run

storage = pytest.mark.usefixtures("backend")  # on SQLite, then PostgreSQL (tests/databases.py)


@pytest.mark.parametrize(("typed", "kept"), [
    ("je suis Léa, appelez moi au 06 12 34 56 78 svp", "je suis Léa, appelez moi au [téléphone] svp"),
    ("tel: +33 6 12 34 56 78", "tel: [téléphone]"),
    ("0612345678 ou 06.12.34.56.78", "[téléphone] ou [téléphone]"),
    ("0033612345678", "[téléphone]"),
    ("écrivez à lea.martin+fp@exemple.fr merci", "écrivez à [e-mail] merci"),
])
def test_contact_details_are_replaced(typed: str, kept: str) -> None:
    """Phone numbers and e-mail addresses become placeholders; the question stays readable."""
    assert scrub(typed) == kept


@pytest.mark.parametrize("typed", [
    "concours 2026 catégorie B", "bac+3 ou bac+5 ?", "j'ai 45 ans et 3 enfants",
    "décret 2021-1257 du 1er octobre 2021", "indice 366",
])
def test_ordinary_numbers_are_kept(typed: str) -> None:
    """Years, ages, diplomas and decree numbers are not contact details."""
    assert scrub(typed) == typed


async def keep(db: feedback.Sessions, *questions: tuple[str, str | None]) -> None:
    """Unanswered questions (text, tag) kept as the assistant keeps them, and written."""
    log = feedback.UnansweredLog(db)
    for text, tag in questions:
        log.add(text, "fallback", tag)
    await log.flush()


@storage
def test_unanswered_questions_are_stored_scrubbed(tmp_path: Path) -> None:
    """What the database keeps of an unanswered question has no phone number or e-mail."""
    async def scenario() -> list[tuple[str, str]]:
        engine, db = await fresh(tmp_path)
        await keep(db, ("rappelez moi au 06 12 34 56 78 ou lea@exemple.fr", None))
        kept = await feedback.unanswered(db)
        await engine.dispose()
        return kept

    assert run(scenario) == [("rappelez moi au [téléphone] ou [e-mail]", "fallback")]


def test_user_tag_is_stable_keyed_and_one_way() -> None:
    """The same user gives the same tag under one key; another key or user gives another."""
    tag = user_tag(12345, "123:secret")
    assert tag == user_tag(12345, "123:secret")
    assert len(tag) == 32 and "12345" not in tag
    assert tag != user_tag(12345, "456:other") and tag != user_tag(12346, "123:secret")


@storage
def test_ratings_last_tap_wins_and_forget_erases_the_users_records(tmp_path: Path) -> None:
    """One rating per user and message (the last tap wins); forget_tagged erases only theirs."""
    lea, max_ = user_tag(1, "k"), user_tag(2, "k")

    async def scenario() -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]],
                                  list[tuple[str, str]]]:
        engine, db = await fresh(tmp_path)
        for vote in (True, False, True, False):  # Léa taps four times on one answer
            await feedback.record_feedback(db, "pacte", vote, lea, 10)
        await feedback.record_feedback(db, "pacte", True, max_, 10)  # same message id, Max's chat
        await feedback.record_feedback(db, "pacte", True, lea, 11)  # another answer
        await keep(db, ("question de Léa", lea), ("question de Max", max_))
        before = await feedback.ratings(db)
        await feedback.forget_tagged(db, lea)
        after = await feedback.ratings(db)
        kept = await feedback.unanswered(db)
        await engine.dispose()
        return before, after, kept

    before, after, kept = run(scenario)
    assert before == {"pacte": (2, 1)}
    assert after == {"pacte": (1, 0)}
    assert kept == [("question de Max", "fallback")]


@storage
def test_tags_are_dropped_after_30_days(tmp_path: Path) -> None:
    """A question older than 30 days loses its tag: forgetting can no longer find it."""
    lea = user_tag(1, "k")

    async def scenario() -> list[tuple[str, str]]:
        engine, db = await fresh(tmp_path)
        async with db.begin() as session:
            session.add(Unanswered(text="ancienne", status="fallback", tag=lea,
                                   created_at=datetime.now(UTC) - timedelta(days=31)))
        await keep(db, ("récente", lea))
        await feedback.forget_tagged(db, lea)
        kept = await feedback.unanswered(db)
        await engine.dispose()
        return kept

    assert run(scenario) == [("ancienne", "fallback")]
