"""`careerbot check`: every rule catches its broken fixture at the right file and line, in French."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from careerbot.cli import main
from careerbot.faq import FaqError
from careerbot.faq_loader import check_directory, load_faq
from tests.conftest import edit, line_of

TODAY = date(2026, 11, 26)
ANSWER = "    answer: Oui, sur <i>contrat</i> (CDD ou CDI de droit public) &amp; sans concours."


def problems(directory: Path) -> list[str]:
    """The problems reported for a directory, as the CLI prints them (in French)."""
    return [str(p) for p in check_directory(directory, today=TODAY)]


def test_valid_fixture_has_no_problem(faq_dir: Path) -> None:
    """The mini FAQ used by these tests is itself clean."""
    assert problems(faq_dir) == []


def test_yaml_syntax_error(faq_dir: Path) -> None:
    """A YAML syntax error is reported at PyYAML's line, in plain words, with the fix."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    question: Peut-on", "    question: [Peut-on")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'Peut-on')}: erreur de syntaxe YAML : le « [ » ouvert n'est jamais "
        "fermé (fermez-le par « ] », ou mettez le texte entre guillemets s'il commence par « [ »)"]


@pytest.mark.parametrize(("old", "new", "error"), [
    ("    tags: [sans-concours]", "\ttags: [sans-concours]",
     "une tabulation dans l'indentation (remplacez la tabulation par des espaces)"),
    ("    question: Peut-on travailler", "    question: Contrat : peut-on travailler",
     "un « : » inattendu : un texte contient « : » sans guillemets, ou la ligne est trop indentée "
     "(mettez entre guillemets le texte qui contient « : », comme question: \"Horaires : quand ?\" "
     "; ou réalignez la ligne sur les champs voisins)"),
    ("    question: Peut-on", "    question: 'C'est vrai qu'on peut",
     "du texte suit des guillemets déjà refermés : une apostrophe dans un texte entre "
     "apostrophes ? (entourez de guillemets doubles \"…\" le texte qui contient une apostrophe)"),
])
def test_yaml_usual_mistakes_name_their_fix(faq_dir: Path, old: str, new: str, error: str) -> None:
    """A tab, an unquoted « : » and an apostrophe in quotes each get their own fix."""
    path = faq_dir / "contrats.yaml"
    edit(path, old, new)
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, new.strip()[:12])}: erreur de syntaxe YAML : {error}"]


def test_missing_field(faq_dir: Path) -> None:
    """A missing required field names the entry and the field to add."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    tags: [sans-concours]\n", "")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'id: contractuel')}: l'entrée 'contractuel' : il manque le champ "
        "'tags' (ajoutez `tags:`)"]


def test_unknown_field_suggests_the_right_name(faq_dir: Path) -> None:
    """A misspelt field is reported at its line with the likely intended name."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    links:\n", "    linkz:\n")
    assert f"{path}:{line_of(path, 'id: contractuel')}: l'entrée 'contractuel' : champ inconnu " \
           "'linkz' (vouliez-vous dire 'links' ?)" in problems(faq_dir)


def test_mistyped_field(faq_dir: Path) -> None:
    """A field of the wrong type says what type it must be and how to write it."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: concours-definition")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related:')}: l'entrée 'contractuel' : le champ 'related' doit "
        "être une liste, pas un texte (écrivez une liste YAML : un « - élément » par ligne, ou "
        "[a, b])"]


def test_field_written_twice(faq_dir: Path) -> None:
    """A key repeated in one mapping (which YAML would silently overwrite) is an error."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    tags: [sans-concours]\n", "    tags: [sans-concours]\n    tags: [concours]\n")
    first = line_of(path, "tags: [sans-concours]")
    assert problems(faq_dir) == [
        f"{path}:{first + 1}: le champ 'tags' est écrit deux fois (la première fois ligne {first}) "
        "(n'en gardez qu'un)"]


