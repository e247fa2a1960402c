"""Measure the matcher on a question set, and calibrate its thresholds on one.

A case is `{q, expect: [ids], style?}`; `expect: []` marks an out-of-scope message.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml
from rapidfuzz import fuzz, process

from careerbot.faq import Faq
from careerbot.matching import Confidence, Match, Matcher, Settings, Weights, decide
from careerbot.normalize import content_words, fold

WRONG_COST = 2.0  # in calibration, one wrong direct answer weighs as much as two right ones
LEAKAGE_RATIO = 90  # a test question this close to an alternative measures memory, not matching


@dataclass(frozen=True, slots=True)
class Case:
    """One question and the entries that would answer it (none: out of scope)."""

    q: str
    expect: tuple[str, ...]
    style: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the matcher did with a case."""

    q: str
    expect: tuple[str, ...]
    style: str
    status: str
    id: str | None
    score: float
    suggestions: tuple[str, ...]
    glossary: tuple[str, ...] = ()

    @property
    def in_scope(self) -> bool:
        """Whether some entry should answer this case."""
        return bool(self.expect)

    @property
    def direct_right(self) -> bool:
        """Answered directly with an expected entry."""
        return self.status == "answer" and self.id in self.expect

    @property
    def direct_wrong(self) -> bool:
        """An in-scope case answered directly with another entry."""
        return self.in_scope and self.status == "answer" and self.id not in self.expect

    @property
    def resolved(self) -> bool:
        """Right answer, or the right entry among the suggestions."""
        return self.direct_right or (
            self.status == "suggest" and any(i in self.expect for i in self.suggestions))

    @property
    def oos_answered(self) -> bool:
        """An out-of-scope case answered with an entry."""
        return not self.in_scope and self.status == "answer"


class CasesError(Exception):
    """The question set file cannot be used; the message says why."""


def load_cases(path: Path) -> list[Case]:
    """Read a question set file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CasesError(f"{path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CasesError(f"{path}: expected a mapping with a `cases:` list")
    cases = []
    for index, raw in enumerate(data["cases"], 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise CasesError(f"{path}: case #{index} needs a text `q`")
        expect = raw.get("expect") or []
        if not isinstance(expect, list):
            raise CasesError(f"{path}: case #{index}: `expect` must be a list of ids")
        cases.append(Case(raw["q"], tuple(map(str, expect)), str(raw.get("style", ""))))
    return cases


def unknown_ids(cases: Iterable[Case], faq: Faq) -> list[str]:
    """Expected ids that the FAQ does not have."""
    return sorted({i for case in cases for i in case.expect if i not in faq.by_id})


def leaked(cases: Iterable[Case], faq: Faq) -> list[Case]:
    """In-scope cases too close to one of the FAQ's phrasings to measure anything."""
    phrasings = [fold(p) for entry in faq.entries for p in entry.phrasings()]
    return [case for case in cases if case.expect and process.extractOne(
        fold(case.q), phrasings, scorer=fuzz.ratio, score_cutoff=LEAKAGE_RATIO) is not None]


def run(cases: Sequence[Case], matcher: Matcher) -> list[Outcome]:
    """Match every case."""
    return [_outcome(case, matcher.match(case.q)) for case in cases]


def _outcome(case: Case, match: Match) -> Outcome:
    return Outcome(case.q, case.expect, case.style, match.status, match.entry_id,
                   round(match.score, 3), match.suggestions, match.glossary)


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The metrics of the eval format, as fractions, overall and per style."""
    summary = _rates(outcomes)
    by_style: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_style[outcome.style or "-"].append(outcome)
    summary["by_style"] = {style: _rates(group) for style, group in sorted(by_style.items())}
    summary["by_topic"] = by_topic(outcomes)
    return summary


def by_topic(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """Per expected entry: its cases' rates, and how often it answered a case it does not fit.

    `taken` counts wrong direct answers given with this entry (to in-scope cases of other entries
    and to out-of-scope messages): a topic that takes many is too broad.
    """
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        for entry_id in outcome.expect:
            groups[entry_id].append(outcome)
    taken: Counter[str] = Counter(
        o.id for o in outcomes if o.status == "answer" and o.id and o.id not in o.expect)
    topics = {}
    for entry_id, group in sorted(groups.items()):
        rates = _rates(group)
        topics[entry_id] = {key: rates[key] for key in
                            ("n_in_scope", "direct_right", "direct_wrong", "resolved")}
        topics[entry_id]["taken"] = taken[entry_id]
    return topics


def _rates(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    inside = [o for o in outcomes if o.in_scope]
    outside = [o for o in outcomes if not o.in_scope]

    def share(items: Sequence[Outcome], attribute: str) -> float:
        return round(sum(getattr(o, attribute) for o in items) / len(items), 4) if items else 0.0

    return {
        "direct_right": share(inside, "direct_right"),
        "direct_wrong": share(inside, "direct_wrong"),
        "resolved": share(inside, "resolved"),
        "oos_answered": share(outside, "oos_answered"),
        "n_in_scope": len(inside),
        "n_out_of_scope": len(outside),
    }


def report(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The full `careerbot eval --json` document: metrics plus every case's outcome."""
    return {**summarise(outcomes), "cases": [asdict(o) for o in outcomes]}


