"""Button payloads (Telegram's callback_data): every kind, encoded and decoded here and nowhere else.

A payload is the version digit, the kind's code, then its arguments, separated by colons:
`1e:pacte` opens an entry, `1at:12:3:concours` ticks a topic of draft 12 drawn at version 3.
Telegram refuses more than 64 bytes, so `encode` raises `PayloadError` as soon as the bot builds a
button that would not fit (an FAQ id too long, say). `decode` reads anything a chat may send back:
today's payloads, the unversioned ones still sitting under older messages (`e:pacte`, `fb:x:1`),
and forged or retired ones, which become None so that the handler answers politely.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields
from typing import ClassVar

from careerbot.numbers import ascii_int

VERSION = "1"
SEP = ":"
LIMIT = 64  # bytes of UTF-8, Telegram's limit for callback_data


class PayloadError(ValueError):
    """A button payload the bot must not build: over 64 bytes, or an argument it cannot carry."""


@dataclass(frozen=True, slots=True)
class Action:
    """What a button does; each concrete kind has a short code and typed arguments."""

    code: ClassVar[str] = ""


# --- the conversation -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenEntry(Action):
    """Show an entry's answer."""

    code: ClassVar[str] = "e"
    entry: str


@dataclass(frozen=True, slots=True)
class Details(Action):
    """Send the rest of an entry's answer."""

    code: ClassVar[str] = "d"
    entry: str


@dataclass(frozen=True, slots=True)
class OpenTheme(Action):
    """Show a theme's questions."""

    code: ClassVar[str] = "t"
    theme: str


@dataclass(frozen=True, slots=True)
class RouteStep(Action):
    """Show a step of the guided route (0 is the first)."""

    code: ClassVar[str] = "r"
    step: int


@dataclass(frozen=True, slots=True)
class Calendar(Action):
    """Send an event's .ics file."""

    code: ClassVar[str] = "c"
    event: str


@dataclass(frozen=True, slots=True)
class Themes(Action):
    """Show the list of themes."""

    code: ClassVar[str] = "l"


@dataclass(frozen=True, slots=True)
class Menu(Action):
    """Show the welcome and the main menu."""

    code: ClassVar[str] = "m"


@dataclass(frozen=True, slots=True)
class Events(Action):
    """Show the upcoming events."""

    code: ClassVar[str] = "v"


@dataclass(frozen=True, slots=True)
class Help(Action):
    """Show how to use the bot."""

    code: ClassVar[str] = "h"


@dataclass(frozen=True, slots=True)
class SendToTeam(Action):
    """Forward the user's last unanswered question to the organisers."""

    code: ClassVar[str] = "q"


# --- candidates' stored choices ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Feedback(Action):
    """Rate an answer."""

    code: ClassVar[str] = "f"
    entry: str
    helpful: bool


@dataclass(frozen=True, slots=True)
class ToggleTopic(Action):
    """Tick or untick a subscription topic (the keyboard's labels hold the choice)."""

    code: ClassVar[str] = "s"
    topic: str


@dataclass(frozen=True, slots=True)
class SaveTopics(Action):
    """Subscribe to the ticked topics."""

    code: ClassVar[str] = "ss"


@dataclass(frozen=True, slots=True)
class KeepTopics(Action):
    """Leave the subscription as it was."""

    code: ClassVar[str] = "sk"


@dataclass(frozen=True, slots=True)
class OpenRegions(Action):
    """From the topics of /abonner to its regions; carries the regions ticked so far (a bit mask
    over announcements.PLACE_ORDER), since the topics screen shows none.
    """

    code: ClassVar[str] = "rgo"
    regions: int


@dataclass(frozen=True, slots=True)
class ToggleRegion(Action):
    """Tick or untick a region (the keyboard's labels hold the choice)."""

    code: ClassVar[str] = "rgt"
    region: str


@dataclass(frozen=True, slots=True)
class BackToTopics(Action):
    """From the regions back to the topics; carries the topics ticked so far (a bit mask over
    announcements.TOPIC_ORDER).
    """

    code: ClassVar[str] = "rgb"
    topics: int


@dataclass(frozen=True, slots=True)
class SaveRegions(Action):
    """Subscribe to the carried topics and the ticked regions."""

    code: ClassVar[str] = "rgv"
    topics: int


@dataclass(frozen=True, slots=True)
class Forget(Action):
    """Answer to /oublier: erase everything, or keep it."""

    code: ClassVar[str] = "o"
    erase: bool


# --- organisers: a draft's buttons carry its id and the version they were drawn at ------------


@dataclass(frozen=True, slots=True)
class DraftButton(Action):
    """A button of an announcement draft."""

    draft: int
    version: int


@dataclass(frozen=True, slots=True)
class AudienceTopic(DraftButton):
    """Tick or untick a topic of the draft's audience."""

    code: ClassVar[str] = "at"
    topic: str


@dataclass(frozen=True, slots=True)
class AudienceEveryone(DraftButton):
    """Choose (or unchoose) every subscriber as the audience."""

    code: ClassVar[str] = "ae"


