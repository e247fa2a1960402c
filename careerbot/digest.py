"""The organisers' weekly digest: when it is due, and its texts. Pure: the worker sends it
(careerbot/telegram/digest.py) after claiming the week in the database (storage/stats.py).

Due every Monday from 09:00 Paris time. Catch-up: if no instance could send it then (the bot was
down, the database away), it goes out as soon as one can, until the end of Wednesday; later in the
week it is skipped, since the next Monday's is nearer than a stale one, and a digest on Sunday
would be followed by another on Monday.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from careerbot.conversation import format_date
from careerbot.faq import Event
from careerbot.reporting import Group, snippet
from careerbot.stats import PARIS
from careerbot.telegram_html import escape

SEND_AT = time(9, 0)  # Monday, Paris time
LAST_CATCH_UP_DAY = 2  # Wednesday (Monday is 0)
CLUSTERS = 5
AHEAD = timedelta(days=14)  # the events of the coming fortnight
QUESTION_CHARS = 150  # a question as long as a letter is cut in the digest
ALTERNATIVES = 4  # questions of a group quoted in its snippet


def week_of(moment: datetime) -> str:
    """The ISO week a moment falls in, in Paris: "2026-W50" (the digest's key)."""
    year, week, _ = moment.astimezone(PARIS).isocalendar()
    return f"{year}-W{week:02d}"


def due(moment: datetime) -> bool:
    """Whether the digest of the moment's week may be sent now: from Monday 09:00 Paris time to
    the end of Wednesday (catch-up for a bot that was down on Monday morning).
    """
    local = moment.astimezone(PARIS)
    if local.weekday() == 0:
        return local.time() >= SEND_AT
    return local.weekday() <= LAST_CATCH_UP_DAY


def clusters_text(groups: Sequence[Group]) -> str:
    """The biggest groups of unanswered questions of the week, each with its YAML snippet."""
    shown = [Group(tuple(_short(q) for q in g.questions), g.guess, g.guess_score)
             for g in groups[:CLUSTERS]]
    if not shown:
        return "🗂️ <b>Questions sans réponse</b>\nAucune cette semaine. 🎉"
    which = (f"les {len(shown)} plus gros groupes" if len(shown) > 1 else "le groupe")
    lines = [f"🗂️ <b>Questions sans réponse : {which} de la semaine</b> (à coller dans l'entrée "
             "qui devrait répondre)"]
    for number, group in enumerate(shown, 1):
        closest = (f"entrée la plus proche : {escape(group.guess)}" if group.guess
                   else "aucune entrée proche")
        lines += ["", f"<b>{number}. {group.count} × « {escape(group.questions[0])} »</b> "
                  f"({closest})",
                  f"<pre>{escape(snippet(group, limit=ALTERNATIVES).rstrip())}</pre>"]
    return "\n".join(lines)


def events_text(events: Sequence[Event], now: datetime) -> str:
    """The events starting within the coming fortnight, soonest first."""
    coming = sorted((e for e in events if now <= e.start <= now + AHEAD), key=lambda e: e.start)
    if not coming:
        return "📅 <b>Événements des 15 prochains jours</b>\nAucun événement prévu."
    lines = ["📅 <b>Événements des 15 prochains jours</b>"]
    lines += [f"• {format_date(e.start.astimezone(PARIS))} : {escape(e.title)} "
              f"({escape(e.place)})" for e in coming]
    return "\n".join(lines)


def caption(week: str) -> str:
    """The caption of the digest's picture."""
    return (f"📬 Le point de la semaine ({week}) : ce que demandent les candidats. "
            "Chiffres seulement, aucune identité.")


def _short(question: str) -> str:
    question = " ".join(question.split())
    return question if len(question) <= QUESTION_CHARS else question[:QUESTION_CHARS - 1] + "…"