# --- calibration -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Calibration:
    """The settings chosen and the figures they reach on the development set."""

    settings: Settings
    summary: dict[str, Any]


def calibrate(faq: Faq, cases: Sequence[Case], base: Settings, *, max_wrong: float = 0.03,
              max_oos: float = 0.02) -> Calibration:
    """Fit the matcher's settings on a development set, in four steps.

    1. signal weights: the set whose best entry is right most often;
    2. the confidence model: logistic regression of "best entry is right" on the ranking's shape;
    3. answer_min and margin_min: the pair giving the most direct answers, a wrong one counting
       against as two right ones, while wrong answers and answered out-of-scope messages stay
       within their budgets;
    4. suggest_min: most resolved cases, minus a penalty for offering choices to out-of-scope
       messages (a "did you mean" on "passeport" is noise).

    The refitted model maximises likelihood, not direct answers: steps 3-4 also run on the
    settings in use, and the better of the two within the budgets is kept.
    """
    inside = [c for c in cases if c.expect]
    best_weights, best_right = base.weights, -1
    for chars, words_, fuzzy in itertools.product((1.0,), (0.0, 0.5, 1.0), (0.0, 0.25, 0.5, 1.0)):
        weights = Weights(chars, words_, fuzzy)
        matcher = Matcher(faq, replace(base, weights=weights))
        right = sum(_top_is_right(matcher.rank(c.q), c) for c in inside)
        if right > best_right:
            best_weights, best_right = weights, right
    reweighted = replace(base, weights=best_weights)
    fitted = replace(reweighted, confidence=_fit_confidence(Matcher(faq, reweighted), cases))
    tuned = [_tune_thresholds(faq, cases, settings, max_wrong, max_oos)
             for settings in (fitted, base)]
    chosen = max(tuned, key=lambda pair: pair[1])[0]
    return Calibration(chosen, summarise(run(cases, Matcher(faq, chosen))))


def _fit_confidence(matcher: Matcher, cases: Sequence[Case]) -> Confidence:
    """Logistic model of "the best entry is right" on the evidence of each case's ranking."""
    features, labels = [], []
    for case in cases:
        ranking, agreement = matcher.evidence(case.q)
        features.append(Confidence().features(ranking, len(content_words(case.q)), agreement))
        labels.append(float(_top_is_right(ranking, case)))
    return Confidence.fitted(fit_logistic(np.array(features), np.array(labels)))


def _tune_thresholds(faq: Faq, cases: Sequence[Case], settings: Settings, max_wrong: float,
                     max_oos: float) -> tuple[Settings, float]:
    """The thresholds for these weights and model, and the value they reach: direct_right minus
    twice direct_wrong (-1: none keeps within the budgets).
    """
    matcher = Matcher(faq, settings)
    evidence = [matcher.evidence(c.q) for c in cases]
    probabilities = [settings.confidence.probability(r, len(content_words(c.q)), a)
                     for c, (r, a) in zip(cases, evidence, strict=True)]
    talks = [matcher.smalltalk_match(c.q)[1] for c in cases]
    # Definition requests are decided by the glossary whatever the thresholds.
    defined = [matcher.glossary_match(c.q) for c in cases]

    def outcomes(candidate: Settings) -> list[Outcome]:
        return [_outcome(c, g or decide(e[0], p, t, candidate))
                for c, e, p, t, g in zip(cases, evidence, probabilities, talks, defined, strict=True)]

    best_answering, chosen = -1.0, replace(settings, answer_min=1.0)
    for margin_min, answer_min in itertools.product(_steps(0.0, 0.1, 0.005),
                                                    _steps(0.3, 0.99, 0.01)):
        candidate = replace(settings, answer_min=answer_min, margin_min=margin_min)
        found = _rates(outcomes(candidate))
        # A wrong answer costs users more than a missed one: it counts as two.
        value = found["direct_right"] - WRONG_COST * found["direct_wrong"]
        if (found["direct_wrong"] <= max_wrong and found["oos_answered"] <= max_oos
                and value > best_answering):
            best_answering, chosen = value, candidate
    best_value, answering = -1.0, chosen
    for suggest_min in _steps(0.01, answering.answer_min, 0.01):
        candidate = replace(answering, suggest_min=suggest_min)
        decided = outcomes(candidate)
        outside = [o for o in decided if not o.in_scope]
        noise = sum(o.status == "suggest" for o in outside) / max(1, len(outside))
        value = _rates(decided)["resolved"] - 0.1 * noise
        if value > best_value:
            best_value, chosen = value, candidate
    return chosen, best_answering


def _top_is_right(ranking: Sequence[tuple[str, float]], case: Case) -> bool:
    """The best-ranked entry is an expected one (never true for an out-of-scope message)."""
    return bool(ranking) and ranking[0][0] in case.expect


def fit_logistic(features: npt.NDArray[np.float64], labels: npt.NDArray[np.float64],
                 l2: float = 0.01) -> list[float]:
    """Fit an L2-regularised logistic regression; coefficients per feature, then the bias.

    Newton's method: a few iterations suffice for a handful of features.
    """
    x = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - labels) + l2 * w
        hessian = (x.T * (p * (1 - p))) @ x + l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return [float(v) for v in w]


def _steps(start: float, stop: float, step: float) -> list[float]:
    count = round((stop - start) / step)
    return [round(start + i * step, 4) for i in range(count + 1)]
