"""An organiser's event, written or edited step by step, as a state machine without Telegram or
a database.

    title -> when -> place -> region -> link -> description -> topics -> preview -> confirmed
    (editing: choose -> the chosen field -> preview)    (abandoned, replaced: ended early)

`step(draft, event, now)` is the only place a draft changes; every typed value is checked here
and a refusal says, in French, what to type. As in careerbot.drafting, each change of step bumps
`version` and buttons carry the version they were drawn at: a button of a passed step, of an
abandoned draft or of one a newer /evenement replaced changes nothing and says why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from careerbot.faq import Event
from careerbot.french_dates import DateProblem, parse_when
from careerbot.regions import ONLINE, PLACES

MAX_TITLE = 100  # as faq/events.yaml (events.schema.json)
MAX_PLACE = 120
MAX_URL = 300
MAX_DESCRIPTION = 300
MAX_DESCRIPTION_LINES = 2


class Step(enum.StrEnum):
    """Where a draft stands."""

    TITLE = "title"
    WHEN = "when"
    PLACE = "place"
    REGION = "region"
    LINK = "link"
    DESCRIPTION = "description"
    TOPICS = "topics"
    CHOOSE = "choose"  # editing: which field to change
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"
    REPLACED = "replaced"


OPEN = (Step.TITLE, Step.WHEN, Step.PLACE, Step.REGION, Step.LINK, Step.DESCRIPTION, Step.TOPICS,
        Step.CHOOSE, Step.PREVIEW)
TYPED = (Step.TITLE, Step.WHEN, Step.PLACE, Step.LINK, Step.DESCRIPTION)  # awaiting a message
ORDER = (Step.TITLE, Step.WHEN, Step.PLACE, Step.REGION, Step.LINK, Step.DESCRIPTION, Step.TOPICS)
EDITABLE = ORDER  # the fields an organiser may pick when editing


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event being written (target None) or an edit of the stored event `target`."""

    id: int
    owner: int  # the organiser's chat
    step: Step
    version: int
    target: str | None = None
    title: str = ""
    start: datetime | None = None
    end: datetime | None = None
    place: str = ""
    region: str = ""
    url: str = ""
    description: str = ""
    tags: frozenset[str] = frozenset()

    def event(self, event_id: str) -> Event:
        """The event this draft describes, under an id (the target's when editing)."""
        assert self.start is not None and self.end is not None, "a draft at preview has a date"
        return Event(id=event_id, title=self.title, start=self.start, end=self.end,
                     place=self.place, url=self.url, tags=tuple(sorted(self.tags)),
                     description=self.description, region=self.region or None)


def from_event(draft_id: int, owner: int, event: Event) -> EventDraft:
    """A draft to edit a stored event, asking which field to change."""
    return EventDraft(draft_id, owner, Step.CHOOSE, 1, target=event.id, title=event.title,
                      start=event.start, end=event.end, place=event.place,
                      region=event.region or "", url=event.url, description=event.description,
                      tags=frozenset(event.tags))


# --- what can happen to a draft ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    """The organiser typed a message."""

    text: str


@dataclass(frozen=True, slots=True)
class PickRegion:
    """A region button."""

    region: str


@dataclass(frozen=True, slots=True)
class Toggle:
    """Tick or untick a topic."""

    topic: str


@dataclass(frozen=True, slots=True)
class Next:
    """The topics are chosen."""


@dataclass(frozen=True, slots=True)
class PickField:
    """Editing: change this field."""

    field: Step


@dataclass(frozen=True, slots=True)
class Confirm:
    """Publish the previewed event."""


@dataclass(frozen=True, slots=True)
class Abandon:
    """Drop the draft."""


Action = Write | PickRegion | Toggle | Next | PickField | Confirm | Abandon


class Outcome(enum.StrEnum):
    """What a step did, for the adapter to show; the refusals change nothing."""

    ASK = "ask"  # show the question of the new step
    TOPICS_CHANGED = "topics_changed"
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"
    INVALID = "invalid"  # a typed value refused: `problem` says why
    PASSED = "passed"
    REPLACED = "replaced"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_ABANDONED = "already_abandoned"


REFUSALS = frozenset({Outcome.INVALID, Outcome.PASSED, Outcome.REPLACED,
                      Outcome.ALREADY_CONFIRMED, Outcome.ALREADY_ABANDONED})


@dataclass(frozen=True, slots=True)
class Transition:
    """The draft after an action, what happened, and why a typed value was refused."""

    draft: EventDraft
    outcome: Outcome
    problem: str = ""

    @property
    def changed(self) -> bool:
        """Whether the draft must be saved."""
        return self.outcome not in REFUSALS


class Invalid(ValueError):
    """A typed value refused; the message says what to type."""


