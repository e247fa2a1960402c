"""The knowledge base: entries, themes, events and small talk, as frozen records.

`faq_loader.load_faq` reads a FAQ directory and either returns a complete `Faq` or raises `FaqError`
with every problem found; a broken FAQ is never half-loaded.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Link:
    """A labelled URL shown under an answer."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Translation:
    """The English version of an entry."""

    question: str
    alternatives: tuple[str, ...]
    answer: str
    details: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One question of the FAQ with its answer."""

    id: str
    theme: str
    question: str
    alternatives: tuple[str, ...]
    answer: str
    links: tuple[Link, ...]
    related: tuple[str, ...]
    tags: tuple[str, ...]
    reviewed: date
    keywords: tuple[str, ...] = ()
    en: Translation | None = None
    details: str = ""  # the rest of the answer, behind a "Plus de détails" button

    def phrasings(self) -> tuple[str, ...]:
        """Every way of asking this entry: question, alternatives and the English ones."""
        english = (self.en.question, *self.en.alternatives) if self.en else ()
        return (self.question, *self.alternatives, *english)


@dataclass(frozen=True, slots=True)
class Theme:
    """A group of entries users can browse."""

    id: str
    title: str
    emoji: str
    order: int
    en_title: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An FP21 event, with time-zone-aware start and end."""

    id: str
    title: str
    start: datetime
    end: datetime
    place: str
    url: str
    tags: tuple[str, ...]
    description: str
    related: tuple[str, ...] = ()
    region: str | None = None  # careerbot/regions.py; None for an event not tied to a place


@dataclass(frozen=True, slots=True)
class SmallTalk:
    """A kind of small talk (greeting, thanks...) with the phrasings that trigger it.

    `ranked` small talk (out-of-scope topics close to ours) competes with the entries in the
    ranking instead of being compared with the whole message.
    """

    id: str
    patterns: tuple[str, ...]
    replies: tuple[str, ...]
    en_replies: tuple[str, ...] = ()
    ranked: bool = False


@dataclass(frozen=True, slots=True)
class GlossaryTerm:
    """An acronym or a term of jargon, defined in one line, with the entry that says more."""

    id: str
    term: str
    fr: str
    en: str
    aliases: tuple[str, ...] = ()
    entry: str | None = None

    def names(self) -> tuple[str, ...]:
        """Every way of writing the term."""
        return (self.term, *self.aliases)


@dataclass(frozen=True, slots=True)
class RouteStep:
    """A step of the guided route (/parcours): a short text, entries to read, official sites."""

    id: str
    emoji: str
    title: str
    text: str
    entries: tuple[str, ...]
    links: tuple[Link, ...]
    en_title: str | None = None
    en_text: str | None = None


@dataclass(frozen=True, slots=True)
class Faq:
    """A complete, checked knowledge base."""

    entries: tuple[Entry, ...]
    themes: tuple[Theme, ...]
    events: tuple[Event, ...] = ()
    smalltalk: tuple[SmallTalk, ...] = ()
    route: tuple[RouteStep, ...] = ()
    glossary: tuple[GlossaryTerm, ...] = ()
    matching: dict[str, Any] = field(default_factory=dict, compare=False)  # faq/matching.yaml
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id.update({entry.id: entry for entry in self.entries})

    def entry(self, entry_id: str) -> Entry:
        """The entry with this id (KeyError if there is none)."""
        return self.by_id[entry_id]

    def theme_entries(self, theme_id: str) -> tuple[Entry, ...]:
        """The entries of a theme, in file order."""
        return tuple(e for e in self.entries if e.theme == theme_id)

    def upcoming_events(self, now: datetime) -> tuple[Event, ...]:
        """Events that have not ended yet, soonest first."""
        return tuple(sorted((e for e in self.events if e.end >= now), key=lambda e: e.start))

    def past_events(self, now: datetime) -> tuple[Event, ...]:
        """Events that have ended, most recent first."""
        return tuple(sorted((e for e in self.events if e.end < now), key=lambda e: e.start,
                            reverse=True))


class FaqError(Exception):
    """The FAQ has errors; `problems` lists all of them (file, line, message, hint)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"la FAQ a {len(errors)} erreur(s) :\n" + "\n".join(map(str, errors)))


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a FAQ file, located and with a hint how to fix it.

    `message` and `hint` are in French, for the volunteers who maintain the FAQ; `message_en` and
    `hint_en` say the same in English. `str(problem)` is the French line, `render("en")` the English.
    """

    path: Path
    line: int
    message: str
    hint: str = ""
    _: KW_ONLY
    message_en: str
    hint_en: str = ""
    severity: str = "error"  # "error" or "warning"

    def render(self, lang: str = "fr") -> str:
        """`path:line: message (hint)`, warnings marked, in French ("fr") or English ("en")."""
        if lang not in ("fr", "en"):
            raise ValueError(f"unknown language {lang!r}: use 'fr' or 'en'")
        english = lang == "en"
        message, hint = (self.message_en, self.hint_en) if english else (self.message, self.hint)
        kind = "" if self.severity == "error" else "warning: " if english else "attention : "
        hint = f" ({hint})" if hint else ""
        return f"{self.path}:{self.line}: {kind}{message}{hint}"

    def __str__(self) -> str:
        return self.render()