def test_list_item_merged_over_two_lines(faq_dir: Path) -> None:
    """A list line indented deeper than the others is joined to the one above: an error."""
    path = faq_dir / "contrats.yaml"
    edit(path, "      - cdi de droit public", "        cdi de droit public")
    first = line_of(path, "contrat dans l administration")
    assert f"{path}:{first}: l'élément de liste 'contrat dans l administration cdi de droit " \
           f"public' s'étend sur les lignes {first} à {first + 1} : une ligne plus indentée que " \
           "les autres a été collée à celle du dessus (alignez chaque « - » sur les autres)" \
           in problems(faq_dir)


def test_bad_id(faq_dir: Path) -> None:
    """An id that is not kebab-case is refused with an example."""
    path = faq_dir / "contrats.yaml"
    edit(path, "  - id: contractuel", "  - id: Contractuel Public")
    assert f"{path}:{line_of(path, 'Contractuel Public')}: l'entrée 'Contractuel Public' : le " \
           "champ 'id' contient 'Contractuel Public', qui n'est pas un identifiant valide " \
           "(utilisez des minuscules sans accents, des chiffres et des tirets, ex. " \
           "'concours-externe')" in problems(faq_dir)


def test_reviewed_not_a_date(faq_dir: Path) -> None:
    """A `reviewed` date in French order is refused with the format to write."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    reviewed: 2026-06-01", "    reviewed: 01/06/2026")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'reviewed:')}: l'entrée 'contractuel' : le champ 'reviewed' "
        "contient '01/06/2026', qui n'est pas une date valide (écrivez AAAA-MM-JJ, ex. 2026-11-26)"]


def test_duplicate_id_names_both_places(faq_dir: Path) -> None:
    """Two entries with one id: the copy just added is reported and points at the other."""
    path = faq_dir / "contrats.yaml"
    first = faq_dir / "acces.yaml"
    edit(path, "  - id: contractuel", "  - id: categories-a-b-c")
    assert f"{path}:{line_of(path, 'id: categories-a-b-c')}: identifiant d'entrée " \
           f"'categories-a-b-c' en double, déjà utilisé dans " \
           f"{first}:{line_of(first, 'id: categories-a-b-c')} (renommez celui-ci, le plus récent)" \
           in problems(faq_dir)


def test_duplicate_id_points_at_the_copy_not_yet_committed(faq_dir: Path) -> None:
    """In git, a volunteer's new entry reusing an id is the one reported, even if it comes first,
    and its `related` listing that id again is not reported on top.
    """
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "faq"]):
        subprocess.run([*git, *command], cwd=faq_dir, check=True, capture_output=True)
    path = faq_dir / "acces.yaml"
    copy = (faq_dir / "contrats.yaml").read_text(encoding="utf-8").split("entries:\n", 1)[1]
    edit(path, "entries:\n", "entries:\n" + copy.replace("related: [concours-definition]",
                                                           "related: [contractuel]"))
    other = faq_dir / "contrats.yaml"
    found = [p for p in problems(faq_dir) if "double" in p or "elle-même" in p]
    assert found == [
        f"{path}:{line_of(path, 'id: contractuel')}: identifiant d'entrée 'contractuel' en double, "
        f"déjà utilisé dans {other}:{line_of(other, 'id: contractuel')} "
        "(renommez celui-ci, le plus récent)"]


def test_related_unknown_id(faq_dir: Path) -> None:
    """A `related` id that does not exist is reported with the closest real id."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: [concours-defintion]")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related:')}: 'contractuel' renvoie à l'entrée "
        "'concours-defintion', qui n'existe pas (vouliez-vous dire 'concours-definition' ?)"]


def test_entry_lists_itself(faq_dir: Path) -> None:
    """An entry among its own `related` is pointless."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: [contractuel]")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related:')}: l'entrée 'contractuel' se cite elle-même dans "
        "'related' (retirez cet identifiant)"]


def test_event_refers_to_unknown_entry(faq_dir: Path) -> None:
    """An event's `related` id must exist too."""
    path = faq_dir / "events.yaml"
    edit(path, "    related: [concours-definition]", "    related: [pacte]")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related: [pacte]')}: 'mission-quebec-2019' renvoie à l'entrée "
        "'pacte', qui n'existe pas (vérifiez l'identifiant)"]


