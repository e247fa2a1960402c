"""The button payload codec: every keyboard the bot builds fits Telegram and decodes back; old and
forged payloads are read safely.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from careerbot import announcements as ui
from careerbot import callbacks as cb
from careerbot.callbacks import LIMIT, PayloadError, decode, encode, max_id_length
from careerbot.conversation import Conversation, Reply
from careerbot.drafting import Draft, Step
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from careerbot.storage.outbox import Summary
from tests.conftest import REPO

BIG = 2**31 - 1  # draft ids, versions and broadcast ids far beyond what a bot will reach


def shipped_replies() -> Iterator[Reply]:
    """Every reply with buttons the bot can produce over the shipped FAQ, in both languages."""
    faq, _ = load_faq(REPO / "faq")
    before_everything = datetime(2000, 1, 1, tzinfo=UTC)  # every event is upcoming: ics buttons
    talk = Conversation(faq, Matcher(faq, Settings.from_mapping(faq.matching)),
                        clock=lambda: before_everything, team_inbox=True)
    for lang in ("fr", "en"):
        yield from (talk.welcome(lang), talk.help(lang), talk.themes(lang), talk.events(lang))
        yield talk.ask("xkcd quasar nébuleuse blorp", lang)  # fallback, with the team button
        yield from (talk.text(key, lang) for key in ("not_text", "slow_down", "team_sent"))
        yield from (talk.theme(theme.id, lang) for theme in faq.themes)
        yield from (talk.route(index, lang) for index in range(len(faq.route)))
        for entry in faq.entries:
            answer = talk.entry(entry.id, lang)
            yield from (answer, ui.with_feedback(answer, entry.id, lang),
                        talk.details(entry.id, lang))
        yield from (talk.definition((term.id,), lang) for term in faq.glossary)
        yield from (ui.choose_topics(chosen, lang) for chosen in (set(), {"all"},
                                                                  {k for k, _, _ in ui.TOPICS}))
        yield from (ui.choose_topics(set(ui.TOPIC_ORDER), lang, regions)
                    for regions in ({"bretagne"}, {"corse", "en-ligne"}, set(ui.PLACE_ORDER)))
        yield from (ui.choose_regions(regions, set(ui.TOPIC_ORDER), lang)
                    for regions in (set(), set(ui.PLACE_ORDER)))
        yield ui.forget_confirmation(lang)
    yield from (Reply("", ui.event_buttons(event)) for event in faq.events)
    yield from organiser_replies()


def organiser_replies() -> Iterator[Reply]:
    """Every organiser keyboard, drawn for the largest ids and versions."""
    topics = frozenset(k for k, _, _ in ui.TOPICS)
    for draft in (Draft(BIG, BIG, Step.AUDIENCE, BIG, "x", topics),
                  Draft(BIG, BIG, Step.AUDIENCE, BIG, "x", everyone=True)):
        yield from (ui.audience_keyboard(draft), ui.when_keyboard(draft),
                    ui.preview_controls(draft, BIG))
        yield ui.audience_keyboard(draft, "provence-alpes-cote-d-azur")
    for state in ("draft", "scheduled", "sending", "paused", "cancelled", "done", "stopped"):
        summary = Summary(BIG, "announce", state, "x", ("concours",), None,
                          {"sent": 3, "unknown": 2}, None)
        yield ui.report_reply(summary)
        if ui.uncertain(summary):
            yield ui.resend_confirmation(summary)
    yield from event_organiser_replies()


def event_organiser_replies() -> Iterator[Reply]:
    """Every keyboard of the organisers' event flow, for the largest numbers and longest ids."""
    from careerbot import event_screens as screens
    from careerbot.event_drafting import EventDraft
    from careerbot.event_drafting import Step as EventStep
    from careerbot.faq import Event

    faq, _ = load_faq(REPO / "faq")
    choices = screens.topic_choices(faq)
    start = datetime(2030, 3, 12, 17, 30, tzinfo=UTC)
    longest = "a" * max_id_length("event")
    event = Event(longest, "Soirée", start, start, "Paris", "https://fp21.fr/", (), "x",
                  region="provence-alpes-cote-d-azur")
    for target in (None, longest):
        for step in (EventStep.TITLE, EventStep.REGION, EventStep.TOPICS, EventStep.CHOOSE):
            draft = EventDraft(BIG, BIG, step, BIG, target=target,
                               tags=frozenset(k for k, _ in choices), start=start, end=start,
                               region="provence-alpes-cote-d-azur")
            yield screens.question(draft, choices)
        yield from screens.preview(replace(draft, step=EventStep.PREVIEW), event, choices)
    yield screens.published(event)
    yield Reply("", (screens.controls(event, (BIG, BIG)), screens.controls(event, None)))
    yield screens.cancel_question(event, BIG, BIG, 3)
    yield screens.events_to_announce([event])


