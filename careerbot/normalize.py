"""Turn what people type (accents or not, SMS spelling, elisions, English) into comparable tokens.

The same functions prepare the FAQ's phrasings at index time and a user's message at query time,
so both sides always agree.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer
from unidecode import unidecode

# SMS spellings and frequent slips, mapped to the word the FAQ would use. Only forms that are
# unambiguous in this domain: "c" alone is "c'est", "fp" is "fonction publique".
SMS_WORDS: dict[str, str] = {
    "koi": "quoi", "kwa": "quoi", "kel": "quel", "kelle": "quelle", "kels": "quels",
    "pk": "pourquoi", "pq": "pourquoi", "pcq": "parce que", "cmt": "comment", "cmnt": "comment",
    "cb": "combien", "cbm": "combien", "bcp": "beaucoup", "fo": "faut", "ds": "dans",
    "tt": "tout", "tte": "toute", "qd": "quand", "kan": "quand", "ke": "que", "ki": "qui",
    "jsp": "je sais pas", "chui": "je suis", "chuis": "je suis", "jai": "j ai", "g": "j ai",
    "c": "c est", "cest": "c est", "sa": "ca", "pr": "pour", "vs": "vous", "tjr": "toujours",
    "tjrs": "toujours", "mm": "meme", "qlq": "quelque", "qq": "quelque", "slt": "salut",
    "bjr": "bonjour", "bsr": "bonsoir", "mrc": "merci", "mci": "merci", "dac": "d accord",
    "ok": "d accord", "svp": "s il vous plait", "stp": "s il te plait", "fp": "fonction publique",
    "fpt": "fonction publique territoriale", "fph": "fonction publique hospitaliere",
    "fpe": "fonction publique etat", "fonctionaire": "fonctionnaire", "fontionnaire": "fonctionnaire",
    "foncionnaire": "fonctionnaire", "concour": "concours", "conccours": "concours",
    "3e": "troisieme", "3eme": "troisieme", "3ieme": "troisieme", "troisiem": "troisieme",
    "1er": "premier", "2e": "deuxieme", "2eme": "deuxieme", "alternant": "alternance",
    "handicape": "handicap", "handi": "handicap", "apprenti": "apprentissage", "taff": "travail",
    "boulot": "travail", "job": "emploi", "jobs": "emplois", "bac3": "bac 3", "bac5": "bac 5",
    "bac2": "bac 2", "etudiante": "etudiant", "etudiants": "etudiant", "ya": "il y a",
    "publik": "publique", "publiq": "publique", "fonctionere": "fonctionnaire",
}

STOPWORDS: frozenset[str] = frozenset(
    """
    a ai aie as au aux avec avoir c ca ce ceci cela celle celui ces cet cette d de des du donc
    elle elles en est es et etre eu fait faire il ils j je l la le les leur leurs lui m ma mais me
    meme mes moi mon n ne nos notre nous on ont or ou par pas peu peut peux pouvoir puis qu que quel
    quelle quelles quels qui s sa se ses si son sont suis sur t ta te tes toi ton tu un une
    vos votre vous y voudrais voudrait veux veut vouloir savoir sais sait svp plait merci bonjour
    bonsoir salut hello hi est-ce estce ete etes avez avons aurai aurais serait sera etait alors
    aussi bien bon tres trop plus moins tout toute tous toutes chose choses truc trucs genre
    vraiment comme quand-meme quoique dois doit devoir faut falloir il-y-a ya dire dit svp stp
    the an is are was were be been what how do does did i you he she we they it its my your me
    to of in for on at by with and or as this that there can could would should will about from
    get any some please thanks thank hey which who whom if im
    """.split()
)

_STEMMER = snowballstemmer.stemmer("french")
_NON_WORD = re.compile(r"[^a-z0-9+]+")
_PLUS = re.compile(r"\+")
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'")
_REPEATS = re.compile(r"(.)\1{2,}")


class _Folding(dict[int, str]):
    """unidecode's replacement of each character met, kept: `str.translate` then folds a text
    in C. unidecode reads a text character by character in Python (0.1 ms for a long accented
    message) and replaces each on its own, so the result is the same.
    """

    LIMIT = 65_536  # characters kept (a few hundred in practice); beyond, they are looked up

    def __missing__(self, code: int) -> str:
        folded = unidecode(chr(code))
        if len(self) < self.LIMIT:
            self[code] = folded
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """Lower-case ASCII form of a text: accents, ligatures and typographic quotes folded."""
    return (text if text.isascii() else text.translate(_FOLDING)).lower()


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Split a text into folded words, with elisions cut and SMS spellings expanded."""
    folded = _ELISION.sub(" ", fold(text))
    folded = _REPEATS.sub(r"\1\1", folded)  # "biiien" -> "biien": flooding letters, not meaning
    folded = _PLUS.sub(" ", folded)  # "bac+3" -> "bac 3"
    result: list[str] = []
    for word in _NON_WORD.sub(" ", folded).split():
        result.extend(SMS_WORDS.get(word, word).split())
    return tuple(result)


def content_words(text: str) -> tuple[str, ...]:
    """The words that carry meaning: folded words without stop words."""
    return tuple(w for w in words(text) if w not in STOPWORDS)


def stems(text: str) -> tuple[str, ...]:
    """French Snowball stems of the content words."""
    return tuple(_stem(word) for word in content_words(text))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # Words repeat a lot; and without PyStemmer (C), snowballstemmer's pure-Python stemmer
    # costs ~0.1 ms a word.
    stem: str = _STEMMER.stemWord(word)
    return stem


def char_ngrams(text: str, sizes: tuple[int, ...] = (3, 4, 5)) -> list[str]:
    """Character n-grams taken inside each padded content word (like scikit-learn's char_wb)."""
    grams: list[str] = []
    for word in content_words(text):
        grams.extend(_word_ngrams(word, sizes))
    return grams


@lru_cache(maxsize=65536)
def _word_ngrams(word: str, sizes: tuple[int, ...]) -> tuple[str, ...]:
    # Words repeat across the FAQ's phrasings and the questions: cut each once.
    padded = f" {word} "
    return tuple(padded[i : i + size] for size in sizes if len(padded) >= size
                 for i in range(len(padded) - size + 1))


_ENGLISH_MARKERS = frozenset(
    "the what how is are do does can i my you which where when who why job jobs exam exams "
    "civil service without need apply work become french foreigner foreign".split()
)
_FRENCH_MARKERS = frozenset(
    "le la les de des du un une est et je tu vous comment quoi quel quelle pour dans sans "
    "c qui que faut peut ou avec".split()
)


def looks_english(text: str) -> bool:
    """Guess whether a message is written in English rather than French."""
    tokens = fold(text).replace("'", " ").split()
    english = sum(t in _ENGLISH_MARKERS for t in tokens)
    french = sum(t in _FRENCH_MARKERS for t in tokens)
    return english >= 1 and english > french