def test_unknown_theme(faq_dir: Path) -> None:
    """A file's theme must be declared in themes.yaml."""
    path = faq_dir / "contrats.yaml"
    edit(path, "theme: contrats", "theme: contrat")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'theme: contrat')}: thème inconnu 'contrat' (choisissez parmi : "
        "acces, contrats)"]


@pytest.mark.parametrize(("html", "error"), [
    ("Ligne 1<br>Ligne 2", "la balise <br> n'est pas acceptée par Telegram (remplacez-la par un "
     "simple retour à la ligne)"),
    ("<p>Un paragraphe</p>", "la balise <p> n'est pas acceptée par Telegram (remplacez-la par un "
     "simple retour à la ligne)"),
    ("<b>un</b>, <b>deux</b>, <b>trois sans fin", "la 3e balise <b> n'est jamais fermée "
     "(ajoutez </b>)"),
    ("<b><i>mal</b></i>", "</b> ne ferme pas la dernière balise ouverte (fermez d'abord </i> : "
     "les balises se ferment dans l'ordre inverse de leur ouverture)"),
    ("CDD & CDI", "un « & » seul n'est pas accepté par Telegram (écrivez &amp;)"),
])
def test_answer_html_telegram_refuses(faq_dir: Path, html: str, error: str) -> None:
    """Answer HTML that Telegram would refuse is an error at the answer's line, with the fix."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, f"    answer: \"{html}\"")
    assert f"{path}:{line_of(path, 'answer:')}: l'entrée 'contractuel' : dans 'answer', " \
           f"{error}" in problems(faq_dir)


def test_html_error_in_a_block_answer_is_at_its_own_line(faq_dir: Path) -> None:
    """In a multi-line answer, an unclosed tag is reported on the line that opens it."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, "    answer: |-\n      Oui, sur contrat.\n      • <b>contrat court\n"
         "      • sans concours.")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, '• <b>contrat')}: l'entrée 'contractuel' : dans 'answer', la 1re "
        "balise <b> n'est jamais fermée (ajoutez </b>)"]


def test_answer_too_long_for_a_phone_screen(faq_dir: Path) -> None:
    """An answer beyond the maximum is an error telling where the rest goes."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, "    answer: " + "x" * 700)
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'answer:')}: l'entrée 'contractuel' : 'answer' fait 700 "
        "caractères, au-delà du maximum de 600 (gardez l'essentiel en moins de 450 caractères et "
        "déplacez le reste dans `details`, affiché derrière le bouton « Plus de détails »)"]


def test_answer_long_for_a_phone_is_a_warning(faq_dir: Path) -> None:
    """A long answer under the maximum gets a warning, which fails only with --strict."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, "    answer: " + "x" * 500)
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'answer:')}: attention : l'entrée 'contractuel' : 'answer' fait "
        "500 caractères, plus de 450 : c'est long à lire sur un téléphone (gardez l'essentiel en "
        "moins de 450 caractères et déplacez le reste dans `details`, affiché derrière le bouton "
        "« Plus de détails »)"]
    load_faq(faq_dir, today=TODAY)  # a warning does not stop the bot


def test_details_too_long(faq_dir: Path) -> None:
    """Details have their own maximum."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, ANSWER + "\n    details: " + "x" * 900)
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'details:')}: l'entrée 'contractuel' : 'details' fait 900 "
        "caractères, au-delà du maximum de 800 (gardez les détails en moins de 600 caractères ; "
        "pour le reste, mettez un lien vers la page officielle)"]


def test_answer_with_too_many_bullets(faq_dir: Path) -> None:
    """More than three bullets in an answer is a warning."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, "    answer: |-\n      Oui :\n" + "".join(
        f"      • point {n}\n" for n in range(1, 5)).rstrip("\n"))
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'answer:')}: attention : l'entrée 'contractuel' : 'answer' a 4 "
        "puces, plus de 3 (gardez l'essentiel en 3 puces et déplacez le reste dans `details`)"]


