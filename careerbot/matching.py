"""Match a message to the FAQ: rank entries, then decide answer / suggest / smalltalk / fallback.

Ranking uses three signals, each scaled to [0, 1] so that their weighted mean is a usable confidence:
- `chars`: BM25 over character 3-5-grams of the content words, one document per entry (the best
  single ranker measured in research/matching.md; robust to typos and missing accents);
- `words`: BM25 over French Snowball stems (catches inflections the n-grams split);
- `fuzzy`: rapidfuzz token_set_ratio against each phrasing, best per entry, computed only for the
  leading candidates so the cost stays flat as the FAQ grows.
BM25 scores are divided by the best score the query could reach (every term matched), which makes
them comparable across queries. The decision rests on `Confidence`, a small logistic model of
"the best entry is right" fitted on the development set. Out-of-scope topics close to ours
(ranked small talk: private-sector jobs, other "concours"...) are ranked like entries, so that a
near-domain message finds its real topic and gets a polite redirection. Weights, model and
thresholds come from `Settings` (faq/matching.yaml, written by `careerbot calibrate`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from careerbot.faq import Faq, SmallTalk
from careerbot.glossary import Glossary
from careerbot.normalize import char_ngrams, content_words, stems, words

Status = Literal["answer", "suggest", "smalltalk", "fallback"]
OFF_TOPIC = "~"  # id prefix of ranked small talk (out-of-scope topics) in a ranking
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts in the fused score."""

    chars: float = 1.0
    words: float = 1.0
    fuzzy: float = 1.0


Agreement = tuple[float, float, float]  # 1.0 where chars, words, fuzzy alone rank the best first
NO_AGREEMENT: Agreement = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Confidence:
    """Logistic model of P(the best entry is right) from the shape of the ranking.

    Fitted by `careerbot calibrate` on the development set. The message length matters: a long
    message spreads its words over many entries, so its best score is lower for the same
    certainty, while a clear lead on a one- or two-word message ("policier") is as sure as it
    gets (`short_lead`: the lead divided by the length). So does agreement: when the character
    n-grams, the stems and the fuzzy ratio each put the same entry first on their own, the fused
    winner is much more often right.
    """

    bias: float = -4.0
    top: float = 6.0
    margin: float = 4.0
    relative_margin: float = 3.0
    length: float = 0.5
    agree_chars: float = 0.0
    agree_words: float = 0.0
    agree_fuzzy: float = 0.0
    short_lead: float = 0.0

    def features(self, ranking: Sequence[tuple[str, float]], length: int,
                 agreement: Agreement = NO_AGREEMENT) -> FloatArray:
        """The model's inputs: best score, its lead (absolute, relative), log message length,
        whether each signal alone agrees on the best entry, and the lead per word.
        """
        return np.array(self._inputs(ranking, length, agreement))

    def weights(self) -> FloatArray:
        """The coefficients, in the order of `features`."""
        return np.array(self._coefficients())

    def probability(self, ranking: Sequence[tuple[str, float]], length: int,
                    agreement: Agreement = NO_AGREEMENT) -> float:
        """P(the best entry answers the message)."""
        if not ranking:
            return 0.0
        inputs = self._inputs(ranking, length, agreement)
        z = sum(x * c for x, c in zip(inputs, self._coefficients(), strict=True)) + self.bias
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    @staticmethod
    def _inputs(ranking: Sequence[tuple[str, float]], length: int,
                agreement: Agreement) -> list[float]:
        best = ranking[0][1] if ranking else 0.0
        second = ranking[1][1] if len(ranking) > 1 else 0.0
        return [best, best - second, 1 - second / best if best else 0.0, math.log1p(length),
                *agreement, (best - second) / max(1, length)]

    def _coefficients(self) -> list[float]:
        return [self.top, self.margin, self.relative_margin, self.length, self.agree_chars,
                self.agree_words, self.agree_fuzzy, self.short_lead]

    @classmethod
    def fitted(cls, coefficients: Sequence[float]) -> Confidence:
        """The model from logistic coefficients in the order of `features`, then the bias."""
        names = ("top", "margin", "relative_margin", "length", "agree_chars", "agree_words",
                 "agree_fuzzy", "short_lead")
        return cls(bias=coefficients[-1], **dict(zip(names, coefficients[:-1], strict=True)))


