"""The events on offer: those of faq/events.yaml and those organisers add from Telegram, merged.

An `Agenda` is what the conversation, reminders and announcements read events from. It holds
two parts that change apart: the FAQ's events (swapped when the FAQ reloads) and the stored ones
(refreshed from the database by the storage side, at once after a local write and within a second
after another instance's). It imports no database: whoever reads the database hands it events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from careerbot.faq import Event


class Agenda:
    """Events from the FAQ files and from the database, as one list (files first on a clash)."""

    def __init__(self, listed: Iterable[Event] = (), stored: Iterable[Event] = ()) -> None:
        self._listed = tuple(listed)
        self._stored = tuple(stored)
        self._merged = self._merge()

    @property
    def listed(self) -> tuple[Event, ...]:
        """The events of faq/events.yaml."""
        return self._listed

    @listed.setter
    def listed(self, events: Iterable[Event]) -> None:
        self._listed = tuple(events)
        self._merged = self._merge()

    @property
    def stored(self) -> tuple[Event, ...]:
        """The events organisers added from Telegram (cancelled ones excluded)."""
        return self._stored

    @stored.setter
    def stored(self, events: Iterable[Event]) -> None:
        self._stored = tuple(events)
        self._merged = self._merge()

    def _merge(self) -> tuple[Event, ...]:
        taken = {event.id for event in self._listed}
        return self._listed + tuple(e for e in self._stored if e.id not in taken)

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event, files first."""
        return self._merged

    def clashes(self) -> list[str]:
        """Ids that are both in faq/events.yaml and in the database (an error at start)."""
        taken = {event.id for event in self._listed}
        return sorted(e.id for e in self._stored if e.id in taken)

    def find(self, event_id: str) -> Event | None:
        """The event with this id, if any."""
        return next((e for e in self._merged if e.id == event_id), None)

    def is_stored(self, event_id: str) -> bool:
        """Whether an event was added from Telegram (it can be edited and cancelled there)."""
        return any(e.id == event_id for e in self._stored)

    def upcoming(self, now: datetime) -> tuple[Event, ...]:
        """Events that have not ended yet, soonest first."""
        return tuple(sorted((e for e in self._merged if e.end >= now), key=lambda e: e.start))

    def past(self, now: datetime) -> tuple[Event, ...]:
        """Events that have ended, most recent first."""
        return tuple(sorted((e for e in self._merged if e.end < now), key=lambda e: e.start,
                            reverse=True))