def test_unexplained_acronym(faq_dir: Path) -> None:
    """An acronym nobody explains is an error saying how to explain it."""
    path = faq_dir / "contrats.yaml"
    edit(path, ANSWER, "    answer: Oui, avec une RQTH aussi.")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'answer:')}: l'entrée 'contractuel' : 'answer' utilise le sigle "
        "'RQTH', qui n'est expliqué ni dans la réponse ni dans faq/glossary.yaml (dites ce qu'il "
        "veut dire la première fois, ex. « RQTH (…) », ou ajoutez-le à faq/glossary.yaml)"]


def test_malformed_url(faq_dir: Path) -> None:
    """A link without a host is an error at the url's line."""
    path = faq_dir / "contrats.yaml"
    edit(path, "url: https://www.service-public.fr/particuliers/vosdroits/F14012",
         "url: https://service public/F14012")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'url: https://service public')}: 'contractuel' : le lien "
        "'https://service public/F14012' n'a pas de nom de domaine valide (copiez l'adresse "
        "complète depuis la barre du navigateur)"]


def test_http_link_is_a_warning(faq_dir: Path) -> None:
    """A plain http link works but gets a warning."""
    path = faq_dir / "contrats.yaml"
    edit(path, "url: https://www.service-public.fr/particuliers/vosdroits/F14012",
         "url: http://www.service-public.fr/particuliers/vosdroits/F14012")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'url: http://')}: attention : 'contractuel' : le lien "
        "'http://www.service-public.fr/particuliers/vosdroits/F14012' n'est pas en https "
        "(utilisez l'adresse en https://)"]


def test_entry_not_reviewed_for_a_year(faq_dir: Path) -> None:
    """An entry reviewed more than a year ago gets a warning."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    reviewed: 2026-06-01", "    reviewed: 2025-06-01")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'reviewed:')}: attention : l'entrée 'contractuel' : pas relue "
        "depuis le 2025-06-01, il y a plus d'un an (relisez la réponse, ouvrez ses liens, puis "
        "mettez à jour `reviewed`)"]


def test_entry_reviewed_in_the_future(faq_dir: Path) -> None:
    """A review date after today is a typo."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    reviewed: 2026-06-01", "    reviewed: 2027-06-01")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'reviewed:')}: l'entrée 'contractuel' : le champ 'reviewed' "
        "(2027-06-01) est dans le futur (écrivez la date à laquelle vous l'avez vérifiée)"]


def test_event_ends_before_it_starts(faq_dir: Path) -> None:
    """An event whose end precedes its start is an error at `end`."""
    path = faq_dir / "events.yaml"
    edit(path, "    end: 2030-03-12T21:00:00+01:00", "    end: 2030-03-11T21:00:00+01:00")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'end: 2030-03-11')}: l'événement 'soiree-2030' se termine avant "
        "de commencer (vérifiez le jour et l'heure de `start` et de `end`)"]


def test_event_time_without_zone(faq_dir: Path) -> None:
    """An event time without a UTC offset is refused: reminders would fire at the wrong hour."""
    path = faq_dir / "events.yaml"
    edit(path, "    start: 2030-03-12T18:30:00+01:00", "    start: 2030-03-12T18:30:00")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'start: 2030-03-12T18:30:00')}: l'événement 'soiree-2030' : le "
        "champ 'start' contient '2030-03-12T18:30:00', qui n'est pas une date et heure avec "
        "fuseau horaire (écrivez par ex. 2025-03-12T18:30:00+01:00 (+01:00 en hiver, +02:00 en "
        "été))"]


def test_too_few_alternatives(faq_dir: Path) -> None:
    """An entry with few phrasings gets a warning listing the ways people ask."""
    path = faq_dir / "contrats.yaml"
    edit(path, "      - cdi de droit public\n", "")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'alternatives:')}: attention : l'entrée 'contractuel' n'a que 4 "
        "formulation(s) dans 'alternatives' (au moins 5) (ajoutez les façons dont on pose "
        "vraiment la question : SMS, fautes de frappe, version courte, version longue, anglais)"]