def test_every_keyboard_fits_and_decodes_back() -> None:
    """Each payload of each keyboard is at most 64 bytes and decodes to the action it encodes."""
    kinds: set[type[cb.Action]] = set()
    for reply in shipped_replies():
        for button in reply.actions():
            payload = button.action or ""
            action = decode(payload)
            assert action is not None, payload
            assert len(payload.encode()) <= LIMIT, payload
            assert encode(action) == payload
            kinds.add(type(action))
    assert kinds == set(cb.KINDS.values())  # the walk met every kind of button there is


def test_encode_refuses_a_payload_over_64_bytes() -> None:
    """64 bytes are built; 65 raise at build time with a message saying what to shorten."""
    assert len(encode(cb.OpenEntry("a" * 61))) == 64
    with pytest.raises(PayloadError, match="65 bytes, over Telegram's limit of 64"):
        encode(cb.OpenEntry("a" * 62))
    with pytest.raises(PayloadError, match="bytes, over"):
        encode(cb.OpenTheme("é" * 31))  # 62 bytes of UTF-8, 31 characters


@pytest.mark.parametrize("action", [cb.OpenEntry("a:b"), cb.OpenEntry(""), cb.RouteStep(-1),
                                    cb.Outdated(), cb.DraftButton(1, 1)])
def test_encode_refuses_what_decode_could_not_read(action: cb.Action) -> None:
    """A separator in an argument, an empty one, a negative number or a non-kind is refused."""
    with pytest.raises(PayloadError):
        encode(action)


@pytest.mark.parametrize(("payload", "action"), [
    ("e:pacte", cb.OpenEntry("pacte")), ("d:pacte", cb.Details("pacte")),
    ("t:concours", cb.OpenTheme("concours")), ("r:2", cb.RouteStep(2)),
    ("ics:soiree-2030", cb.Calendar("soiree-2030")), ("themes", cb.Themes()),
    ("menu", cb.Menu()), ("events", cb.Events()), ("help", cb.Help()), ("team", cb.SendToTeam()),
    ("fb:pacte:1", cb.Feedback("pacte", helpful=True)),
    ("fb:pacte:0", cb.Feedback("pacte", helpful=False)),
    ("sub:concours", cb.ToggleTopic("concours")), ("sub:save", cb.SaveTopics()),
    ("sub:cancel", cb.KeepTopics()), ("forget:yes", cb.Forget(erase=True)),
    ("forget:no", cb.Forget(erase=False)), ("ann:pause:7", cb.PauseBroadcast(7)),
    ("ann:resume:7", cb.ResumeBroadcast(7)), ("ann:cancel:7", cb.CancelBroadcast(7)),
    ("ann:aud:all", cb.Outdated()), ("ann:when", cb.Outdated()), ("ann:at:now", cb.Outdated()),
    ("ann:ok:3", cb.Outdated()), ("ann:no:3", cb.Outdated()), ("ann:abort", cb.Outdated()),
])
def test_legacy_payloads_still_decode(payload: str, action: cb.Action) -> None:
    """Buttons drawn before payloads were versioned keep working (the organiser's flow ones say
    they are outdated: their draft was in memory).
    """
    assert decode(payload) == action


@pytest.mark.parametrize("payload", [
    None, "", "1", "1e", "1e:", "1zz:x", "1r:x", "1r:²", "1r:1:2", "1f:pacte:2", "1f:pacte",
    "1at:1:2", "1at:x:2:concours", "1bp:-1", "2e:pacte", "9", "e:", "fb:pacte:yes", "ann:pause:x",
    "ann:pause", "sub", "nope", "1e:" + "a" * 62,
])
def test_malformed_or_unknown_payloads_decode_to_none(payload: str | None) -> None:
    """Forged, truncated, unknown-version and oversized payloads give None, never an exception."""
    assert decode(payload) is None


def test_faq_ids_fit_their_longest_button() -> None:
    """The schema's limit on entry ids is what fits the longest payload an entry id goes into."""
    schema = json.loads((REPO / "careerbot/schemas/entries.schema.json").read_text())
    assert schema["$defs"]["id"]["maxLength"] == max_id_length("entry") == 59
    longest = "a" * max_id_length("entry")
    for kind in (cb.OpenEntry(longest), cb.Details(longest), cb.Feedback(longest, helpful=True)):
        assert len(encode(kind)) <= LIMIT
    assert max_id_length("theme") == 61
    assert max_id_length("event") == 59  # "Annoncer" carries the id with a longer code
