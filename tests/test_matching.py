"""The matcher: normalisation, ranking, the four outcomes and their calibration."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from rapidfuzz import fuzz
from unidecode import unidecode

from careerbot.evaluation import Case, calibrate, fit_logistic, run, summarise
from careerbot.faq import Faq
from careerbot.faq_loader import load_faq
from careerbot.matching import NO_AGREEMENT, OFF_TOPIC, Bm25, Matcher, Settings, decide
from careerbot.normalize import char_ngrams, content_words, fold, looks_english, stems, words
from tests.conftest import REPO


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The shipped FAQ with its calibrated settings."""
    faq, _ = load_faq(REPO / "faq")
    return Matcher(faq, Settings.from_mapping(faq.matching))


def test_words_fold_accents_elisions_and_sms() -> None:
    """Accents, elisions, case, punctuation and SMS spellings are normalised."""
    assert words("C'est QUOI l'âge LIMITE ?!") == ("est", "quoi", "age", "limite")
    assert words("kel concour ds la fp") == ("quel", "concours", "dans", "la", "fonction",
                                            "publique")
    assert words("bac+3 « œuvre »") == ("bac", "3", "oeuvre")
    assert content_words("je voudrais savoir c koi un concours") == ("quoi", "concours")


@pytest.mark.parametrize("text", [
    "Ça coûte combien, l'école ? Où s'inscrire… « vite » — merci",
    "ŒUVRE Æther straße ĳssel ﬁn №5 ½ ²",
    "北京 Москва مرحبا שלום Ελλάδα 😀👍🏽 \u200b\ufeff tab\tend",
    "plain ascii, UPPER and lower",
    "",
])
def test_fold_is_unidecode_lowered(text: str) -> None:
    """Folding by the kept table gives unidecode's result, twice (the second from the table)."""
    assert fold(text) == unidecode(text).lower()
    assert fold(text) == unidecode(text).lower()


def test_looks_english() -> None:
    """English messages are told apart from French ones."""
    assert looks_english("how do I become a civil servant in France")
    assert not looks_english("comment devenir fonctionnaire")
    assert not looks_english("concours")


def test_bm25_scores_are_normalised_and_ordered() -> None:
    """A document holding every query term scores higher than one holding some; all in [0, 1]."""
    index = Bm25([["concours", "externe"], ["concours"], ["salaire", "grille"]])
    scores = index.scores(["concours", "externe"])
    assert scores[0] > scores[1] > scores[2] == 0.0
    assert 0.0 < scores.max() <= 1.0
    assert index.scores(["inconnu"]).max() == 0.0


def test_bm25_dense_scores_equal_the_postings_to_the_bit(matcher: Matcher) -> None:
    """The dense matrix kept for a small FAQ gives exactly the postings' scores (the same sums
    in the same order), for every development question.
    """
    cases = yaml.safe_load((REPO / "tests" / "eval" / "dev.yaml").read_text(encoding="utf-8"))
    texts = [str(case["q"]) for case in cases["cases"]]
    for index, tokens in ((matcher.chars, char_ngrams), (matcher.words, stems)):
        assert index.dense is not None
        postings = copy.copy(index)
        postings.dense = None
        for text in texts:
            assert np.array_equal(index.scores(tokens(text)), postings.scores(tokens(text))), text


