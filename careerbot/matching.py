"""Match a message to the FAQ: rank entries, then decide answer / suggest / smalltalk / fallback.

Three signals, each scaled to [0, 1] so that their weighted mean is a usable confidence:
- `chars`: BM25 over character 3-5-grams of the content words, one document per entry (the best
  single ranker measured in research/matching.md; robust to typos and missing accents);
- `words`: BM25 over French Snowball stems (catches inflections the n-grams split);
- `fuzzy`: rapidfuzz token_set_ratio against each phrasing, best per entry, computed only for the
  leading candidates so the cost stays flat as the FAQ grows.
BM25 scores are divided by the best score the query could reach (every term matched), which makes
them comparable across queries. Weights and thresholds come from `Settings` (faq/matching.yaml,
written by `careerbot calibrate`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from careerbot.faq import Faq, SmallTalk
from careerbot.normalize import char_ngrams, content_words, stems, words

Status = Literal["answer", "suggest", "smalltalk", "fallback"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts in the fused score."""

    chars: float = 1.0
    words: float = 1.0
    fuzzy: float = 1.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Decision thresholds on the fused score (0-1) and the small-talk score (0-100)."""

    weights: Weights = field(default_factory=Weights)
    answer_min: float = 0.5
    margin_min: float = 0.08
    suggest_min: float = 0.3
    suggest_window: float = 0.2
    smalltalk_min: float = 80.0
    candidates: int = 20

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        """Settings from a faq/matching.yaml mapping (missing keys keep their defaults)."""
        known = {f.name for f in fields(cls)} - {"weights"}
        values = {key: float(raw[key]) for key in known if key in raw}
        if "candidates" in values:
            values["candidates"] = int(values["candidates"])
        weights = Weights(**{k: float(v) for k, v in raw.get("weights", {}).items()})
        return cls(weights=weights, **values)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, Any]:
        """The mapping written to faq/matching.yaml."""
        return {
            "weights": {f.name: round(getattr(self.weights, f.name), 3) for f in fields(Weights)},
            **{f.name: round(getattr(self, f.name), 3) for f in fields(self)
               if f.name not in {"weights", "candidates"}},
        }


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one message, with the evidence behind it."""

    status: Status
    entry_id: str | None = None
    score: float = 0.0
    suggestions: tuple[str, ...] = ()
    smalltalk_id: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()


class Bm25:
    """Okapi BM25 over pre-tokenised documents, with query-normalised scores in [0, 1]."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.size = len(documents)
        self.k1 = k1
        lengths = np.array([len(doc) for doc in documents], dtype=np.float64)
        average = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, doc in enumerate(documents):
            norm = k1 * (1 - b + b * lengths[doc_id] / average)
            for term, tf in Counter(doc).items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                tfs.append(tf * (k1 + 1) / (tf + norm))
        self.idf: dict[str, float] = {}
        self.postings: dict[str, tuple[npt.NDArray[np.intp], FloatArray]] = {}
        for term, (ids, tfs) in postings.items():
            idf = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self.idf[term] = idf
            self.postings[term] = (np.array(ids, dtype=np.intp), np.array(tfs) * idf)
        self.unknown_idf = math.log(1 + (self.size - 0.5) / 1.5)  # as rare as a term can be

    def scores(self, query: Sequence[str]) -> FloatArray:
        """Each document's score divided by the score of a document matching every query term."""
        scores = np.zeros(self.size)
        best = 0.0
        for term in set(query):
            best += self.idf.get(term, self.unknown_idf) * (self.k1 + 1)
            posting = self.postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        return scores / best if best else scores


class Matcher:
    """An index of the FAQ built once, answering `match(text)` in about a millisecond."""

    def __init__(self, faq: Faq, settings: Settings | None = None) -> None:
        self.faq = faq
        self.settings = settings or Settings()
        self.ids = [entry.id for entry in faq.entries]
        documents = [(*entry.phrasings(), " ".join(entry.keywords)) for entry in faq.entries]
        self.chars = Bm25([[g for text in doc for g in char_ngrams(text)] for doc in documents])
        self.words = Bm25([[s for text in doc for s in stems(text)] for doc in documents])
        phrasings: list[str] = []
        self.offsets = [0]
        for entry in faq.entries:
            phrasings.extend(" ".join(content_words(text)) for text in entry.phrasings())
            self.offsets.append(len(phrasings))
        self.phrasings = phrasings
        self.smalltalk: list[tuple[str, SmallTalk]] = [
            (" ".join(words(pattern)), talk) for talk in faq.smalltalk for pattern in talk.patterns
        ]

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Leading entries for a message, best first, with their fused score in [0, 1]."""
        query_words = content_words(text)
        if not query_words or not self.ids:
            return []
        w = self.settings.weights
        lexical = (w.chars * self.chars.scores(char_ngrams(text))
                   + w.words * self.words.scores(stems(text)))
        count = min(self.settings.candidates, len(self.ids))
        candidates = np.argpartition(-lexical, count - 1)[:count]
        fuzzy = self._fuzzy(" ".join(query_words), candidates)
        total = w.chars + w.words + w.fuzzy or 1.0
        fused = (lexical[candidates] + w.fuzzy * fuzzy) / total
        order = np.argsort(-fused, kind="stable")
        return [(self.ids[candidates[i]], float(fused[i])) for i in order]

    def _fuzzy(self, query: str, candidates: npt.NDArray[np.intp]) -> FloatArray:
        """Best token_set_ratio (0-1) of the query against each candidate's phrasings."""
        spans = [(self.offsets[c], self.offsets[c + 1]) for c in candidates]
        choices = [p for start, end in spans for p in self.phrasings[start:end]]
        if not choices:
            return np.zeros(len(candidates))
        ratios = process.cdist([query], choices, scorer=fuzz.token_set_ratio,
                               dtype=np.float32)[0]
        starts = np.cumsum([0] + [end - start for start, end in spans[:-1]])
        return np.maximum.reduceat(ratios, starts).astype(np.float64) / 100.0

    def smalltalk_match(self, text: str) -> tuple[SmallTalk | None, float]:
        """The small talk a message is closest to, and how close (0-100)."""
        if not self.smalltalk:
            return None, 0.0
        query = " ".join(words(text))
        if not query:
            return None, 0.0
        found = process.extractOne(query, [p for p, _ in self.smalltalk], scorer=fuzz.ratio)
        if found is None:
            return None, 0.0
        return self.smalltalk[found[2]][1], float(found[1])

    def match(self, text: str) -> Match:
        """Decide what to do with a message."""
        ranking = self.rank(text)
        talk, closeness = self.smalltalk_match(text)
        decision = decide(ranking, closeness, self.settings)
        return replace(decision, smalltalk_id=talk.id if decision.status == "smalltalk" and talk
                       else None, ranking=tuple(ranking[:5]))


def decide(ranking: Sequence[tuple[str, float]], smalltalk: float, s: Settings) -> Match:
    """Answer when the best entry is strong and clear of the next; else small talk, suggest, or
    fall back. Separate from `Matcher` so calibration can replay it on stored rankings."""
    best_id, best = ranking[0] if ranking else (None, 0.0)
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    if best_id is not None and best >= s.answer_min and best - second >= s.margin_min:
        return Match("answer", best_id, best)
    if smalltalk >= s.smalltalk_min:
        return Match("smalltalk", None, smalltalk / 100)
    if best_id is not None and best >= s.suggest_min:
        picks = tuple(i for i, score in ranking[:3]
                      if score >= s.suggest_min and score >= best - s.suggest_window)
        return Match("suggest", None, best, suggestions=picks)
    return Match("fallback", None, best)