def step(draft: EventDraft, action: Action, now: datetime, *,
         version: int | None = None, topics: frozenset[str] = frozenset()) -> Transition:
    """Apply an action; `version` is the one a button was drawn at (None for typed messages),
    `topics` the ones the topic buttons may tick.
    """
    ended = {Step.REPLACED: Outcome.REPLACED, Step.CONFIRMED: Outcome.ALREADY_CONFIRMED,
             Step.ABANDONED: Outcome.ALREADY_ABANDONED}
    if draft.step in ended:
        return Transition(draft, ended[draft.step])
    if version is not None and version != draft.version:
        return Transition(draft, Outcome.PASSED)
    match action, draft.step:
        case Abandon(), _:
            return _moved(draft, Step.ABANDONED, Outcome.ABANDONED)
        case Write(text=text), typed if typed in TYPED:
            try:
                filled = _fill(draft, typed, text, now)
            except Invalid as problem:
                return Transition(draft, Outcome.INVALID, str(problem))
            return _forward(filled)
        case PickRegion(region=region), Step.REGION if region in PLACES:
            return _forward(replace(draft, region=region))
        case Toggle(topic=topic), Step.TOPICS if topic in topics:
            return Transition(replace(draft, tags=draft.tags ^ {topic}), Outcome.TOPICS_CHANGED)
        case Next(), Step.TOPICS:
            return _forward(draft)
        case PickField(field=field), Step.CHOOSE | Step.PREVIEW if (
                draft.target is not None and field in EDITABLE):
            return _moved(draft, field, Outcome.ASK)
        case Confirm(), Step.PREVIEW:
            return _moved(draft, Step.CONFIRMED, Outcome.CONFIRMED)
    return Transition(draft, Outcome.PASSED)


def _forward(draft: EventDraft) -> Transition:
    """The next question; an edit goes back to the preview after its one field."""
    if draft.target is not None or draft.step is Step.TOPICS:
        return _moved(draft, Step.PREVIEW, Outcome.PREVIEW)
    following = ORDER[ORDER.index(draft.step) + 1]
    if following is Step.REGION and draft.region:  # "en ligne" said it already
        following = Step.LINK
    return _moved(draft, following, Outcome.ASK)


def _moved(draft: EventDraft, to: Step, outcome: Outcome) -> Transition:
    return Transition(replace(draft, step=to, version=draft.version + 1), outcome)


def _fill(draft: EventDraft, field: Step, text: str, now: datetime) -> EventDraft:
    """The draft with a typed field set, or Invalid."""
    text = text.strip()
    match field:
        case Step.TITLE:
            return replace(draft, title=title(text))
        case Step.WHEN:
            try:
                when = parse_when(text, now)
            except DateProblem as problem:
                raise Invalid(str(problem)) from None
            return replace(draft, start=when.start, end=when.end)
        case Step.PLACE:
            place_text = place(text)
            online = place_text.lower().strip(" .!") in ("en ligne", "enligne", "online")
            region = ONLINE if online and draft.target is None else draft.region
            return replace(draft, place="En ligne" if online else place_text, region=region)
        case Step.LINK:
            return replace(draft, url=link(text))
        case Step.DESCRIPTION:
            return replace(draft, description=description(text))
    raise AssertionError(f"{field} is not typed")


def title(text: str) -> str:
    """A title: one line, 3 to 100 characters."""
    one_line = " ".join(text.split())
    if len(one_line) < 3:
        raise Invalid("Le titre est trop court : écrivez-le en quelques mots (3 caractères au "
                      "moins).")
    if len(one_line) > MAX_TITLE:
        raise Invalid(f"Le titre est trop long : {len(one_line)} caractères, {MAX_TITLE} au plus. "
                      "Raccourcissez-le.")
    return one_line


def place(text: str) -> str:
    """A place: an address, or "en ligne"."""
    one_line = " ".join(text.split())
    if len(one_line) < 2:
        raise Invalid("Écrivez le lieu : une adresse, ou « en ligne ».")
    if len(one_line) > MAX_PLACE:
        raise Invalid(f"Le lieu est trop long : {len(one_line)} caractères, {MAX_PLACE} au plus. "
                      "Gardez l'adresse ; les détails iront dans la description.")
    return one_line


def link(text: str) -> str:
    """An https link to the event's page."""
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.hostname or "." not in parts.hostname \
            or any(c.isspace() for c in text):
        raise Invalid("Le lien doit être une adresse web sécurisée, qui commence par https:// "
                      "(par exemple https://fp21.fr/evenement). Copiez-la depuis votre "
                      "navigateur.")
    if len(text) > MAX_URL:
        raise Invalid(f"Le lien est trop long : {len(text)} caractères, {MAX_URL} au plus.")
    return text


def description(text: str) -> str:
    """One or two lines, 300 characters at most."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    joined = "\n".join(lines)
    if not joined:
        raise Invalid("Écrivez une ou deux lignes pour présenter l'événement.")
    if len(lines) > MAX_DESCRIPTION_LINES:
        raise Invalid(f"La description fait {len(lines)} lignes : {MAX_DESCRIPTION_LINES} au "
                      "plus. Le détail ira sur la page du lien.")
    if len(joined) > MAX_DESCRIPTION:
        raise Invalid(f"La description est trop longue : {len(joined)} caractères, "
                      f"{MAX_DESCRIPTION} au plus. Le détail ira sur la page du lien.")
    return joined


def typed(text: str) -> Action:
    """A message during a draft: "annuler" abandons, anything else is input."""
    if text.strip().lower() == "annuler":
        return Abandon()
    return Write(text)
