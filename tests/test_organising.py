"""The organisers' event service without Telegram, on a real database: a draft confirmed just
before a crash still becomes its event, once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careerbot import callbacks as cb
from careerbot import organising
from careerbot.announcing import Announcing
from careerbot.event_drafting import Step
from careerbot.faq_loader import load_faq
from careerbot.french_dates import PARIS
from careerbot.storage import events
from careerbot.storage.database import migrate, open_engine, sessions
from tests.conftest import FIXTURES
from tests.databases import database_url

pytestmark = pytest.mark.usefixtures("backend")
ADMIN = 42


def test_a_draft_confirmed_before_a_crash_is_published_on_the_next_tap(tmp_path: Path) -> None:
    """The bot stopped between storing the confirmation and storing the event: the organiser's
    next tap on "Publier" stores it, and a further tap says it is done, with one event in all.
    """
    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine)
        db = sessions(engine)
        announcing = Announcing(db, frozenset({ADMIN}), load_faq(FIXTURES / "faq")[0])
        await organising.start_event(ADMIN, announcing)
        day = datetime.now(PARIS) + timedelta(days=3)
        for typed in ("Atelier", f"{day:%d/%m/%Y} 18h", "en ligne", "https://fp21.fr/a",
                      "Un atelier."):
            replies = await organising.event_message(ADMIN, typed, announcing)
            assert replies and not replies[-1].html.startswith("⚠️"), typed
        draft = await events.current_draft(db, ADMIN)
        assert draft is not None and draft.step is Step.TOPICS
        shown = await organising.draft_button(cb.EventTopicsDone(draft.id, draft.version), ADMIN,
                                              announcing)
        assert "Aperçu" in shown.send[-1].html
        draft = await events.current_draft(db, ADMIN)
        assert draft is not None and draft.step is Step.PREVIEW
        confirmed = replace(draft, step=Step.CONFIRMED, version=draft.version + 1)
        assert await events.save_draft(db, draft, confirmed)  # ...and the bot stopped here
        assert await events.every(db) == []
        tap = cb.EventConfirm(draft.id, draft.version)
        first = await organising.draft_button(tap, ADMIN, announcing)
        assert first.edit is not None and "est publié" in first.edit.html
        second = await organising.draft_button(tap, ADMIN, announcing)
        assert second.toast == "Cet événement est déjà enregistré. ✅"
        stored = await events.every(db)
        assert [s.event.title for s in stored] == ["Atelier"]
        assert announcing.agenda.find(stored[0].event.id) == stored[0].event
        assert stored[0].event.start > datetime.now(UTC)
        await engine.dispose()
    asyncio.run(scenario())
