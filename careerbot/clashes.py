"""Clashes: phrasings of one entry that the matcher would answer with another entry.

A maintainer sees these confusions in `careerbot check` before any user meets them. Each phrasing is
matched against the full index, where it is also part of its own entry: when another entry still
wins, users who type something close will certainly get the wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from careerbot.faq import Faq, Problem
from careerbot.faq_files import Origin, Sources
from careerbot.matching import Matcher, Settings


def find_clashes(sources: Sources, faq: Faq, settings: Settings) -> Iterator[Problem]:
    """Report each phrasing answered with another entry (error) or ranked below one (warning)."""
    matcher = Matcher(faq, settings)
    ranked = {talk.id for talk in faq.smalltalk if talk.ranked}
    for entry, origin in sources.entries:
        phrasings = [("question", entry.question, ())] + [
            ("alternatives", text, (i,)) for i, text in enumerate(entry.alternatives)]
        for field_name, text, index in phrasings:
            match = matcher.match(text)
            if match.status == "answer" and match.entry_id not in (entry.id, None):
                yield _clash(origin, (field_name, *index), entry.id, text, str(match.entry_id),
                             "error")
            elif match.status == "smalltalk" and match.smalltalk_id in ranked:
                yield _clash(origin, (field_name, *index), entry.id, text, str(match.smalltalk_id),
                             "error", off_topic=True)
            elif match.ranking and match.ranking[0][0] != entry.id and match.status == "suggest":
                yield _clash(origin, (field_name, *index), entry.id, text, match.ranking[0][0],
                             "warning")


def _clash(origin: Origin, at: tuple[str | int, ...], owner: str, text: str, other: str,
           severity: str, *, off_topic: bool = False) -> Problem:
    """A clash with another entry, or with an out-of-scope topic (ranked small talk)."""
    other_en = repr(f"small talk {other}" if off_topic else other)
    other_fr = f"le sujet hors champ {other!r}" if off_topic else f"l'entrée {other!r}"
    verb = "is answered with" if severity == "error" else "ranks first"
    message = (f"clash: {owner!r} phrasing {text!r} {verb} {other_en}"
               if severity == "error" else
               f"clash: for {owner!r} phrasing {text!r}, {other_en} {verb}")
    phrasing = f"conflit : pour la formulation {text!r} de {owner!r}"
    message_fr = (f"{phrasing}, le bot répond par {other_fr}" if severity == "error" else
                  f"{phrasing}, {other_fr} arrive en tête des suggestions")
    return Problem(origin.path, origin.line(*at), message_fr,
                   f"précisez la formulation, ou déplacez-la dans {other_fr} si elle y a sa place",
                   message_en=message,
                   hint_en=f"make the phrasing more specific, or move it to {other_en} if it "
                   "belongs there", severity=severity)

