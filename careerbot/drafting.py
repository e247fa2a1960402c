"""An organiser's announcement draft as a small state machine, without Telegram or a database.

    text -> audience -> when -> preview -> confirmed      (abandoned, replaced: ended early)

`step(draft, event)` is the only place a draft changes. Each change of step bumps `version`, and
every button carries the version it was drawn at: a button of a step already passed, of an
abandoned draft or of one a newer /annonce replaced changes nothing and says why. Ticking topics
keeps the version, so the other buttons of the same keyboard stay valid (double taps are normal).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Step(enum.StrEnum):
    """Where a draft stands."""

    TEXT = "text"
    AUDIENCE = "audience"
    WHEN = "when"
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"
    REPLACED = "replaced"


OPEN = (Step.TEXT, Step.AUDIENCE, Step.WHEN, Step.PREVIEW)


@dataclass(frozen=True, slots=True)
class Draft:
    """An announcement being written; its id is the broadcast it will become."""

    id: int
    owner: int  # the organiser's chat
    step: Step
    version: int
    text: str = ""  # Telegram HTML, exactly as recipients will see it
    topics: frozenset[str] = frozenset()
    everyone: bool = False  # an explicit choice, never the absence of topics
    send_at: datetime | None = None  # None: as soon as confirmed
    event_id: str | None = None
    region: str | None = None  # only subscribers of this region (or of none); None: every region

    @property
    def audience_chosen(self) -> bool:
        """Whether the organiser said who gets it."""
        return self.everyone or bool(self.topics)


# --- what can happen to a draft ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    """The organiser typed a message: the text at the text step, a date at the when step."""

    html: str
    plain: str


@dataclass(frozen=True, slots=True)
class Toggle:
    """Tick or untick a topic of the audience."""

    topic: str


@dataclass(frozen=True, slots=True)
class Everyone:
    """Choose, or unchoose, every subscriber."""


@dataclass(frozen=True, slots=True)
class Region:
    """Limit the audience to a region's subscribers (None: every region)."""

    region: str | None


@dataclass(frozen=True, slots=True)
class Next:
    """The audience is chosen."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """Send at this moment (None: now)."""

    moment: datetime | None


@dataclass(frozen=True, slots=True)
class Confirm:
    """Send the previewed announcement."""


@dataclass(frozen=True, slots=True)
class Abandon:
    """Drop the draft."""


Event = Write | Toggle | Everyone | Region | Next | Schedule | Confirm | Abandon


class Outcome(enum.StrEnum):
    """What a step did, for the adapter to show; the last six change nothing."""

    ASK_AUDIENCE = "ask_audience"
    AUDIENCE_CHANGED = "audience_changed"
    ASK_WHEN = "ask_when"
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"
    NEED_AUDIENCE = "need_audience"
    BAD_DATE = "bad_date"
    PASSED = "passed"
    REPLACED = "replaced"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_ABANDONED = "already_abandoned"


REFUSALS = frozenset({Outcome.NEED_AUDIENCE, Outcome.BAD_DATE, Outcome.PASSED, Outcome.REPLACED,
                      Outcome.ALREADY_CONFIRMED, Outcome.ALREADY_ABANDONED})


@dataclass(frozen=True, slots=True)
class Transition:
    """The draft after an event, and what happened."""

    draft: Draft
    outcome: Outcome

    @property
    def changed(self) -> bool:
        """Whether the draft must be saved (a refusal leaves it as it was)."""
        return self.outcome not in REFUSALS


def step(draft: Draft, event: Event, *, version: int | None = None) -> Transition:
    """Apply an event; `version` is the one a button was drawn at (None for typed messages)."""
    refusal = _refusal(draft, version)
    if refusal is not None:
        return Transition(draft, refusal)
    match event, draft.step:
        case Abandon(), _:
            return _moved(draft, Step.ABANDONED, Outcome.ABANDONED)
        case Write(html=html), Step.TEXT if html.strip():
            return _moved(replace(draft, text=html), Step.AUDIENCE, Outcome.ASK_AUDIENCE)
        case Write(plain=plain), Step.WHEN:
            moment = parse_when(plain)
            if moment is None:
                return Transition(draft, Outcome.BAD_DATE)
            return _moved(replace(draft, send_at=moment), Step.PREVIEW, Outcome.PREVIEW)
        case Toggle(topic=topic), Step.AUDIENCE:
            return Transition(replace(draft, topics=draft.topics ^ {topic}, everyone=False),
                              Outcome.AUDIENCE_CHANGED)
        case Everyone(), Step.AUDIENCE:
            # Every subscriber means every region too (the organiser may narrow it again).
            everyone = not draft.everyone
            return Transition(replace(draft, everyone=everyone, topics=frozenset(),
                                      region=None if everyone else draft.region),
                              Outcome.AUDIENCE_CHANGED)
        case Region(region=region), Step.AUDIENCE:
            return Transition(replace(draft, region=region), Outcome.AUDIENCE_CHANGED)
        case Next(), Step.AUDIENCE:
            if not draft.audience_chosen:
                return Transition(draft, Outcome.NEED_AUDIENCE)
            return _moved(draft, Step.WHEN, Outcome.ASK_WHEN)
        case Schedule(moment=moment), Step.WHEN:
            return _moved(replace(draft, send_at=moment), Step.PREVIEW, Outcome.PREVIEW)
        case Confirm(), Step.PREVIEW:
            return _moved(draft, Step.CONFIRMED, Outcome.CONFIRMED)
    return Transition(draft, Outcome.PASSED)


def _refusal(draft: Draft, version: int | None) -> Outcome | None:
    """Why a draft takes no more input, or why this button is too old for it."""
    ended = {Step.REPLACED: Outcome.REPLACED, Step.CONFIRMED: Outcome.ALREADY_CONFIRMED,
             Step.ABANDONED: Outcome.ALREADY_ABANDONED}
    if draft.step in ended:
        return ended[draft.step]
    if version is not None and version != draft.version:
        return Outcome.PASSED
    return None


def _moved(draft: Draft, to: Step, outcome: Outcome) -> Transition:
    return Transition(replace(draft, step=to, version=draft.version + 1), outcome)


def typed(html: str, plain: str) -> Event:
    """A message from the organiser during a draft: "annuler" abandons, anything else is input."""
    if plain.strip().lower() == "annuler":
        return Abandon()
    return Write(html, plain)


def parse_when(text: str) -> datetime | None:
    """JJ/MM/AAAA HH:MM in Paris time, as an aware datetime (None if not understood)."""
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=PARIS)
        except ValueError:
            continue
    return None


WHEN_CHOICES = ("now", "hour", "tomorrow")


def schedule(choice: str, now: datetime) -> Schedule | None:
    """The event behind a time button (None for a choice no button offers)."""
    if choice == "now":
        return Schedule(None)
    if choice == "hour":
        return Schedule(now + timedelta(hours=1))
    if choice == "tomorrow":
        tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
        return Schedule(datetime.combine(tomorrow, time(9, 0), tzinfo=PARIS))
    return None