def test_bm25_keeps_no_dense_matrix_when_large_nor_in_its_pickle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the size limit only the postings answer; a pickle leaves the matrix out and the
    loaded index rebuilds it.
    """
    wide = Bm25([[f"t{(doc * 7 + k) % 300}" for k in range(20)] for doc in range(200)])
    assert wide.dense is not None and wide.dense.shape == (300, 200)
    assert len(pickle.dumps(wide)) < wide.dense.nbytes / 4
    loaded = pickle.loads(pickle.dumps(wide))
    assert loaded.dense is not None and np.array_equal(loaded.dense, wide.dense)
    documents = [["concours", "externe"], ["concours"], ["salaire", "grille"]]
    small = Bm25(documents)
    assert small.dense is not None
    monkeypatch.setattr(Bm25, "DENSE_CELLS", 3 * 4 - 1)  # 4 terms x 3 documents, one cell over
    large = Bm25(documents)
    assert large.dense is None
    assert np.array_equal(large.scores(["concours", "grille"]), small.scores(["concours", "grille"]))


@pytest.mark.parametrize(("text", "entry_id"), [
    ("c koi un concours", "concours-definition"),
    ("je voudrais travailler dans la fonction publique sans passer de concours, c'est possible ?",
     "recrutement-sans-concours"),
    ("PACTE", "pacte"),
    ("c'est quoi la différence entre catégorie A, B et C", "categories-a-b-c"),
    ("do i need french citizenship to be a civil servant", "conditions-nationalite"),
])
def test_clear_questions_are_answered(matcher: Matcher, text: str, entry_id: str) -> None:
    """Unambiguous questions in several styles get their entry directly."""
    match = matcher.match(text)
    assert (match.status, match.entry_id) == ("answer", entry_id)
    assert 0.0 <= match.score <= 1.0


@pytest.mark.parametrize(("text", "talk"), [
    ("bonjour", "greeting"), ("Merci beaucoup !", "thanks"), ("t es nul", "insult"),
    ("comment renouveler mon passeport", "hors-champ-demarches"),
])
def test_small_talk_and_off_topic(matcher: Matcher, text: str, talk: str) -> None:
    """Greetings, thanks, insults and near-domain topics are small talk, not answers."""
    match = matcher.match(text)
    assert (match.status, match.smalltalk_id) == ("smalltalk", talk)


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "asdfgh qwerty zxcv", "бюджет служба",
                                  "x" * 20000])
def test_strange_input_falls_back(matcher: Matcher, text: str) -> None:
    """Empty, emoji-only, gibberish, other scripts and huge messages fall back without error."""
    assert matcher.match(text).status == "fallback"


@pytest.mark.parametrize(("text", "entry_id"), [
    ("je veux être policier", "policier"),
    ("concours gendarmerie sans bac", "gendarme"),
    ("devenir infirmière à l'hôpital public", "infirmier-hopital"),
    ("je veux travailler à la mairie", "metiers-mairie"),
    ("bosser aux impots", "finances-publiques-douane"),
    ("devenir instit", "professeur-ecoles"),
])
def test_the_job_questions_candidates_ask_first(matcher: Matcher, text: str, entry_id: str) -> None:
    """The questions that used to fall back (issue #7) get their job-path entry directly."""
    match = matcher.match(text)
    assert (match.status, match.entry_id) == ("answer", entry_id)


@pytest.mark.parametrize(("text", "term", "entry_id"), [
    ("c'est quoi le CAPES", "capes", "professeur-second-degre"),
    ("CDG ça veut dire quoi", "cdg", "metiers-mairie"),
    ("what is the INSP", "insp", "ecoles-service-public"),
])
def test_definition_requests_on_the_shipped_glossary(matcher: Matcher, text: str, term: str,
                                                     entry_id: str) -> None:
    """Acronym questions get the glossary term and, through it, the entry that says more."""
    match = matcher.match(text)
    assert (match.status, match.entry_id, match.glossary) == ("answer", entry_id, (term,))


def test_near_ties_are_offered_not_answered(matcher: Matcher) -> None:
    """When entries score almost alike the bot offers them instead of guessing."""
    match = matcher.match("comment devenir prof")  # primary or secondary school?
    assert match.status == "suggest"
    assert {"professeur-ecoles", "professeur-second-degre"} <= set(match.suggestions)
    assert len(match.suggestions) <= 3


def test_decide_rules() -> None:
    """Confident and clear -> answer; off-topic best -> small talk; unsure -> suggest/fallback."""
    s = Settings(answer_min=0.7, margin_min=0.05, suggest_min=0.2, suggest_window=0.1)
    ranking = [("a", 0.9), ("b", 0.5), ("c", 0.85)]
    assert decide(ranking, 0.8, 0.0, s).status == "answer"
    assert decide([("a", 0.9), ("b", 0.88)], 0.8, 0.0, s).status == "suggest"  # no lead
    assert decide(ranking, 0.5, 0.0, s).suggestions == ("a", "c")  # b is out of the window
    assert decide(ranking, 0.1, 0.0, s).status == "fallback"
    assert decide(ranking, 0.1, 95.0, s).status == "smalltalk"
    off = decide([(OFF_TOPIC + "prive", 0.9), ("a", 0.3)], 0.3, 0.0, s)
    assert (off.status, off.smalltalk_id) == ("smalltalk", "prive")
    assert decide([("a", 0.9), (OFF_TOPIC + "x", 0.89)], 0.5, 0.0, s).suggestions == ("a",)


def test_settings_round_trip() -> None:
    """Settings written to matching.yaml read back the same."""
    settings = Settings(answer_min=0.61, margin_min=0.02, suggest_min=0.2)
    assert Settings.from_mapping(settings.to_mapping()) == settings


def test_confidence_is_the_logistic_of_the_features_calibration_fits(matcher: Matcher) -> None:
    """At answer time the model computes exactly what calibration fitted: the logistic of the
    features weighted by the coefficients, plus the bias.
    """
    model = matcher.settings.confidence
    ranking = [("a", 0.62), ("b", 0.41), ("c", 0.2)]
    for length, agreement in ((1, (1.0, 1.0, 1.0)), (7, (1.0, 0.0, 1.0)), (40, NO_AGREEMENT)):
        z = float(model.features(ranking, length, agreement) @ model.weights()) + model.bias
        assert model.probability(ranking, length, agreement) == pytest.approx(
            1 / (1 + np.exp(-z)), abs=1e-12)
    assert model.probability([], 3) == 0.0


def test_fit_logistic_orders_probabilities() -> None:
    """The fitted model gives higher probability where the label is 1 more often."""
    x = np.array([[0.1], [0.2], [0.3], [0.6], [0.7], [0.9], [0.4], [0.5]])
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1], dtype=float)
    w = fit_logistic(x, y)
    assert w[0] > 0  # more score, more likely right


