"""What candidates ask, in figures: the records behind `/stats`, `careerbot stats` and the digest.

Pure: no Telegram, no SQL. `storage/stats.py` fills a `Figures` from the database, `chart.py`
draws it, and `as_json` / `as_text` show the same numbers in a terminal. Everything here is a
count: no chat id, no user, no message text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DAYS = 30  # the window of the per-day and most-answered figures
TOP = 10  # entries in the most-answered figure
# The matcher's statuses, in the order the chart stacks them, with their French label.
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("answer", "réponse"),
    ("suggest", "suggestions"),
    ("smalltalk", "bavardage"),
    ("fallback", "sans réponse"),
)
OUTCOME_KEYS = frozenset(key for key, _ in OUTCOMES)
NO_ENTRY = ""  # the entry of a count that concerns none (small talk, no answer, suggestions)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


def paris_day(moment: datetime) -> date:
    """The day a moment falls on in Paris, where the organisers read the figures."""
    return moment.astimezone(PARIS).date()


@dataclass
class Tally:
    """Messages counted in memory, by (Paris day, outcome, entry), until the next flush.

    Recording a message is one dictionary increment: the database gets the sums every few seconds
    (see `storage.stats.flush`), never a write per message.
    """

    clock: Clock = utc_now
    counts: Counter[tuple[date, str, str]] = field(default_factory=Counter)

    def add(self, outcome: str, entry_id: str | None = None) -> None:
        """Count one message with its outcome (and the entry answered, if any)."""
        if outcome in OUTCOME_KEYS:
            self.counts[(paris_day(self.clock()), outcome, (entry_id or NO_ENTRY)[:64])] += 1

    def take(self) -> dict[tuple[date, str, str], int]:
        """The counts so far, leaving the tally empty (give them back with `restore` if the
        database refused them).
        """
        taken, self.counts = dict(self.counts), Counter()
        return taken

    def restore(self, counts: dict[tuple[date, str, str], int]) -> None:
        """Put back counts a flush could not write, to try again later."""
        self.counts.update(counts)


@dataclass(frozen=True, slots=True)
class Rating:
    """How an entry's "Cette réponse vous a aidé ?" was answered."""

    entry_id: str
    helpful: int
    unhelpful: int

    @property
    def total(self) -> int:
        """Votes in all."""
        return self.helpful + self.unhelpful

    @property
    def share(self) -> float:
        """The share of "yes" (0 to 1)."""
        return self.helpful / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Series:
    """Subscribers following one topic or living in one region, day by day."""

    kind: str  # topic | region
    key: str
    label: str
    points: tuple[tuple[date, int], ...]


@dataclass(frozen=True, slots=True)
class BroadcastCount:
    """A recent announcement or reminder, and what became of its copies."""

    id: int
    kind: str  # announce | reminder | old-reminder (its event moved) | cancellation
    day: date
    sent: int
    blocked: int
    uncertain: int
    total: int


@dataclass(frozen=True, slots=True)
class Figures:
    """The five figures of `/stats`, as of `today` (a Paris day)."""

    today: date
    days: tuple[date, ...]
    per_day: dict[str, tuple[int, ...]]  # outcome -> count per day of `days`
    top_entries: tuple[tuple[str, int], ...]
    ratings: tuple[Rating, ...]  # worst first
    subscribers: tuple[Series, ...]
    broadcasts: tuple[BroadcastCount, ...]  # newest first

    @property
    def messages(self) -> int:
        """Messages counted over the window."""
        return sum(sum(counts) for counts in self.per_day.values())


def window(today: date, days: int = DAYS) -> tuple[date, ...]:
    """The `days` days ending with `today`, oldest first."""
    return tuple(today - timedelta(days=offset) for offset in range(days - 1, -1, -1))


