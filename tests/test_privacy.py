"""Contact details are removed from what users typed before it is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from careerbot.privacy import scrub
from careerbot.storage import feedback
from tests.test_storage import fresh, run


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


def test_unanswered_questions_are_stored_scrubbed(tmp_path: Path) -> None:
    """What the database keeps of an unanswered question has no phone number or e-mail."""
    async def scenario() -> list[tuple[str, str]]:
        engine, db = await fresh(tmp_path)
        await feedback.record_unanswered(db, "rappelez moi au 06 12 34 56 78 ou lea@exemple.fr",
                                         "fallback")
        kept = await feedback.unanswered(db)
        await engine.dispose()
        return kept

    assert run(scenario) == [("rappelez moi au [téléphone] ou [e-mail]", "fallback")]
