"""The glossary: "c'est quoi le CAPES ?" gets a one-line definition and a way to the full entry.

A message is a definition request when, once the words that only ask for a meaning are set aside
("c'est quoi", "ça veut dire quoi", "what is", "définition"...), what remains is exactly one of the
glossary's names. A bare acronym ("RQTH ?") counts too. Anything more ("c'est quoi le CAPES et
comment s'inscrire") goes to the matcher: a definition must never stand in for a real answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from careerbot.faq import GlossaryTerm
from careerbot.normalize import words

# Words that ask what something means: at least one must be there (unless the message is a bare
# acronym), and they are all set aside before comparing what remains with the glossary.
CUES = frozenset("""
    quoi signifie signifient signification definition definitions def veut veulent dire sigle
    acronyme abreviation mean means meaning stand stands what whats explain explique expliquer
    """.split())
FILLERS = CUES | frozenset("""
    est ce que qu le la les l un une des du de d ca cela sa exactement svp s il vous plait te tu
    sais connais moi m en gros au juste ici lettres is the an does do for of please this that
    by term word mot
    """.split())
# "a" and "c" are words of names ("catégorie A", "catégorie C"): "a" is set aside only as the
# English article, "c" only as the "c" of "c'est" or "c koi" (which normalise to "c est ...").
_ARTICLE_AFTER = frozenset({"is", "whats", "what"})
_ACRONYM = re.compile(r"^[A-Z0-9][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*$")


def key(text: str) -> str:
    """What is compared: the folded words that are not fillers ("la Prépa Talents" -> "prepa talents")."""
    return " ".join(_meaningful(words(text)))


def _meaningful(tokens: tuple[str, ...]) -> list[str]:
    return [t for i, t in enumerate(tokens) if t not in FILLERS
            and not (t == "a" and i and tokens[i - 1] in _ARTICLE_AFTER)
            and not (t == "c" and tokens[i + 1:i + 2] == ("est",)
                     and (i == 0 or i + 2 < len(tokens)))]


class Glossary:
    """The glossary's names indexed for definition requests."""

    def __init__(self, terms: Iterable[GlossaryTerm]) -> None:
        self.terms = tuple(terms)
        self.by_name: dict[str, list[GlossaryTerm]] = {}
        self.acronyms: set[str] = set()
        for term in self.terms:
            for name in term.names():
                self.by_name.setdefault(key(name), []).append(term)
                if _ACRONYM.match(name):
                    self.acronyms.add(key(name))

    def lookup(self, text: str) -> tuple[GlossaryTerm, ...]:
        """The terms a message asks the meaning of (several for an ambiguous name like CAP)."""
        tokens = words(text)
        if not tokens or len(tokens) > 12:
            return ()
        meaningful = _meaningful(tokens)
        rest = " ".join(meaningful)
        if not rest:
            return ()
        asks = any(t in CUES for t in tokens)
        bare = len(meaningful) == len(tokens) and rest in self.acronyms
        if not (asks or bare):
            return ()
        return tuple(self.by_name.get(rest, ()))
