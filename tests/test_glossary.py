"""The glossary: definition requests, their replies, how eval counts them, and the jargon rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from careerbot.conversation import Conversation
from careerbot.evaluation import Case, run
from careerbot.faq import GlossaryTerm
from careerbot.faq_loader import check_directory, load_faq
from careerbot.glossary import Glossary
from careerbot.matching import Matcher, Settings
from careerbot.telegram_html import check_html
from tests.conftest import edit, line_of

GLOSSARY = """\
# yaml-language-server: $schema=../careerbot/schemas/glossary.schema.json
glossary:
  - id: concours-externe
    term: concours externe
    fr: "<b>Concours externe</b> : le concours ouvert à tous, sous condition de diplôme."
    en: "<b>External exam</b>: the concours open to all who hold the required degree."
    entry: concours-definition
  - id: cdd
    term: CDD
    aliases: [contrat a duree determinee]
    fr: "<b>CDD</b> : contrat à durée déterminée."
    en: "<b>CDD</b>: fixed-term contract."
    entry: contractuel
  - id: insp
    term: INSP
    aliases: [Institut national du service public]
    fr: "<b>INSP</b> : Institut national du service public, l'école des hauts fonctionnaires."
    en: "<b>INSP</b>: the French school of senior civil servants."
  - id: cap-diplome
    term: CAP
    fr: "<b>CAP</b> (diplôme) : certificat d'aptitude professionnelle."
    en: "<b>CAP</b> (diploma): a vocational certificate."
    entry: contractuel
  - id: cap-commission
    term: CAP
    fr: "<b>CAP</b> (instance) : commission administrative paritaire."
    en: "<b>CAP</b> (committee): a joint staff committee."
    entry: concours-definition
"""

NOW = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.fixture
def glossary_faq(faq_dir: Path) -> Path:
    """The mini FAQ with a glossary of five terms."""
    (faq_dir / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    return faq_dir


def terms(*names: str) -> Glossary:
    """A glossary of acronyms with no entry."""
    return Glossary(GlossaryTerm(name.lower(), name, "fr", "en") for name in names)


@pytest.mark.parametrize("message", [
    "c'est quoi le CAPES", "c koi le capes ?", "CAPES ça veut dire quoi", "what is the CAPES",
    "que signifie CAPES", "définition du CAPES", "CAPES", "capes ?", "what does CAPES mean",
])
def test_definition_requests_are_recognised(message: str) -> None:
    """The usual ways of asking what an acronym means, accents and case aside, find the term."""
    assert [t.id for t in terms("CAPES", "CDG").lookup(message)] == ["capes"]


@pytest.mark.parametrize("message", [
    "comment avoir le CAPES", "c'est quoi le CAPES et comment s'inscrire",
    "capes ou crpe c quoi le mieux", "c'est quoi un concours", "",
])
def test_other_messages_are_not_definition_requests(message: str) -> None:
    """A question about more than a term's meaning goes to the matcher."""
    assert terms("CAPES", "CDG").lookup(message) == ()


def test_single_letter_names_are_not_taken_for_fillers() -> None:
    """"catégorie C" is a name of its own: not "catégorie", and not the "c" of "c'est"."""
    glossary = Glossary([GlossaryTerm(f"categorie-{x.lower()}", f"catégorie {x}", "fr", "en")
                         for x in "ABC"])
    for letter in "ABC":
        for message in (f"c'est quoi la catégorie {letter}", f"c koi la categorie {letter} ?",
                        f"what is a catégorie {letter}"):
            assert [t.id for t in glossary.lookup(message)] == [f"categorie-{letter.lower()}"]
    assert glossary.lookup("c'est quoi une catégorie") == ()


def test_a_bare_word_that_is_not_an_acronym_is_left_to_the_matcher() -> None:
    """"concours externe" alone wants the full entry; "c'est quoi le concours externe" the term."""
    glossary = Glossary([GlossaryTerm("externe", "concours externe", "fr", "en")])
    assert glossary.lookup("concours externe") == ()
    assert [t.id for t in glossary.lookup("c'est quoi le concours externe")] == ["externe"]


def conversation(directory: Path) -> Conversation:
    """The conversation over a FAQ directory at a fixed moment."""
    faq, _ = load_faq(directory)
    return Conversation(faq, Matcher(faq, Settings(answer_min=0.5, suggest_min=0.3)),
                        clock=lambda: NOW)


