"""The organisers' event draft as a state machine: steps in order, checked input, versions that
make old buttons harmless, and the edit flow; no Telegram, no database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from careerbot import event_screens as screens
from careerbot.event_drafting import (
    Abandon,
    Confirm,
    EventDraft,
    Next,
    Outcome,
    PickField,
    PickRegion,
    Step,
    Toggle,
    Write,
    from_event,
    step,
)
from careerbot.faq import Event
from careerbot.french_dates import PARIS

NOW = datetime(2026, 12, 10, 20, 15, tzinfo=PARIS)
TOPICS = frozenset({"concours", "sans-concours"})


def draft() -> EventDraft:
    """A new draft, at its first step."""
    return EventDraft(1, 42, Step.TITLE, 1)


def through(current: EventDraft, *actions: Write | PickRegion | Toggle | Next) -> EventDraft:
    """The draft after actions that must all be accepted."""
    for action in actions:
        moved = step(current, action, NOW, topics=TOPICS)
        assert moved.changed, (action, moved.outcome, moved.problem)
        current = moved.draft
    return current


def test_a_new_event_goes_through_every_step_in_order() -> None:
    """Title, date, place, region, link, description, topics, preview, confirmed."""
    current = draft()
    seen = []
    for action in (Write("Soirée"), Write("12/03 18h30"), Write("Paris"),
                   PickRegion("ile-de-france"), Write("https://fp21.fr/"), Write("Rencontre."),
                   Toggle("concours"), Next()):
        seen.append(current.step)
        current = through(current, action)
    assert seen == [Step.TITLE, Step.WHEN, Step.PLACE, Step.REGION, Step.LINK, Step.DESCRIPTION,
                    Step.TOPICS, Step.TOPICS]
    assert current.step is Step.PREVIEW
    event = current.event("soiree-2027-03-12")
    assert event.start == datetime(2027, 3, 12, 18, 30, tzinfo=PARIS)
    assert event.end - event.start == timedelta(hours=2)
    assert (event.region, event.tags) == ("ile-de-france", ("concours",))
    confirmed = step(current, Confirm(), NOW, version=current.version)
    assert confirmed.outcome is Outcome.CONFIRMED
    again = step(confirmed.draft, Confirm(), NOW, version=current.version)
    assert again.outcome is Outcome.ALREADY_CONFIRMED and not again.changed


def test_online_needs_no_region() -> None:
    """"en ligne" as the place sets the region and skips its question."""
    current = through(draft(), Write("Webinaire"), Write("12/03 18h"), Write("En ligne"))
    assert (current.step, current.region, current.place) == (Step.LINK, "en-ligne", "En ligne")


@pytest.mark.parametrize(("at", "typed", "says"), [
    (Step.TITLE, "x" * 101, "101 caractères, 100 au plus"),
    (Step.TITLE, "a", "trop court"),
    (Step.WHEN, "12/03/2020 18h", "Cette date est passée"),
    (Step.PLACE, "p" * 121, "121 caractères, 120 au plus"),
    (Step.LINK, "http://fp21.fr", "commence par https://"),
    (Step.LINK, "https://fp21 .fr", "commence par https://"),
    (Step.LINK, "javascript:alert(1)", "commence par https://"),
    (Step.DESCRIPTION, "d" * 301, "301 caractères, 300 au plus"),
    (Step.DESCRIPTION, "a\nb\nc", "3 lignes : 2 au plus"),
])
def test_bad_input_is_refused_and_the_step_stays(at: Step, typed: str, says: str) -> None:
    """A refused value leaves the draft as it was, and the problem says what to type."""
    current = replace(draft(), step=at)
    moved = step(current, Write(typed), NOW)
    assert moved.outcome is Outcome.INVALID and not moved.changed
    assert says in moved.problem and moved.draft == current


def test_old_buttons_and_wrong_steps_change_nothing() -> None:
    """A button of a passed version, a region at the wrong step, a forged region or topic, and
    anything after abandoning, are refused.
    """
    at_region = through(draft(), Write("Soirée"), Write("12/03 18h"), Write("Lyon"))
    old = at_region.version - 1
    assert step(at_region, PickRegion("bretagne"), NOW, version=old).outcome is Outcome.PASSED
    assert step(at_region, PickRegion("atlantide"), NOW).outcome is Outcome.PASSED
    assert step(at_region, Toggle("concours"), NOW, topics=TOPICS).outcome is Outcome.PASSED
    at_topics = through(at_region, PickRegion("bretagne"), Write("https://fp21.fr/"),
                        Write("Rencontre."))
    assert step(at_topics, Toggle("forged"), NOW, topics=TOPICS).outcome is Outcome.PASSED
    ticked = step(at_topics, Toggle("concours"), NOW, version=at_topics.version, topics=TOPICS)
    assert ticked.outcome is Outcome.TOPICS_CHANGED
    assert ticked.draft.version == at_topics.version  # the keyboard's other buttons stay valid
    dropped = step(at_topics, Abandon(), NOW)
    assert dropped.outcome is Outcome.ABANDONED
    assert step(dropped.draft, Next(), NOW).outcome is Outcome.ALREADY_ABANDONED
    replaced = replace(at_topics, step=Step.REPLACED)
    assert step(replaced, Next(), NOW).outcome is Outcome.REPLACED


def test_editing_changes_one_field_then_previews() -> None:
    """An edit asks which field, takes it, and goes back to the preview; new drafts cannot pick
    a field.
    """
    start = datetime(2027, 3, 12, 18, 30, tzinfo=PARIS)
    event = Event("soiree", "Soirée", start, start + timedelta(hours=2), "Paris",
                  "https://fp21.fr/", ("concours",), "Rencontre.", region="ile-de-france")
    editing = from_event(5, 42, event)
    assert editing.step is Step.CHOOSE
    chosen = step(editing, PickField(Step.WHEN), NOW, version=editing.version)
    assert chosen.outcome is Outcome.ASK and chosen.draft.step is Step.WHEN
    asked = screens.question(chosen.draft, ())
    assert asked.html.endswith("<i>Actuellement : 12 mars 2027 à 18h30, fin à 20h30</i>")
    title = step(editing, PickField(Step.TITLE), NOW, version=editing.version).draft
    assert screens.question(title, ()).html == ("✏️ Le nouveau titre ? (100 caractères au plus)"
                                                "\n<i>Actuellement : Soirée</i>")
    moved = step(chosen.draft, Write("13/03 10h-12h"), NOW)
    assert moved.outcome is Outcome.PREVIEW
    assert moved.draft.event("soiree") == replace(
        event, start=datetime(2027, 3, 13, 10, tzinfo=PARIS),
        end=datetime(2027, 3, 13, 12, tzinfo=PARIS))
    again = step(moved.draft, PickField(Step.PLACE), NOW, version=moved.draft.version)
    assert again.draft.step is Step.PLACE
    assert step(replace(draft(), step=Step.PREVIEW), PickField(Step.WHEN),
                NOW).outcome is Outcome.PASSED


def test_new_ids_are_readable_and_unique() -> None:
    """An id is the title and date as a slug, at most 50 characters, made unique."""
    start = datetime(2027, 3, 12, 18, 30, tzinfo=PARIS)
    event = Event("x", "Soirée « Les jeunes agents » à l'Hôtel de Ville !", start, start,
                  "Paris", "https://fp21.fr/", (), "x")
    assert screens.new_id(event, ()) == "soiree-les-jeunes-agents-a-l-hotel-2027-03-12"
    assert len(screens.new_id(replace(event, title="x" * 200), ())) <= screens.MAX_ID
    taken = {"soiree-2027-03-12", "soiree-2027-03-12-2"}
    assert screens.new_id(replace(event, title="Soirée"), taken) == "soiree-2027-03-12-3"
    assert screens.new_id(replace(event, title="!!!"), ()) == "evenement-2027-03-12"
