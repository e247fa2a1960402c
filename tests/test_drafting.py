"""The organiser's draft: the state machine alone, then stored on a real database (SQLite file, or
PostgreSQL, see tests/databases.py) across a simulated restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from careerbot import drafting
from careerbot.drafting import (
    Abandon,
    Confirm,
    Draft,
    Everyone,
    Next,
    Outcome,
    Schedule,
    Step,
    Toggle,
    Write,
    step,
    typed,
)
from careerbot.storage import drafts, outbox, subscribers
from careerbot.storage.database import migrate, open_engine, sessions
from tests.databases import database_url
from tests.test_storage import run

storage = pytest.mark.usefixtures("backend")  # on SQLite, then PostgreSQL (tests/databases.py)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def at(where: Step, **values: object) -> Draft:
    """A draft of organiser 42 at a step, version 3."""
    return Draft(1, 42, where, 3, **values)  # type: ignore[arg-type]


def test_a_draft_walks_through_its_steps() -> None:
    """Text, audience, time, preview, confirmation: each change of step bumps the version."""
    draft = at(Step.TEXT)
    moved = step(draft, Write("<b>Salut</b>", "Salut"))
    assert (moved.outcome, moved.draft.step, moved.draft.version) == (
        Outcome.ASK_AUDIENCE, Step.AUDIENCE, 4)
    assert moved.draft.text == "<b>Salut</b>"
    ticked = step(moved.draft, Toggle("concours"), version=4)
    assert (ticked.outcome, ticked.draft.topics, ticked.draft.version) == (
        Outcome.AUDIENCE_CHANGED, frozenset({"concours"}), 4)
    when = step(ticked.draft, Next(), version=4)
    assert (when.outcome, when.draft.step) == (Outcome.ASK_WHEN, Step.WHEN)
    shown = step(when.draft, Schedule(None), version=5)
    assert (shown.outcome, shown.draft.step, shown.draft.send_at) == (
        Outcome.PREVIEW, Step.PREVIEW, None)
    done = step(shown.draft, Confirm(), version=6)
    assert (done.outcome, done.draft.step, done.draft.version) == (
        Outcome.CONFIRMED, Step.CONFIRMED, 7)


def test_toggling_keeps_the_keyboard_valid_and_a_double_tap_undoes() -> None:
    """Ticking keeps the version (the keyboard's other buttons stay valid); two taps cancel out."""
    draft = at(Step.AUDIENCE)
    once = step(draft, Toggle("concours"), version=3).draft
    twice = step(once, Toggle("concours"), version=3).draft
    assert twice == draft
    assert step(once, Next(), version=3).outcome is Outcome.ASK_WHEN


def test_everyone_is_an_explicit_choice() -> None:
    """Nothing ticked: "Suivant" asks to choose; "Tout le monde" clears topics and vice versa."""
    draft = at(Step.AUDIENCE)
    refused = step(draft, Next(), version=3)
    assert (refused.outcome, refused.draft, refused.changed) == (
        Outcome.NEED_AUDIENCE, draft, False)
    everyone = step(step(draft, Toggle("concours"), version=3).draft, Everyone(), version=3).draft
    assert (everyone.everyone, everyone.topics) == (True, frozenset())
    back = step(everyone, Toggle("alternance"), version=3).draft
    assert (back.everyone, back.topics) == (False, frozenset({"alternance"}))


@pytest.mark.parametrize(("where", "event", "version", "outcome"), [
    (Step.PREVIEW, Schedule(None), 4, Outcome.PASSED),  # the old "Quand ?" keyboard
    (Step.WHEN, Toggle("concours"), 3, Outcome.PASSED),  # the old audience keyboard
    (Step.AUDIENCE, Toggle("concours"), 2, Outcome.PASSED),  # an older version
    (Step.PREVIEW, Confirm(), 2, Outcome.PASSED),
    (Step.REPLACED, Confirm(), 3, Outcome.REPLACED),
    (Step.REPLACED, Toggle("concours"), None, Outcome.REPLACED),
    (Step.CONFIRMED, Confirm(), 5, Outcome.ALREADY_CONFIRMED),  # a double tap on "Envoyer"
    (Step.CONFIRMED, Abandon(), 4, Outcome.ALREADY_CONFIRMED),
    (Step.ABANDONED, Next(), 4, Outcome.ALREADY_ABANDONED),
    (Step.TEXT, Confirm(), None, Outcome.PASSED),
    (Step.WHEN, Write("demain", "demain"), None, Outcome.BAD_DATE),
])
def test_stale_or_misplaced_input_changes_nothing(where: Step, event: drafting.Event,
                                                  version: int | None, outcome: Outcome) -> None:
    """A button of a passed step, a replaced or finished draft, or bad input is refused as is."""
    draft = at(where)
    moved = step(draft, event, version=version)
    assert (moved.outcome, moved.draft, moved.changed) == (outcome, draft, False)


def test_typed_messages() -> None:
    """"annuler" abandons at any open step; a typed date at the when step goes to the preview."""
    assert typed("Annuler ", "Annuler ") == Abandon()
    moved = step(at(Step.WHEN), typed("05/12/2026 18:30", "05/12/2026 18:30"))
    assert moved.outcome is Outcome.PREVIEW
    assert moved.draft.send_at == datetime(2026, 12, 5, 18, 30, tzinfo=drafting.PARIS)
    assert step(at(Step.PREVIEW), Abandon()).draft.step is Step.ABANDONED


def test_time_buttons() -> None:
    """Now, in an hour, tomorrow 9:00 in Paris; a forged choice is no event at all."""
    assert drafting.schedule("now", NOW) == Schedule(None)
    assert drafting.schedule("hour", NOW) == Schedule(datetime(2026, 11, 26, 11, 0, tzinfo=UTC))
    tomorrow = drafting.schedule("tomorrow", NOW)
    assert tomorrow is not None and tomorrow.moment == datetime(2026, 11, 27, 9, 0,
                                                               tzinfo=drafting.PARIS)
    assert drafting.schedule("yesterday", NOW) is None


@storage
def test_stored_draft_survives_a_restart_and_saves_once(tmp_path: Path) -> None:
    """A draft is read back after the engine is reopened; a save against an outdated read fails;
    a new /annonce replaces the unconfirmed draft.
    """
    async def scenario() -> None:
        url = await database_url(tmp_path)
        engine = open_engine(url)
        await migrate(engine)
        db = sessions(engine)
        first = await drafts.start(db, 42)
        assert (first.step, first.version) == (Step.TEXT, 1)
        written = step(first, Write("Bonjour", "Bonjour")).draft
        assert await drafts.save(db, first, written)
        await engine.dispose()

        engine = open_engine(url)  # the bot restarted
        db = sessions(engine)
        again = await drafts.current(db, 42)
        assert again == written
        ticked = step(written, Toggle("concours"), version=2).draft
        assert await drafts.save(db, written, ticked)
        assert not await drafts.save(db, written, step(written, Everyone(), version=2).draft)
        assert await drafts.get(db, written.id) == ticked  # the concurrent tap lost, nothing mixed

        second = await drafts.start(db, 42, text="Autre")
        replaced = await drafts.get(db, first.id)
        assert replaced is not None and replaced.step is Step.REPLACED
        assert await drafts.current(db, 42) == second
        assert second.step is Step.AUDIENCE
        assert [s.state for s in await outbox.recent(db)] == ["draft", "cancelled"]
        assert await drafts.confirmed(db) == []  # drafts are not listed as broadcasts
        await engine.dispose()
    run(scenario)


@storage
def test_confirmation_stores_the_report_message(tmp_path: Path) -> None:
    """Confirming stores where the live report goes; everyone means no topic for the outbox."""
    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine)
        db = sessions(engine)
        for chat in (1, 2):
            await subscribers.subscribe(db, chat, "fr", ["concours"] if chat == 1 else ["all"])
        draft = await drafts.start(db, 42, text="Bonjour")
        first = draft
        for event, version in ((Everyone(), 1), (Next(), 1), (Schedule(None), 2)):
            moved = step(draft, event, version=version).draft
            assert await drafts.save(db, draft, moved)
            draft = moved
        done = step(draft, Confirm(), version=3).draft
        assert await drafts.save(db, draft, done, report_to=(42, 7))
        assert await outbox.confirm(db, first.id) == 2
        assert await drafts.report_target(db, first.id) == (42, 7)
        assert await drafts.confirmed(db) == [first.id]
        await engine.dispose()
    run(scenario)