def test_phrasing_shared_by_two_entries(faq_dir: Path) -> None:
    """The same phrasing in two entries is an error naming both places."""
    path = faq_dir / "contrats.yaml"
    other = faq_dir / "acces.yaml"
    edit(path, "      - cdi de droit public", "      - C'est quoi la catégorie B ?")
    assert f"{path}:{line_of(path, 'catégorie B')}: l'entrée 'contractuel' : la formulation " \
           f"\"C'est quoi la catégorie B ?\" est aussi une formulation de 'categories-a-b-c' " \
           f"({other}:{line_of(other, 'c quoi la categorie b')}) (gardez-la seulement dans " \
           "l'entrée qui y répond)" in problems(faq_dir)


def test_clash_phrasing_answered_by_another_entry(faq_dir: Path) -> None:
    """A phrasing the matcher answers with another entry is reported as a clash."""
    path = faq_dir / "contrats.yaml"
    edit(path, "      - cdi de droit public",
         "      - categories a b c difference hierarchie niveau diplome categorie")
    assert f"{path}:{line_of(path, 'hierarchie niveau')}: conflit : pour la formulation " \
           "'categories a b c difference hierarchie niveau diplome categorie' de 'contractuel', " \
           "le bot répond par l'entrée 'categories-a-b-c' (précisez la formulation, ou " \
           "déplacez-la dans l'entrée 'categories-a-b-c' si elle y a sa place)" in problems(faq_dir)


def test_every_problem_is_reported_not_just_the_first(faq_dir: Path) -> None:
    """Problems in several files are all listed in one run."""
    edit(faq_dir / "contrats.yaml", "    related: [concours-definition]", "    related: [nope]")
    edit(faq_dir / "events.yaml", "    end: 2030-03-12T21:00:00+01:00",
         "    end: 2030-03-11T21:00:00+01:00")
    edit(faq_dir / "acces.yaml", "    reviewed: 2026-06-01\n    en:", "    reviewd: 2026-06-01\n    en:")
    assert len(problems(faq_dir)) == 4  # unknown related, end<start, unknown + missing field


def test_broken_faq_is_never_half_loaded(faq_dir: Path) -> None:
    """One broken file makes loading fail as a whole, listing the problem."""
    edit(faq_dir / "contrats.yaml", "    related: [concours-definition]", "    related: [nope]")
    with pytest.raises(FaqError) as raised:
        load_faq(faq_dir, today=TODAY)
    assert [p.message for p in raised.value.problems] == [
        "'contractuel' renvoie à l'entrée 'nope', qui n'existe pas"]


def test_shipped_faq_passes_the_checker() -> None:
    """The FAQ in faq/ has no error (warnings are allowed).

    Review dates are checked against the real day: an entry reviewed today is not "in the future".
    """
    from tests.conftest import REPO

    found = check_directory(REPO / "faq")
    assert [str(p) for p in found if p.severity == "error"] == []


def test_small_talk_reply_html(faq_dir: Path) -> None:
    """Small-talk replies are checked against Telegram's HTML rules too."""
    path = faq_dir / "smalltalk.yaml"
    edit(path, 'replies: ["Avec plaisir !"]', 'replies: ["Avec plaisir !<br>"]')
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, '<br>')}: le small talk 'thanks' : dans 'replies', la balise <br> "
        "n'est pas acceptée par Telegram (remplacez-la par un simple retour à la ligne)"]


def test_clash_with_an_off_topic_pattern(faq_dir: Path) -> None:
    """An entry phrasing captured by an out-of-scope topic (ranked small talk) is a clash."""
    path = faq_dir / "smalltalk.yaml"
    path.write_text(path.read_text(encoding="utf-8") + (
        "  - id: hors-champ-prive\n    ranked: true\n"
        "    patterns: [travailler sans concours en cdd, cdd cdi dans le prive]\n"
        "    replies: [Je ne traite que l'emploi public.]\n"), encoding="utf-8")
    entries = faq_dir / "contrats.yaml"
    assert f"{entries}:{line_of(entries, 'travailler sans concours en cdd')}: conflit : pour la " \
           "formulation 'travailler sans concours en cdd' de 'contractuel', le bot répond par le " \
           "sujet hors champ 'hors-champ-prive' (précisez la formulation, ou déplacez-la dans le " \
           "sujet hors champ 'hors-champ-prive' si elle y a sa place)" in problems(faq_dir)


