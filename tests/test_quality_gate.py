"""The quality gate: the shipped FAQ on the held-out question set (tests/eval/test.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careerbot.evaluation import Case, leaked, load_cases, run, summarise
from careerbot.faq import Faq
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from tests.conftest import REPO

EVAL = REPO / "tests" / "eval"


@pytest.fixture(scope="module")
def shipped() -> tuple[Faq, Matcher]:
    """The FAQ in faq/ with its calibrated settings."""
    faq, _ = load_faq(REPO / "faq")
    return faq, Matcher(faq, Settings.from_mapping(faq.matching))


def usable(path: Path, faq: Faq) -> list[Case]:
    """A question set without the cases that nearly copy a FAQ phrasing (leakage)."""
    cases = load_cases(path)
    close = leaked(cases, faq)
    return [case for case in cases if case not in close]


@pytest.mark.parametrize("name", ["dev.yaml", "test.yaml"])
def test_question_sets_are_big_enough(shipped: tuple[Faq, Matcher], name: str) -> None:
    """Each set has >= 6 usable questions per entry and >= 60 out-of-scope messages."""
    faq, _ = shipped
    cases = usable(EVAL / name, faq)
    for entry in faq.entries:
        count = sum(entry.id in case.expect for case in cases)
        assert count >= 6, f"{name}: only {count} questions for {entry.id}"
    assert sum(not case.expect for case in cases) >= 60


def test_gate_on_held_out_questions(shipped: tuple[Faq, Matcher]) -> None:
    """direct_right >= 0.75, resolved >= 0.92, direct_wrong <= 0.04, oos_answered <= 0.03."""
    faq, matcher = shipped
    summary = summarise(run(usable(EVAL / "test.yaml", faq), matcher))
    figures = {k: summary[k] for k in ("direct_right", "resolved", "direct_wrong", "oos_answered")}
    assert summary["direct_right"] >= 0.75, figures
    assert summary["resolved"] >= 0.92, figures
    assert summary["direct_wrong"] <= 0.04, figures
    assert summary["oos_answered"] <= 0.03, figures


def test_every_content_spec_topic_is_an_entry(shipped: tuple[Faq, Matcher]) -> None:
    """Every id of ../shared/content-spec.yaml exists in the FAQ."""
    import yaml

    spec_path = REPO.parent / "shared" / "content-spec.yaml"
    if not spec_path.exists():
        pytest.skip("../shared/content-spec.yaml is not beside the project")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    faq, _ = shipped
    assert sorted(t["id"] for t in spec["topics"] if t["id"] not in faq.by_id) == []