@dataclass(frozen=True, slots=True)
class Settings:
    """How to fuse the signals and where to draw the lines between outcomes."""

    weights: Weights = field(default_factory=Weights)
    confidence: Confidence = field(default_factory=Confidence)
    answer_min: float = 0.7  # P(right) needed to answer directly
    margin_min: float = 0.0  # lead over the second entry needed to answer directly (ties are risky)
    suggest_min: float = 0.15  # P(right) needed to offer the leading entries as choices
    suggest_window: float = 0.2  # suggestions stay within this distance of the best score
    smalltalk_min: float = 80.0  # rapidfuzz ratio (0-100) to a small-talk pattern
    # Entries whose phrasings get the fuzzy signal (the costliest part of a match: the shipped
    # entries have about 50 phrasings each). Chosen on the dev set: 5 gives the figures of 10
    # (direct right 0.830 against 0.828, the same wrong, resolved and out-of-scope rates) in
    # 0.60 ms a question instead of 0.99 ms; 4 and 3 answer more wrongly.
    candidates: int = 5

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        """Settings from a faq/matching.yaml mapping (missing keys keep their defaults)."""
        scalars = {f.name for f in fields(cls)} - {"weights", "confidence", "candidates"}
        values: dict[str, Any] = {key: float(raw[key]) for key in scalars if key in raw}
        if "candidates" in raw:
            values["candidates"] = int(raw["candidates"])
        return cls(weights=Weights(**{k: float(v) for k, v in raw.get("weights", {}).items()}),
                   confidence=Confidence(**{k: float(v)
                                            for k, v in raw.get("confidence", {}).items()}),
                   **values)

    def to_mapping(self) -> dict[str, Any]:
        """The mapping written to faq/matching.yaml."""
        return {
            "weights": _rounded(self.weights),
            "confidence": _rounded(self.confidence),
            **{f.name: round(getattr(self, f.name), 3) for f in fields(self)
               if f.name not in {"weights", "confidence", "candidates"}},
        }


def _rounded(record: Weights | Confidence) -> dict[str, float]:
    return {f.name: round(float(getattr(record, f.name)), 3) for f in fields(record)}


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one message, with the evidence behind it.

    `score` is the confidence that the best entry is right (0-1), or the small-talk closeness.
    A definition request ("c'est quoi le CAPES") is an answer with the entry its glossary term
    links to, or small talk when the term has no entry.
    """

    status: Status
    entry_id: str | None = None
    score: float = 0.0
    suggestions: tuple[str, ...] = ()
    smalltalk_id: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()
    glossary: tuple[str, ...] = ()  # ids of the glossary terms a definition request asks about


class Bm25:
    """Okapi BM25 over pre-tokenised documents, with query-normalised scores in [0, 1].

    The postings sit in three flat arrays (term `i` owns `doc_ids[bounds[i]:bounds[i + 1]]` and
    the same slice of `weights`): a query gathers its terms' slices and sums them with one
    `bincount`, and the index pickles as a few arrays (see faq_cache.py) rather than one pair
    per term.

    While terms x documents stays small (the shipped FAQ: 18,000 character n-grams x 68
    documents, 10 MB), the weights are also laid out as a dense matrix, rebuilt rather than
    pickled: a query then sums its terms' rows in one step. Between two messages the bot idles,
    and each numpy call after a pause costs about ten times its warm price: the dense sum takes
    a third of the calls of the postings' gather. Both add a document's weights term after term
    in the query's order, so they give the same scores to the last bit.
    """

    DENSE_CELLS = 2_000_000  # terms x documents up to which the dense matrix is kept (16 MB)

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
        self.terms: dict[str, int] = {}  # term -> its row in the flat arrays
        idfs: list[float] = []
        starts: list[int] = [0]
        doc_ids: list[int] = []
        weights: list[FloatArray] = []
        for term, (ids, tfs) in postings.items():
            idf = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self.terms[term] = len(idfs)
            idfs.append(idf)
            doc_ids.extend(ids)
            weights.append(np.array(tfs) * idf)
            starts.append(len(doc_ids))
        self.doc_ids = np.array(doc_ids, dtype=np.intp)
        self.weights = np.concatenate(weights) if weights else np.zeros(0)
        self.unknown_idf = math.log(1 + (self.size - 0.5) / 1.5)  # as rare as a term can be
        self.bounds = np.array(starts, dtype=np.intp)
        self.idf = np.array(idfs)
        self.dense = self._dense()

    def _dense(self) -> FloatArray | None:
        """The weights as a terms x documents matrix, when it is small enough."""
        if len(self.terms) * self.size > self.DENSE_CELLS:
            return None
        matrix = np.zeros((len(self.terms), self.size))
        matrix[np.repeat(np.arange(len(self.terms)), np.diff(self.bounds)), self.doc_ids] = \
            self.weights
        return matrix

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["dense"] = None  # rebuilt on loading: the cached FAQ stays a few MB
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.dense = self._dense()

    def scores(self, query: Sequence[str]) -> FloatArray:
        """Each document's score divided by the score of a document matching every query term."""
        unique = set(query)
        rows = [row for row in map(self.terms.get, unique) if row is not None]
        if not rows:
            return np.zeros(self.size)
        picked = np.array(rows, dtype=np.intp)
        # An unknown term counts in the best score as the rarest term would.
        best = (float(self.idf[picked].sum()) + (len(unique) - len(rows)) * self.unknown_idf) \
            * (self.k1 + 1)
        if self.dense is not None:
            return cast(FloatArray, self.dense[picked].sum(axis=0) / best)
        # The positions of the query terms' postings, term after term, gathered at once: each
        # document's terms are added in the same order as one `+=` per term would.
        starts = self.bounds[picked]
        lengths = self.bounds[picked + 1] - starts
        ends = np.cumsum(lengths)
        at = np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1])
        scores = cast(FloatArray, np.bincount(self.doc_ids[at], self.weights[at],
                                              minlength=self.size))  # weighted: float64
        return scores / best


