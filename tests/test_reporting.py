"""`careerbot report`: grouping unanswered questions and the maintainers' snippets."""

from __future__ import annotations

import yaml

from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher
from careerbot.reporting import group_questions, render, snippet
from tests.conftest import REPO


def test_groups_similar_questions_biggest_first() -> None:
    """Rephrasings of one need form one group, with the closest entry as a hint."""
    faq, _ = load_faq(REPO / "faq")
    groups = group_questions([
        "horaires de la mairie de Lyon", "cadastre mairie lyon horaires",
        "quels horaires pour la mairie de lyon ?", "visa vacances travail australie", ""],
        Matcher(faq))
    assert [g.count for g in groups] == [3, 1]
    assert groups[0].questions[0] == "horaires de la mairie de Lyon"


def test_snippet_is_pasteable_yaml_and_report_lists_unhelpful_entries() -> None:
    """The snippet parses as YAML alternatives; entries with more 'no' than 'yes' are listed."""
    faq, _ = load_faq(REPO / "faq")
    groups = group_questions(["c koi le rqth", "c koi la rqth"], Matcher(faq))
    assert yaml.safe_load(snippet(groups[0])) == {"alternatives": ["c koi le rqth", "c koi la rqth"]}
    text = render(groups, {"pacte": (1, 4), "apprentissage": (5, 0)})
    assert "# Unanswered questions: 2 in 1 group(s)" in text
    assert "- pacte: 4 no / 1 yes" in text
    assert "apprentissage" not in text.split("# Entries rated unhelpful")[1]
