"""The quality gate: the shipped FAQ on the held-out question set (tests/eval/test.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from careerbot.evaluation import Case, leaked, load_cases, run, summarise
from careerbot.faq import Faq
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from tests.conftest import REPO

EVAL = REPO / "tests" / "eval"
# The job-path topics of content-spec-v2.yaml, gated on their own: they are what candidates ask first.
JOB_PATHS = (
    "professeur-ecoles", "professeur-second-degre", "policier", "gendarme", "sapeur-pompier",
    "infirmier-hopital", "aide-soignant", "metiers-mairie", "finances-publiques-douane",
    "surveillant-penitentiaire", "militaire-armees", "justice-greffier-magistrat",
    "metiers-numerique-etat", "fonction-publique-europeenne", "salaire-debutant",
    "concours-sans-diplome", "reconversion-prive", "fonction-publique-quebec",
)


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


def figures(cases: list[Case], matcher: Matcher) -> dict[str, float]:
    """The four gate figures of a question set."""
    summary = summarise(run(cases, matcher))
    return {k: summary[k] for k in ("direct_right", "resolved", "direct_wrong", "oos_answered")}


def test_gate_on_held_out_questions(shipped: tuple[Faq, Matcher]) -> None:
    """On all of test.yaml: direct_right >= 0.78, resolved >= 0.94, direct_wrong <= 0.03,
    oos_answered <= 0.04 (the issue's target, 0.80 right with 0.025 wrong, is not reached yet).
    """
    faq, matcher = shipped
    found = figures(usable(EVAL / "test.yaml", faq), matcher)
    assert found["direct_right"] >= 0.78, found
    assert found["resolved"] >= 0.94, found
    assert found["direct_wrong"] <= 0.03, found
    assert found["oos_answered"] <= 0.04, found


def test_gate_on_the_topics_of_the_first_round(shipped: tuple[Faq, Matcher]) -> None:
    """The 38 topics of content-spec.yaml do not regress: direct_right >= 0.80,
    resolved >= 0.94, direct_wrong <= 0.03.
    """
    faq, matcher = shipped
    first = [case for case in usable(EVAL / "test.yaml", faq)
             if case.expect and not set(case.expect) & set(JOB_PATHS)]
    found = figures(first, matcher)
    assert found["direct_right"] >= 0.80, found
    assert found["resolved"] >= 0.94, found
    assert found["direct_wrong"] <= 0.03, found


def test_gate_on_job_path_questions(shipped: tuple[Faq, Matcher]) -> None:
    """On the job-path topics alone (content-spec-v2): direct_right >= 0.75, resolved >= 0.90,
    direct_wrong <= 0.04.
    """
    faq, matcher = shipped
    jobs = [case for case in usable(EVAL / "test.yaml", faq)
            if set(case.expect) & set(JOB_PATHS)]
    assert len(jobs) >= 6 * len(JOB_PATHS)
    found = figures(jobs, matcher)
    assert found["direct_right"] >= 0.75, found
    assert found["resolved"] >= 0.90, found
    assert found["direct_wrong"] <= 0.04, found


@pytest.mark.parametrize("name", ["content-spec.yaml", "content-spec-v2.yaml"])
def test_every_content_spec_topic_is_an_entry(shipped: tuple[Faq, Matcher], name: str) -> None:
    """Every id of ../shared/content-spec*.yaml exists in the FAQ."""
    spec_path = REPO.parent / "shared" / name
    if not spec_path.exists():
        pytest.skip(f"../shared/{name} is not beside the project")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    faq, _ = shipped
    assert sorted(t["id"] for t in spec["topics"] if t["id"] not in faq.by_id) == []


# What each correction of content-spec-v2.yaml must leave in the entry (answer or details), and
# what must be gone: the fact-check found these statements wrong or out of date.
CORRECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "apprentissage": (("août 2025", "adopté"), ()),
    "handicap-recrutement": (("août 2025",), ()),
    "limite-age": (("catégorie active", "magistrats"), ("longue formation",)),
    "ecoles-service-public": (("instituts du service public", "Nanterre"), ("Lyon, Metz, Nantes",)),
    "categories-a-b-c": (("abandonné",), ("a été évoquée",)),
    "prepa-talents": (("xpérimentation", "2025"), ()),
    "recrutement-sans-concours": (("EEE", "titre de séjour"), ()),
    "pacte": (("EEE", "titre de séjour"), ()),
    "equivalence-diplome": (("enseignants", "recherche"), ()),
    "droits-obligations": (("interdit", "policiers", "gendarmes"), ()),
}


@pytest.mark.parametrize("entry_id", sorted(CORRECTIONS))
def test_corrections_are_applied(shipped: tuple[Faq, Matcher], entry_id: str) -> None:
    """Each corrected entry says the corrected fact and no longer the wrong one."""
    faq, _ = shipped
    entry = faq.entry(entry_id)
    text = f"{entry.answer}\n{entry.details}"
    present, gone = CORRECTIONS[entry_id]
    assert [word for word in present if word not in text] == []
    assert [word for word in gone if word in text] == []


def test_corrections_cover_the_spec() -> None:
    """Every id under `corrections:` of ../shared/content-spec-v2.yaml is checked above."""
    spec_path = REPO.parent / "shared" / "content-spec-v2.yaml"
    if not spec_path.exists():
        pytest.skip("../shared/content-spec-v2.yaml is not beside the project")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    assert {item["id"] for item in spec["corrections"]} <= set(CORRECTIONS)