class Postings:
    """Which documents hold each word, as one flat array (the pickled index stays a few arrays)."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        held: dict[str, list[int]] = {}
        for doc_id, doc in enumerate(documents):
            for word in set(doc):
                held.setdefault(word, []).append(doc_id)
        self.size = len(documents)
        self.rows: dict[str, tuple[int, int]] = {}
        flat: list[int] = []
        for word, ids in held.items():
            self.rows[word] = (len(flat), len(flat) + len(ids))
            flat.extend(ids)
        self.doc_ids = np.array(flat, dtype=np.intp)

    def any_of(self, words: Iterable[str]) -> npt.NDArray[np.bool_]:
        """A mask of the documents holding at least one of the words."""
        mask = np.zeros(self.size, dtype=np.bool_)
        for word in words:
            row = self.rows.get(word)
            if row is not None:
                mask[self.doc_ids[row[0]:row[1]]] = True
        return mask


class Matcher:
    """An index of the FAQ built once, answering `match(text)` in about a millisecond."""

    def __init__(self, faq: Faq, settings: Settings | None = None) -> None:
        self.faq = faq
        self.settings = settings or Settings()
        ranked_talk = [talk for talk in faq.smalltalk if talk.ranked]
        self.ids = [entry.id for entry in faq.entries] + [OFF_TOPIC + t.id for t in ranked_talk]
        documents = [(*entry.phrasings(), " ".join(entry.keywords)) for entry in faq.entries]
        documents += [talk.patterns for talk in ranked_talk]
        self.chars = Bm25([[g for text in doc for g in char_ngrams(text)] for doc in documents])
        self.words = Bm25([[s for text in doc for s in stems(text)] for doc in documents])
        phrasings: list[str] = []
        self.offsets = [0]
        for doc in documents:
            # token_set_ratio reads a phrasing as its set of words, sorted: stored that way, the
            # scorer's own split and sort find them in order, for a fifth less time and the
            # same ratios.
            phrasings.extend(" ".join(sorted(set(content_words(text)))) for text in doc)
            self.offsets.append(len(phrasings))
        self.phrasings = phrasings
        self.holders = Postings([phrasing.split() for phrasing in phrasings])
        self.smalltalk: list[tuple[str, SmallTalk]] = [
            (" ".join(words(pattern)), talk) for talk in faq.smalltalk if not talk.ranked
            for pattern in talk.patterns
        ]
        self.smalltalk_patterns = [pattern for pattern, _ in self.smalltalk]
        self.glossary = Glossary(faq.glossary)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Leading entries for a message, best first, with their fused score in [0, 1]."""
        return self.evidence(text)[0]

    def evidence(self, text: str) -> tuple[list[tuple[str, float]], Agreement]:
        """The ranking, and which signals alone also put its best entry first."""
        query_words = content_words(text)
        if not query_words or not self.ids:
            return [], NO_AGREEMENT
        w = self.settings.weights
        chars = self.chars.scores(char_ngrams(text))
        words_ = self.words.scores(stems(text))
        lexical = w.chars * chars + w.words * words_
        count = min(self.settings.candidates, len(self.ids))
        candidates = np.argpartition(-lexical, count - 1)[:count]
        fuzzy = self._fuzzy(query_words, candidates).tolist()
        total = w.chars + w.words + w.fuzzy or 1.0
        # A handful of candidates: plain floats, the same operations as numpy's, fewer calls.
        picked = candidates.tolist()
        fused = [(lex + w.fuzzy * f) / total
                 for lex, f in zip(lexical[candidates].tolist(), fuzzy, strict=True)]
        order = sorted(range(len(picked)), key=lambda i: -fused[i])  # stable, as argsort's
        best = picked[order[0]]
        # A signal agrees when the best entry is among its leaders: one-word messages ("policier")
        # give a fuzzy ratio of 100 to every phrasing holding the word.
        agreement = (float(chars[best] >= chars.max()), float(words_[best] >= words_.max()),
                     float(fuzzy[order[0]] >= max(fuzzy)))
        return [(self.ids[picked[i]], fused[i]) for i in order], agreement

    def _fuzzy(self, query_words: Sequence[str], candidates: npt.NDArray[np.intp]) -> FloatArray:
        """Best token_set_ratio (0-1) of the query against each candidate's phrasings.

        token_set_ratio splits both texts into words every time, which costs ten times the ratio
        itself. A phrasing that shares no word with the query has an empty intersection, and
        then token_set_ratio is the plain ratio of the two sorted word sets: only the phrasings
        sharing a word (about a quarter) go through the full scorer.
        """
        bounds = [(self.offsets[c], self.offsets[c + 1]) for c in candidates]
        at = np.concatenate([np.arange(start, end) for start, end in bounds])
        if not len(at):
            return np.zeros(len(candidates))
        query_set = set(query_words)
        query = " ".join(sorted(query_set))
        near = self.holders.any_of(query_set)[at]
        ratios = np.empty(len(at), dtype=np.float32)
        for part, scorer in ((near, fuzz.token_set_ratio), (~near, fuzz.ratio)):
            choices = [self.phrasings[i] for i in at[part].tolist()]
            if choices:
                ratios[part] = process.cdist([query], choices, scorer=scorer,
                                             dtype=np.float32)[0]
        starts = np.cumsum([0] + [end - start for start, end in bounds[:-1]])
        return np.maximum.reduceat(ratios, starts).astype(np.float64) / 100.0

    def smalltalk_match(self, text: str) -> tuple[SmallTalk | None, float]:
        """The small talk a message is closest to, and how close (0-100)."""
        if not self.smalltalk:
            return None, 0.0
        query = " ".join(words(text))
        if not query:
            return None, 0.0
        found = process.extractOne(query, self.smalltalk_patterns, scorer=fuzz.ratio)
        if found is None:
            return None, 0.0
        return self.smalltalk[found[2]][1], float(found[1])

    def glossary_match(self, text: str) -> Match | None:
        """The decision for a definition request, or None if the message is not one."""
        terms = self.glossary.lookup(text)
        if not terms:
            return None
        ids = tuple(term.id for term in terms)
        entry_id = next((term.entry for term in terms if term.entry in self.faq.by_id), None)
        if entry_id is None:
            return Match("smalltalk", None, 1.0, glossary=ids)
        return Match("answer", entry_id, 1.0, glossary=ids)

    def match(self, text: str) -> Match:
        """Decide what to do with a message."""
        defined = self.glossary_match(text)
        if defined is not None:
            return defined
        ranking, agreement = self.evidence(text)
        talk, closeness = self.smalltalk_match(text)
        confidence = self.settings.confidence.probability(ranking, len(content_words(text)),
                                                          agreement)
        decision = decide(ranking, confidence, closeness, self.settings)
        if decision.status == "smalltalk" and decision.smalltalk_id is None and talk:
            decision = replace(decision, smalltalk_id=talk.id)
        return replace(decision, ranking=tuple(ranking[:5]))


def decide(ranking: Sequence[tuple[str, float]], confidence: float, smalltalk: float,
           s: Settings) -> Match:
    """Answer when confident; else small talk, suggestions or a fallback.

    Separate from `Matcher` so that calibration can replay it on stored rankings.
    """
    best_id = ranking[0][0] if ranking else ""
    if best_id.startswith(OFF_TOPIC) and confidence >= s.suggest_min:
        return Match("smalltalk", None, confidence, smalltalk_id=best_id[len(OFF_TOPIC):])
    lead = ranking[0][1] - ranking[1][1] if len(ranking) > 1 else 1.0
    if ranking and confidence >= s.answer_min and lead >= s.margin_min:
        return Match("answer", best_id, confidence)
    if smalltalk >= s.smalltalk_min:
        return Match("smalltalk", None, smalltalk / 100)
    if ranking and confidence >= s.suggest_min:
        best = ranking[0][1]
        picks = tuple(i for i, score in ranking[:3]
                      if score >= best - s.suggest_window and not i.startswith(OFF_TOPIC))
        return Match("suggest", None, confidence, suggestions=picks)
    return Match("fallback", None, confidence)