@dataclass(frozen=True, slots=True)
class AudienceRegion(DraftButton):
    """Send the announcement of a regional event to that region only, or to every region."""

    code: ClassVar[str] = "rga"
    regional: bool


@dataclass(frozen=True, slots=True)
class AudienceDone(DraftButton):
    """The audience is chosen: ask when to send."""

    code: ClassVar[str] = "an"


@dataclass(frozen=True, slots=True)
class SendTime(DraftButton):
    """Send now, in an hour or tomorrow morning."""

    code: ClassVar[str] = "aw"
    choice: str


@dataclass(frozen=True, slots=True)
class ConfirmDraft(DraftButton):
    """Send the previewed announcement."""

    code: ClassVar[str] = "ac"


@dataclass(frozen=True, slots=True)
class AbandonDraft(DraftButton):
    """Drop the draft; nothing is sent."""

    code: ClassVar[str] = "ax"


@dataclass(frozen=True, slots=True)
class BroadcastButton(Action):
    """A control of a confirmed broadcast."""

    broadcast: int


@dataclass(frozen=True, slots=True)
class PauseBroadcast(BroadcastButton):
    """Pause a running or scheduled broadcast."""

    code: ClassVar[str] = "bp"


@dataclass(frozen=True, slots=True)
class ResumeBroadcast(BroadcastButton):
    """Resume a paused broadcast."""

    code: ClassVar[str] = "br"


@dataclass(frozen=True, slots=True)
class CancelBroadcast(BroadcastButton):
    """Cancel what is left of a broadcast."""

    code: ClassVar[str] = "bc"


@dataclass(frozen=True, slots=True)
class AskResend(BroadcastButton):
    """Offer to send again to the uncertain recipients (asks first)."""

    code: ClassVar[str] = "bu"


@dataclass(frozen=True, slots=True)
class ConfirmResend(BroadcastButton):
    """Send again to the uncertain recipients, knowing some may get it twice."""

    code: ClassVar[str] = "by"


@dataclass(frozen=True, slots=True)
class KeepUncertain(BroadcastButton):
    """Do not send again: back to the report."""

    code: ClassVar[str] = "bn"


# --- organisers' events: a draft's buttons carry its id and version, an event's its number and
# revision (a button drawn before the last change of either says so and changes nothing) --------


@dataclass(frozen=True, slots=True)
class EventDraftButton(Action):
    """A button of an event draft."""

    draft: int
    version: int


@dataclass(frozen=True, slots=True)
class EventRegion(EventDraftButton):
    """Where the event takes place: a region, online or abroad."""

    code: ClassVar[str] = "evr"
    region: str


@dataclass(frozen=True, slots=True)
class EventTopic(EventDraftButton):
    """Tick or untick a topic of the event."""

    code: ClassVar[str] = "evt"
    topic: str


@dataclass(frozen=True, slots=True)
class EventTopicsDone(EventDraftButton):
    """The topics are chosen: show the preview."""

    code: ClassVar[str] = "evn"


@dataclass(frozen=True, slots=True)
class EventField(EventDraftButton):
    """Editing: change this field (a step of the draft)."""

    code: ClassVar[str] = "evf"
    field: str


@dataclass(frozen=True, slots=True)
class EventConfirm(EventDraftButton):
    """Publish the previewed event (or its edit)."""

    code: ClassVar[str] = "evc"


@dataclass(frozen=True, slots=True)
class EventAbandon(EventDraftButton):
    """Drop the draft; nothing is published."""

    code: ClassVar[str] = "evx"


@dataclass(frozen=True, slots=True)
class EventButton(Action):
    """A control of a stored event."""

    event: int
    revision: int


@dataclass(frozen=True, slots=True)
class EditEvent(EventButton):
    """Start editing the event."""

    code: ClassVar[str] = "eve"


@dataclass(frozen=True, slots=True)
class AskCancelEvent(EventButton):
    """Ask whether to tell the subscribers, before cancelling."""

    code: ClassVar[str] = "evk"


@dataclass(frozen=True, slots=True)
class CancelEvent(EventButton):
    """Cancel the event, telling its subscribers or not."""

    code: ClassVar[str] = "evy"
    notify: bool


@dataclass(frozen=True, slots=True)
class KeepEvent(EventButton):
    """Do not cancel after all."""

    code: ClassVar[str] = "evz"


@dataclass(frozen=True, slots=True)
class AnnounceEvent(Action):
    """Start `/annonce evenement <id>` for this event."""

    code: ClassVar[str] = "eva"
    event: str


@dataclass(frozen=True, slots=True)
class Outdated(Action):
    """A button of the organiser's flow from before drafts were stored (decoded, never built)."""