@storage
def test_a_confirmation_cut_short_is_queued_by_the_next_tap(tmp_path: Path) -> None:
    """Stopped after storing "confirmed" but before the outbox queued it: tapping "Envoyer"
    again queues it, once; a further tap only says it is already confirmed.
    """
    from careerbot.announcing import Announcing, _apply
    from careerbot.faq import Faq

    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine)
        db = sessions(engine)
        await subscribers.subscribe(db, 1, "fr", ["all"])
        draft = await drafts.start(db, 42, text="Bonjour")
        for event, version in ((Everyone(), 1), (Next(), 1), (Schedule(None), 2), (Confirm(), 3)):
            moved = step(draft, event, version=version).draft
            assert await drafts.save(db, draft, moved)
            draft = moved
        # ...and the process died here, before outbox.confirm.
        announcing = Announcing(db, frozenset({42}), Faq((), ()))
        first = await _apply(draft, Confirm(), 4, announcing, report_to=(42, 7))
        second = await _apply(draft, Confirm(), 4, announcing, report_to=(42, 7))
        summary = await outbox.summary(db, draft.id)
        assert summary is not None and summary.state == outbox.RUNNING and summary.total == 1
        assert first.edit is not None and "#" in first.edit.html
        assert second.toast is not None and second.edit is None
        await engine.dispose()
    run(scenario)