def test_file_without_schema_reference_gets_a_warning(faq_dir: Path) -> None:
    """A file that does not name its JSON Schema is flagged with the line to add."""
    path = faq_dir / "contrats.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert problems(faq_dir) == [
        f"{path}:1: attention : le fichier n'indique pas son schéma JSON (mettez en première "
        "ligne : # yaml-language-server: $schema=../careerbot/schemas/entries.schema.json)"]


def test_check_in_english(faq_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`careerbot check --lang en` gives the messages, warnings and summary in English."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: [concours-defintion]")
    edit(path, "    reviewed: 2026-06-01", "    reviewed: 2025-06-01")
    assert main(["check", str(faq_dir), "--today", "2026-11-26", "--lang", "en"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{path}:{line_of(path, 'related:')}: 'contractuel' refers to unknown entry "
        "'concours-defintion' (did you mean 'concours-definition'?)",
        f"{path}:{line_of(path, 'reviewed:')}: warning: entry 'contractuel': not reviewed since "
        "2025-06-01 (check the answer and its links, then update `reviewed`)"]
    assert captured.err == f"{faq_dir}: 1 error(s), 1 warning(s)\n"


def test_unclosed_quote_is_reported_where_it_opens(faq_dir: Path) -> None:
    """A quote never closed is named at its own line, not where PyYAML reaches the end of file."""
    path = faq_dir / "contrats.yaml"
    edit(path, "      - contrat dans l administration", '      - "contrat dans l administration')
    found = problems(faq_dir)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:{line_of(path, 'contrat dans l administration')}: ")


def test_a_byte_that_is_not_utf8_is_located(faq_dir: Path) -> None:
    """A Latin-1 "é" on line 7 is reported at line 7 with its column and the fix."""
    path = faq_dir / "contrats.yaml"
    lines = path.read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b"sans concours", "sans concours é".encode("latin-1"), 1)
    path.write_bytes(b"\n".join(lines))
    column = lines[6].index(b"\xe9") + 1
    assert problems(faq_dir) == [
        f"{path}:7: caractère illisible colonne {column} (octet 0xe9) : le fichier n'est pas en "
        "UTF-8 (réenregistrez le fichier en UTF-8 (dans l'éditeur : « Enregistrer avec "
        "l'encodage » → UTF-8))"]


def test_event_id_too_long_for_a_button(faq_dir: Path) -> None:
    """An event id that would not fit the announce button's 64 bytes is reported with the fix,
    one that fits its deep link too.
    """
    path = faq_dir / "events.yaml"
    long_id = "mission-de-fp21-au-quebec-et-a-montreal-pour-les-jeunes-agents"  # 62 characters
    edit(path, "  - id: mission-quebec-2019", f"  - id: {long_id}")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, long_id)}: identifiant d'événement {long_id!r} trop long pour un "
        "bouton Telegram (62 caractères, limite 59) (raccourcissez-le à 58 caractères au plus)"]


def test_event_id_too_long_for_a_deep_link(faq_dir: Path) -> None:
    """An event id that fits its button but not t.me's 64-character start=event-<id> is reported."""
    path = faq_dir / "events.yaml"
    long_id = "mission-de-fp21-au-quebec-et-a-montreal-pour-jeunes-agent-1"  # 59 characters
    edit(path, "  - id: mission-quebec-2019", f"  - id: {long_id}")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, long_id)}: identifiant d'événement {long_id!r} trop long pour un "
        "lien t.me (59 caractères, limite 58) (raccourcissez-le à 58 caractères au plus)"]


def test_entry_id_too_long_for_a_button(faq_dir: Path) -> None:
    """An entry id longer than its longest button allows is refused by the schema, with the fix."""
    path = faq_dir / "contrats.yaml"
    long_id = "contractuel-" + "x" * 48  # 60 characters: 65 bytes as a rating button
    edit(path, "  - id: contractuel", f"  - id: {long_id}")
    assert f"{path}:{line_of(path, long_id)}: l'entrée {long_id!r} : le champ 'id' est trop " \
           "long (60 caractères) (ne dépassez pas 59 caractères)" in problems(faq_dir)