KINDS: dict[str, type[Action]] = {kind.code: kind for kind in (
    OpenEntry, Details, OpenTheme, RouteStep, Calendar, Themes, Menu, Events, Help, SendToTeam,
    Feedback, ToggleTopic, SaveTopics, KeepTopics, Forget,
    OpenRegions, ToggleRegion, BackToTopics, SaveRegions,
    AudienceTopic, AudienceEveryone, AudienceRegion, AudienceDone, SendTime, ConfirmDraft,
    AbandonDraft,
    PauseBroadcast, ResumeBroadcast, CancelBroadcast, AskResend, ConfirmResend, KeepUncertain,
    EventRegion, EventTopic, EventTopicsDone, EventField, EventConfirm, EventAbandon,
    EditEvent, AskCancelEvent, CancelEvent, KeepEvent, AnnounceEvent)}


def arguments(kind: type[Action]) -> tuple[tuple[str, type], ...]:
    """A kind's arguments in payload order: (name, str | int | bool)."""
    hints = typing.get_type_hints(kind)
    return tuple((f.name, hints[f.name]) for f in fields(kind))


ARGUMENTS = {code: arguments(kind) for code, kind in KINDS.items()}


def encode(action: Action) -> str:
    """The payload of a button; PayloadError if Telegram would refuse it or decode could not
    read it back.
    """
    if KINDS.get(action.code) is not type(action):
        raise PayloadError(f"{type(action).__name__} is not a button kind")
    parts = [VERSION + action.code]
    parts += [_argument(action, name) for name, _ in ARGUMENTS[action.code]]
    payload = SEP.join(parts)
    size = len(payload.encode())
    if size > LIMIT:
        raise PayloadError(f"button payload {payload!r} is {size} bytes, over Telegram's limit of "
                           f"{LIMIT}: shorten the id it carries")
    return payload


def _argument(action: Action, name: str) -> str:
    value = getattr(action, name)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if value < 0:
            raise PayloadError(f"{type(action).__name__}.{name} = {value}: negative numbers "
                               "are not carried")
        return str(value)
    if not value or SEP in value:
        raise PayloadError(f"{type(action).__name__}.{name} = {value!r}: an argument must be "
                           f"non-empty and free of {SEP!r}")
    return str(value)


def decode(data: str | None) -> Action | None:
    """The action behind a payload, or None for anything malformed, unknown or forged."""
    if not data or len(data.encode()) > LIMIT:
        return None
    if data.startswith(VERSION):
        code, *args = data.removeprefix(VERSION).split(SEP)
        return _build(code, args)
    if data[0].isdigit():
        return None  # a version this bot does not know
    return _legacy(data)


def _build(code: str, args: list[str]) -> Action | None:
    kind, spec = KINDS.get(code), ARGUMENTS.get(code)
    if kind is None or spec is None or len(args) != len(spec):
        return None
    values: list[object] = []
    for text, (_, expected) in zip(args, spec, strict=True):
        value = _parse(text, expected)
        if value is None:
            return None
        values.append(value)
    return kind(*values)


def _parse(text: str, expected: type) -> object | None:
    if expected is bool:
        return {"1": True, "0": False}.get(text)
    if expected is int:
        return ascii_int(text)
    return text or None


# Unversioned payloads (before version 1), as they may still sit under messages in users' chats.
_LEGACY_PLAIN: dict[str, Action] = {
    "themes": Themes(), "menu": Menu(), "events": Events(), "help": Help(), "team": SendToTeam(),
    "sub:save": SaveTopics(), "sub:cancel": KeepTopics(),
    "forget:yes": Forget(erase=True), "forget:no": Forget(erase=False)}
_LEGACY_PREFIX = {"e": "e", "d": "d", "t": "t", "r": "r", "ics": "c", "fb": "f", "sub": "s",
                  "ann:pause": "bp", "ann:resume": "br", "ann:cancel": "bc"}
# The organiser's flow kept its draft in memory, gone since: those buttons can only say so.
_LEGACY_FLOW = ("ann:aud", "ann:when", "ann:at", "ann:ok", "ann:no", "ann:abort")


def _legacy(data: str) -> Action | None:
    if data in _LEGACY_PLAIN:
        return _LEGACY_PLAIN[data]
    if data in _LEGACY_FLOW or data.startswith(tuple(f"{p}:" for p in _LEGACY_FLOW)):
        return Outdated()
    for prefix, code in sorted(_LEGACY_PREFIX.items(), key=lambda item: -len(item[0])):
        if data.startswith(prefix + SEP):
            return _build(code, data.removeprefix(prefix + SEP).split(SEP))
    return None


def overhead(kind: type[Action]) -> int:
    """Bytes a kind's payload takes besides its one text argument (to size FAQ ids)."""
    spec = ARGUMENTS[kind.code]
    fixed = {bool: 1, int: 0}
    return (len(VERSION + kind.code) + len(SEP) * len(spec)
            + sum(fixed.get(expected, 0) for _, expected in spec))


# The longest payload each kind of FAQ id goes into, and so the longest id that fits.
ID_KINDS: dict[str, tuple[type[Action], ...]] = {
    "entry": (OpenEntry, Details, Feedback),
    "theme": (OpenTheme,),
    "event": (Calendar, AnnounceEvent),
}


def max_id_length(record: str) -> int:
    """The longest id (ASCII, as FAQ ids are) of this kind of record that fits every button."""
    return LIMIT - max(overhead(kind) for kind in ID_KINDS[record])