def test_definition_reply_links_to_the_entry(glossary_faq: Path) -> None:
    """"CDD ça veut dire quoi" gets the one-line definition and a button to the full entry."""
    reply = conversation(glossary_faq).ask("CDD ça veut dire quoi")
    assert reply.html == "📘 <b>CDD</b> : contrat à durée déterminée."
    assert reply.actions()[0].action == "1e:contractuel"
    assert reply.match is not None and reply.match.glossary == ("cdd",)
    assert check_html(reply.html).errors == ()


def test_definition_in_english(glossary_faq: Path) -> None:
    """"what is the CDD" is answered with the English definition."""
    reply = conversation(glossary_faq).ask("what is the CDD")
    assert reply.html == "📘 <b>CDD</b>: fixed-term contract."


def test_ambiguous_acronym_gets_every_meaning(glossary_faq: Path) -> None:
    """"c'est quoi la CAP" shows the diploma and the committee, each with its entry."""
    reply = conversation(glossary_faq).ask("c'est quoi la CAP")
    assert reply.html.splitlines() == [
        "📘 <b>CAP</b> (diplôme) : certificat d'aptitude professionnelle.",
        "📘 <b>CAP</b> (instance) : commission administrative paritaire."]
    actions = [b.action for b in reply.actions()]
    assert actions[:2] == ["1e:contractuel", "1e:concours-definition"]


def test_eval_counts_a_definition_as_its_entry(glossary_faq: Path) -> None:
    """In eval, a definition is an answer with the linked entry; a term without entry is small talk."""
    faq, _ = load_faq(glossary_faq)
    outcomes = run([Case("c koi un CDD", ("contractuel",)), Case("c'est quoi l'INSP", ())],
                   Matcher(faq))
    assert (outcomes[0].status, outcomes[0].id, outcomes[0].glossary) == (
        "answer", "contractuel", ("cdd",))
    assert outcomes[0].direct_right
    assert (outcomes[1].status, outcomes[1].glossary) == ("smalltalk", ("insp",))
    assert not outcomes[1].oos_answered


def test_glossary_term_pointing_nowhere_is_reported(glossary_faq: Path) -> None:
    """A term's `entry` must exist: the checker names the line and suggests the closest id."""
    path = glossary_faq / "glossary.yaml"
    edit(path, "entry: contractuel\n  - id: insp", "entry: contractuell\n  - id: insp")
    found = [p for p in check_directory(glossary_faq) if "contractuell" in p.message]
    assert [(p.line, p.severity) for p in found] == [(line_of(path, "contractuell"), "error")]
    assert "contractuel" in found[0].hint


def jargon(directory: Path) -> list[str]:
    """The problems naming one of the acronyms these tests write, as `line: acronym`."""
    return [f"{p.line}: {acronym}" for p in check_directory(directory)
            for acronym in ("RQTH", "CAP", "CDD") if f"'{acronym}'" in p.message]


def test_unexplained_acronym_is_flagged(glossary_faq: Path) -> None:
    """An acronym neither explained in the answer nor in the glossary is an error at its answer."""
    path = glossary_faq / "acces.yaml"
    edit(path, "• Un jury choisit", "• Avec une RQTH, un jury choisit")
    assert jargon(glossary_faq) == [f"{line_of(path, 'Le <b>concours</b>') - 1}: RQTH"]


@pytest.mark.parametrize("written", [
    "• Avec une RQTH (reconnaissance de la qualité de travailleur handicapé), un jury choisit",
    "• Avec une reconnaissance de travailleur handicapé (RQTH), un jury choisit",
    "• Avec un CDD, un jury choisit",
])
def test_explained_acronyms_pass(glossary_faq: Path, written: str) -> None:
    """Explained in the text, either way round, or defined once in the glossary: no problem."""
    edit(glossary_faq / "acces.yaml", "• Un jury choisit", written)
    assert jargon(glossary_faq) == []


def test_ambiguous_acronym_must_be_explained_in_the_answer(glossary_faq: Path) -> None:
    """CAP has two meanings in the glossary: the answer must say which one it uses."""
    edit(glossary_faq / "acces.yaml", "• Un jury choisit", "• Avec un CAP, un jury choisit")
    assert [line.split(": ")[1] for line in jargon(glossary_faq)] == ["CAP"]


def test_inline_query_for_a_term_offers_its_entry(glossary_faq: Path) -> None:
    """Inline mode ("@bot c'est quoi un CDD") shares the entry the term links to."""
    found = conversation(glossary_faq).inline("c'est quoi un CDD")
    assert [entry.id for entry, _ in found][:1] == ["contractuel"]