def test_calibrate_respects_the_budgets(tmp_path: Path, faq_dir: Path) -> None:
    """Calibrated settings keep wrong answers and answered out-of-scope within their budgets."""
    faq, _ = load_faq(faq_dir)
    cases = [Case("c koi un concours", ("concours-definition",)),
             Case("categorie b diplome", ("categories-a-b-c",)),
             Case("cdd dans l administration", ("contractuel",)),
             Case("salaire footballeur", ()), Case("bonjour", ())]
    result = calibrate(faq, cases, Settings(), max_wrong=0.0, max_oos=0.0)
    summary = summarise(run(cases, Matcher(faq, result.settings)))
    assert summary["direct_wrong"] == 0.0
    assert summary["oos_answered"] == 0.0
    assert summary["resolved"] == result.summary["resolved"]


def test_index_has_one_row_per_entry_and_off_topic(matcher: Matcher) -> None:
    """Entries and ranked small talk share one index; other small talk is whole-message."""
    faq: Faq = matcher.faq
    ranked = [t for t in faq.smalltalk if t.ranked]
    assert len(matcher.ids) == len(faq.entries) + len(ranked)
    assert all(i.startswith(OFF_TOPIC) for i in matcher.ids[len(faq.entries):])


@pytest.mark.parametrize("text", [
    "comment devenir professeur des ecoles",  # shares words with many phrasings
    "proffesseur ecolle",  # typos: shares none, so the plain-ratio path decides
    "policier",  # one word: token_set_ratio gives 100 to every phrasing holding it
    "salaire salaire contractuel",  # repeated words count once
    "zzz qqq",  # nothing in common with anything
])
def test_fuzzy_is_the_best_token_set_ratio_per_entry(matcher: Matcher, text: str) -> None:
    """The split between shared-word phrasings and the rest changes nothing: each entry's fuzzy
    score is exactly rapidfuzz's token_set_ratio against its best phrasing.
    """
    query = content_words(text)
    every = np.arange(len(matcher.ids))
    expected = [max(fuzz.token_set_ratio(" ".join(query), phrasing)
                    for phrasing in matcher.phrasings[matcher.offsets[i]:matcher.offsets[i + 1]])
                for i in every]
    assert np.allclose(matcher._fuzzy(query, every) * 100, expected, rtol=0, atol=1e-4)
