"""When an event takes place, as French organisers type it: "12/03 18h30", "jeudi 12 mars à
18h30", "demain 18h", "12/03/2027 de 18h à 20h30"... in Paris time.

`parse_when(text, now)` gives the start and the end (two hours after the start unless a second
time is written), or raises `DateProblem` whose message says, in French, what to type instead.
Pure: no clock is read, `now` is given.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_LENGTH = timedelta(hours=2)  # an event with no end time written lasts two hours
HORIZON = timedelta(days=731)  # further than two years ahead is a typo, not a plan
EXAMPLE = "« 12/03 18h30 », « jeudi 12 mars à 18h30 » ou « demain 18h »"

MONTHS = {"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
          "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
          "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12,
          "dec": 12}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
               "septembre", "octobre", "novembre", "décembre")
RELATIVE = {"aujourd'hui": 0, "aujourdhui": 0, "demain": 1, "apres-demain": 2,
            "apres demain": 2}
FILLERS = {"le", "a", "de", "du", "des", "et", "au", "partir", "jusqu'a", "jusqua", "vers",
           "prochain", "prochaine", "-", "–"}

_TIME = re.compile(r"(?<![\d/.])(\d{1,2})\s*(?:h|:)\s*(\d{2}(?!\s*[h:]))?(?![\d/.])")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")


class DateProblem(ValueError):
    """A date an event cannot have; the message, in French, says what to type."""


@dataclass(frozen=True, slots=True)
class When:
    """An event's start and end, aware, in Paris time."""

    start: datetime
    end: datetime


def _plain(text: str) -> str:
    """Lower case, no accents, apostrophes straightened, commas dropped."""
    text = text.lower().replace("’", "'").replace(",", " ")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _times(text: str) -> tuple[list[time], str]:
    """The times written ("18h30", "18:30", "18 h"), and the text without them."""
    found: list[time] = []
    for hour, minute in _TIME.findall(text):
        if int(hour) > 23 or int(minute or 0) > 59:
            raise DateProblem(f"Heure impossible : {hour}h{minute or '00'}. Écrivez par exemple "
                              "18h30.")
        found.append(time(int(hour), int(minute or 0)))
    return found, _TIME.sub(" ", text)


def _day(words: list[str], today: date) -> date:
    """The day the words say (no time in them)."""
    text = " ".join(words)
    for word, offset in RELATIVE.items():
        if text == word:
            return today + timedelta(days=offset)
    if len(words) == 1 and (numeric := _NUMERIC.match(words[0])):
        day, month, year = numeric.groups()
        return _date(int(day), int(month), _year(year), today)
    weekday = None
    if words and words[0] in WEEKDAYS:
        weekday = WEEKDAYS.index(words[0])
        words = words[1:]
    if not words and weekday is not None:  # "jeudi 18h": the next Thursday
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if len(words) in (2, 3) and words[1] in MONTHS:
        day_word = words[0].removesuffix("er")
        year = words[2] if len(words) == 3 else None
        if day_word.isdigit() and (year is None or year.isdigit()):
            found = _date(int(day_word), MONTHS[words[1]], _year(year), today)
            if weekday is not None and found.weekday() != weekday:
                raise DateProblem(f"Le {_spoken(found)} est un {WEEKDAYS[found.weekday()]}, pas "
                                  f"un {WEEKDAYS[weekday]}. Vérifiez le jour ou la date.")
            return found
    raise DateProblem(f"Je n'ai pas compris cette date. Écrivez par exemple {EXAMPLE}.")


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    return int(text) + 2000 if len(text) == 2 else int(text)


def _date(day: int, month: int, year: int | None, today: date) -> date:
    """A calendar date; without a year, the next time that day comes (today included)."""
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        raise DateProblem(f"Cette date n'existe pas ({day:02d}/{month:02d}"
                          f"{f'/{year}' if year else ''}). Écrivez par exemple {EXAMPLE}."
                          ) from None


def _spoken(day: date) -> str:
    return f"{'1er' if day.day == 1 else day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def parse_when(text: str, now: datetime) -> When:
    """The start and end an organiser typed, in Paris time; DateProblem says what is wrong."""
    plain = _plain(text.strip())
    if not plain:
        raise DateProblem(f"Écrivez la date et l'heure, par exemple {EXAMPLE}.")
    times, rest = _times(plain)
    if not times:
        raise DateProblem(f"Il manque l'heure. Écrivez par exemple {EXAMPLE}.")
    if len(times) > 2:
        raise DateProblem("Trop d'heures dans ce message : écrivez le début, et la fin si vous "
                          "voulez (« 12/03 18h-20h »).")
    words = [w for w in rest.replace("–", " - ").split() if w not in FILLERS]
    today = now.astimezone(PARIS).date()
    day = _day(words, today)
    start = datetime.combine(day, times[0], tzinfo=PARIS)
    end = (datetime.combine(day, times[1], tzinfo=PARIS) if len(times) == 2
           else start + DEFAULT_LENGTH)
    if end <= start:
        raise DateProblem("L'heure de fin doit venir après l'heure de début.")
    if start <= now:
        raise DateProblem(f"Cette date est passée ({_spoken(day)} à {times[0]:%H}h"
                          f"{times[0]:%M}). Écrivez une date à venir, par exemple {EXAMPLE}.")
    if start > now + HORIZON:
        raise DateProblem("Cette date est à plus de deux ans : vérifiez l'année. Écrivez par "
                          f"exemple {EXAMPLE}.")
    return When(start, end)
