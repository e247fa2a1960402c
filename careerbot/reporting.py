"""`careerbot report`: what users asked that the FAQ does not answer, grouped, with snippets.

Questions are grouped greedily by rapidfuzz token_set_ratio on their content words; each group
comes with the entry the matcher would lean to, and a YAML snippet of alternatives to paste.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from rapidfuzz import fuzz

from careerbot.matching import Matcher
from careerbot.normalize import content_words

SIMILAR = 70  # token_set_ratio above which two questions are the same need


@dataclass(frozen=True, slots=True)
class Group:
    """Questions that ask the same thing, and the entry the matcher leans to."""

    questions: tuple[str, ...]
    guess: str | None
    guess_score: float

    @property
    def count(self) -> int:
        """How many times it was asked."""
        return len(self.questions)


def group_questions(questions: Sequence[str], matcher: Matcher) -> list[Group]:
    """Group similar questions, biggest group first."""
    groups: list[tuple[str, list[str]]] = []  # (key, members)
    for question in questions:
        key = " ".join(content_words(question))
        if not key:
            continue
        for group_key, members in groups:
            if fuzz.token_set_ratio(key, group_key) >= SIMILAR:
                members.append(question)
                break
        else:
            groups.append((key, [question]))
    result = []
    for _, members in groups:
        ranking = matcher.rank(members[0])
        best = next(((i, s) for i, s in ranking if not i.startswith("~")), (None, 0.0))
        result.append(Group(tuple(members), best[0], round(best[1], 3)))
    return sorted(result, key=lambda g: -g.count)


def snippet(group: Group, limit: int = 8) -> str:
    """YAML alternatives ready to paste into the entry that should answer them."""
    distinct = list(dict.fromkeys(q.strip() for q in group.questions))[:limit]
    return yaml.safe_dump({"alternatives": distinct}, allow_unicode=True, sort_keys=False)


def render(groups: Sequence[Group], ratings: dict[str, tuple[int, int]]) -> str:
    """The maintainers' report as text."""
    lines = [f"# Unanswered questions: {sum(g.count for g in groups)} in {len(groups)} group(s)"]
    for group in groups:
        guess = f"closest entry: {group.guess} ({group.guess_score})" if group.guess else "no close entry"
        lines += ["", f"## {group.count} x \"{group.questions[0]}\" ({guess})",
                  "# paste into the entry that should answer, or create a new one:",
                  snippet(group).rstrip()]
    unhelpful = sorted(((entry, yes, no) for entry, (yes, no) in ratings.items() if no > yes),
                       key=lambda r: -(r[2] - r[1]))
    lines += ["", f"# Entries rated unhelpful: {len(unhelpful)}"]
    lines += [f"- {entry}: {no} no / {yes} yes" for entry, yes, no in unhelpful]
    return "\n".join(lines) + "\n"
