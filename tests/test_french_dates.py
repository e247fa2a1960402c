"""Event dates as French organisers type them, in Paris time, with clear refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from careerbot.french_dates import PARIS, DateProblem, parse_when

# Thursday 10 December 2026, 20:15 in Paris.
NOW = datetime(2026, 12, 10, 20, 15, tzinfo=PARIS)


def at(*parts: int) -> datetime:
    """A Paris time."""
    return datetime(*parts, tzinfo=PARIS)  # type: ignore[misc,arg-type]


@pytest.mark.parametrize(("typed", "start"), [
    ("12/03 18h30", at(2027, 3, 12, 18, 30)),
    ("12/03/2027 18:30", at(2027, 3, 12, 18, 30)),
    ("12/03/27 18h", at(2027, 3, 12, 18, 0)),
    ("12.03.2027 18h30", at(2027, 3, 12, 18, 30)),
    ("vendredi 12 mars à 18h30", at(2027, 3, 12, 18, 30)),
    ("Vendredi 12 Mars 2027, 18 h 30", at(2027, 3, 12, 18, 30)),
    ("12 mars 18h", at(2027, 3, 12, 18, 0)),
    ("1er avril 9h", at(2027, 4, 1, 9, 0)),
    ("le 5 février à 9h15", at(2027, 2, 5, 9, 15)),
    ("14 décembre 18h", at(2026, 12, 14, 18, 0)),
    ("14 decembre 2026 18h", at(2026, 12, 14, 18, 0)),
    ("demain 18h", at(2026, 12, 11, 18, 0)),
    ("Après-demain à 14h", at(2026, 12, 12, 14, 0)),
    ("aujourd’hui 22h", at(2026, 12, 10, 22, 0)),
    ("jeudi 18h30", at(2026, 12, 17, 18, 30)),
    ("lundi 9h", at(2026, 12, 14, 9, 0)),
    ("5/1 9h", at(2027, 1, 5, 9, 0)),  # January has passed this year: next year's
])
def test_usual_forms_are_understood(typed: str, start: datetime) -> None:
    """Numeric dates, written dates, weekdays and relative days, with the usual hour forms."""
    when = parse_when(typed, NOW)
    assert when.start == start
    assert when.end == start + timedelta(hours=2)


def test_an_end_time_can_be_written() -> None:
    """A second time is the end; without one the event lasts two hours."""
    assert parse_when("12/03 de 18h à 20h30", NOW).end == at(2027, 3, 12, 20, 30)
    assert parse_when("12/03 18h-21h", NOW).end == at(2027, 3, 12, 21, 0)


def test_summer_time_is_paris_time() -> None:
    """A July evening is at +02:00, a March one at +01:00."""
    assert parse_when("14/07 18h", NOW).start.isoformat() == "2027-07-14T18:00:00+02:00"
    assert parse_when("12/03 18h", NOW).start.isoformat() == "2027-03-12T18:00:00+01:00"


@pytest.mark.parametrize(("typed", "says"), [
    ("", "Écrivez la date et l'heure"),
    ("12/03", "Il manque l'heure"),
    ("demain", "Il manque l'heure"),
    ("bientôt 18h", "Je n'ai pas compris cette date"),
    ("31/02 18h", "Cette date n'existe pas (31/02)"),
    ("12/13/2027 18h", "Cette date n'existe pas (12/13/2027)"),
    ("12/03 25h", "Heure impossible : 25h00"),
    ("12/03 18h75", "Heure impossible : 18h75"),
    ("jeudi 12 mars 18h", "Le 12 mars 2027 est un vendredi, pas un jeudi"),
    ("12/03/2020 18h", "Cette date est passée (12 mars 2020 à 18h00)"),
    ("aujourd'hui 9h", "Cette date est passée"),
    ("12/03/2030 18h", "Cette date est à plus de deux ans"),
    ("12/03 20h-18h", "L'heure de fin doit venir après l'heure de début"),
    ("12/03 9h 10h 11h", "Trop d'heures"),
])
def test_bad_dates_are_refused_with_what_to_type(typed: str, says: str) -> None:
    """Each refusal says what is wrong, and most show what to type."""
    with pytest.raises(DateProblem) as refused:
        parse_when(typed, NOW)
    assert says in str(refused.value)


def test_refusals_give_an_example() -> None:
    """An unreadable date is answered with examples of what works."""
    with pytest.raises(DateProblem, match="« 12/03 18h30 », « jeudi 12 mars à 18h30 »"):
        parse_when("la semaine prochaine", NOW)