def per_day(days: tuple[date, ...], rows: list[tuple[date, str, int]]) -> dict[str, tuple[int, ...]]:
    """Counts per outcome and day (0 where nothing was counted), from (day, outcome, count)."""
    found = {(day, outcome): count for day, outcome, count in rows}
    return {key: tuple(found.get((day, key), 0) for day in days) for key, _ in OUTCOMES}


def worst_first(ratings: dict[str, tuple[int, int]]) -> tuple[Rating, ...]:
    """Ratings from the least helpful share to the most, the most voted first on a tie."""
    found = [Rating(entry, yes, no) for entry, (yes, no) in ratings.items() if yes + no]
    return tuple(sorted(found, key=lambda r: (r.share, -r.total, r.entry_id)))


def as_json(figures: Figures) -> dict[str, Any]:
    """The figures as plain JSON values (what `careerbot stats --json` prints and the PNG holds)."""
    return {
        "today": figures.today.isoformat(),
        "messages_per_day": {
            "days": [day.isoformat() for day in figures.days],
            **{key: list(counts) for key, counts in figures.per_day.items()},
        },
        "top_entries": [{"entry": entry, "answers": count} for entry, count in figures.top_entries],
        "ratings": [{"entry": r.entry_id, "helpful": r.helpful, "unhelpful": r.unhelpful}
                    for r in figures.ratings],
        "subscribers": [{"kind": s.kind, "key": s.key,
                         "points": [[day.isoformat(), count] for day, count in s.points]}
                        for s in figures.subscribers],
        "broadcasts": [{"id": b.id, "kind": b.kind, "day": b.day.isoformat(), "sent": b.sent,
                        "blocked": b.blocked, "uncertain": b.uncertain, "total": b.total}
                       for b in figures.broadcasts],
    }


BROADCAST_LABELS = {"reminder": "rappel", "old-reminder": "rappel", "cancellation": "annulation"}


def broadcast_label(kind: str) -> str:
    """What organisers call a broadcast of this kind."""
    return BROADCAST_LABELS.get(kind, "annonce")


def as_text(figures: Figures) -> str:
    """The figures for a terminal, in French."""
    labels = dict(OUTCOMES)
    totals = {key: sum(counts) for key, counts in figures.per_day.items()}
    first, last = figures.days[0], figures.days[-1]
    lines = [f"# Messages du {first:%d/%m/%Y} au {last:%d/%m/%Y} : {figures.messages}"]
    lines += [f"{totals[key]:>7}  {labels[key]}" for key, _ in OUTCOMES]
    lines += ["", f"# Les {TOP} entrées les plus répondues (30 jours)"]
    lines += [f"{count:>7}  {entry}" for entry, count in figures.top_entries] or ["      -"]
    lines += ["", "# « Cette réponse vous a aidé ? » par entrée, la moins utile d'abord"]
    lines += [f"{round(100 * r.share):>6}%  {r.entry_id} ({r.helpful} oui / {r.unhelpful} non)"
              for r in figures.ratings] or ["      -"]
    lines += ["", "# Abonnés (dernier relevé)"]
    lines += [f"{s.points[-1][1]:>7}  {'région' if s.kind == 'region' else 'sujet'} : {s.label}"
              for s in figures.subscribers if s.points] or ["      -"]
    lines += ["", "# Dernières annonces : envoyés / bloqués / incertains"]
    lines += [f"  #{b.id} {broadcast_label(b.kind)} du {b.day:%d/%m} : "
              f"{b.sent} / {b.blocked} / {b.uncertain} (sur {b.total})"
              for b in figures.broadcasts] or ["      -"]
    return "\n".join(lines) + "\n"


def caption(figures: Figures) -> str:
    """The short caption under the picture."""
    answered = sum(figures.per_day.get("answer", ()))
    share = f", dont {round(100 * answered / figures.messages)} % répondus" if figures.messages else ""
    return (f"📊 Statistiques au {figures.today:%d/%m/%Y} : {figures.messages} messages en "
            f"{len(figures.days)} jours{share}. Chiffres seulement, aucune identité.")
