"""`careerbot check`: every rule catches its broken fixture at the right file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from careerbot.faq import FaqError
from careerbot.faq_loader import check_directory, load_faq
from tests.conftest import edit, line_of

TODAY = date(2026, 11, 26)


def problems(directory: Path) -> list[str]:
    """The problems reported for a directory, as the CLI prints them."""
    return [str(p) for p in check_directory(directory, today=TODAY)]


def test_valid_fixture_has_no_problem(faq_dir: Path) -> None:
    """The mini FAQ used by these tests is itself clean."""
    assert problems(faq_dir) == []


def test_yaml_syntax_error(faq_dir: Path) -> None:
    """A YAML syntax error is reported at PyYAML's line with a hint."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    question: Peut-on", "    question: [Peut-on")
    (problem,) = problems(faq_dir)
    assert problem.startswith(f"{path}:{line_of(path, 'Peut-on')}: YAML syntax error")
    assert "check indentation" in problem


def test_missing_field(faq_dir: Path) -> None:
    """A missing required field names the entry and the field to add."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    tags: [sans-concours]\n", "")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'id: contractuel')}: entry 'contractuel': missing field 'tags' "
        "(add `tags:`)"]


def test_unknown_field_suggests_the_right_name(faq_dir: Path) -> None:
    """A misspelt field is reported at its line with the likely intended name."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    links:\n", "    linkz:\n")
    found = problems(faq_dir)
    assert f"{path}:{line_of(path, 'id: contractuel')}: entry 'contractuel': unknown field 'linkz' " \
           "(did you mean 'links'?)" in found


def test_mistyped_field(faq_dir: Path) -> None:
    """A field of the wrong type says what type it must be and how to write it."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: concours-definition")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related:')}: entry 'contractuel', field 'related': must be a "
        "list, not text (write a YAML list, one '- item' per line or [a, b])"]


def test_field_written_twice(faq_dir: Path) -> None:
    """A key repeated in one mapping (which YAML would silently overwrite) is an error."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    tags: [sans-concours]\n", "    tags: [sans-concours]\n    tags: [concours]\n")
    first = line_of(path, "tags: [sans-concours]")
    assert problems(faq_dir) == [
        f"{path}:{first + 1}: field 'tags' is written twice (first on line {first}) "
        "(keep only one)"]


def test_bad_id(faq_dir: Path) -> None:
    """An id that is not kebab-case is refused with an example."""
    path = faq_dir / "contrats.yaml"
    edit(path, "  - id: contractuel", "  - id: Contractuel Public")
    assert f"{path}:{line_of(path, 'Contractuel Public')}: entry 'Contractuel Public', field " \
           "'id': 'Contractuel Public' is not a valid id (use lower-case letters, digits and " \
           "hyphens, e.g. 'concours-externe')" in problems(faq_dir)


def test_duplicate_id_names_both_places(faq_dir: Path) -> None:
    """Two entries with one id: the second is reported and points at the first."""
    path = faq_dir / "contrats.yaml"
    first = faq_dir / "acces.yaml"
    edit(path, "  - id: contractuel", "  - id: categories-a-b-c")
    edit(path, "    related: [concours-definition]", "    related: [concours-definition]")
    found = problems(faq_dir)
    assert f"{path}:{line_of(path, 'id: categories-a-b-c')}: duplicate entry id " \
           f"'categories-a-b-c', already used at {first}:{line_of(first, 'id: categories-a-b-c')} " \
           "(rename one of them)" in found


def test_related_unknown_id(faq_dir: Path) -> None:
    """A `related` id that does not exist is reported with the closest real id."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    related: [concours-definition]", "    related: [concours-defintion]")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related:')}: 'contractuel' refers to unknown entry "
        "'concours-defintion' (did you mean 'concours-definition'?)"]


def test_event_refers_to_unknown_entry(faq_dir: Path) -> None:
    """An event's `related` id must exist too."""
    path = faq_dir / "events.yaml"
    edit(path, "    related: [concours-definition]", "    related: [pacte]")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'related: [pacte]')}: 'mission-quebec-2019' refers to unknown "
        "entry 'pacte' (check the id)"]


def test_unknown_theme(faq_dir: Path) -> None:
    """A file's theme must be declared in themes.yaml."""
    path = faq_dir / "contrats.yaml"
    edit(path, "theme: contrats", "theme: contrat")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'theme: contrat')}: unknown theme 'contrat' (use one of: acces, "
        "contrats)"]


@pytest.mark.parametrize(("html", "error"), [
    ("Ligne 1<br>Ligne 2", "tag <br> is not supported by Telegram (use a plain line break)"),
    ("<p>Un paragraphe</p>", "tag <p> is not supported by Telegram (use a plain line break)"),
    ("<b>gras sans fin", "<b> is never closed"),
    ("<b><i>mal</b></i>", "</b> does not match the open tags (expected </i>)"),
    ("CDD & CDI", "bare '&' (write &amp;)"),
])
def test_answer_html_telegram_refuses(faq_dir: Path, html: str, error: str) -> None:
    """Answer HTML that Telegram would refuse is an error at the answer's line."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    answer: Oui, sur <i>contrat</i> (CDD ou CDI de droit public) &amp; sans concours.",
         f"    answer: \"{html}\"")
    assert f"{path}:{line_of(path, 'answer:')}: entry 'contractuel': answer HTML: {error} " \
           "(Telegram accepts only b, i, u, s, a, code, pre, blockquote, tg-spoiler; escape & " \
           "as &amp;)" in problems(faq_dir)


def test_answer_too_long_for_a_message(faq_dir: Path) -> None:
    """An answer that cannot fit one Telegram message is an error."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    answer: Oui, sur", "    answer: " + "x" * 4000 + " Oui, sur")
    found = problems(faq_dir)
    assert any(p.startswith(f"{path}:{line_of(path, 'answer:')}: entry 'contractuel': answer is ")
               and "too long for one Telegram message (cut it under 3696)" in p for p in found)


def test_answer_long_for_a_phone_is_a_warning(faq_dir: Path) -> None:
    """A long answer that still fits gets a warning, which fails only with --strict."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    answer: Oui, sur", "    answer: " + "x" * 1100 + " Oui, sur")
    found = check_directory(faq_dir, today=TODAY)
    assert [p.severity for p in found] == ["warning"]
    assert "long to read on a phone" in str(found[0])
    load_faq(faq_dir, today=TODAY)  # a warning does not stop the bot


def test_malformed_url(faq_dir: Path) -> None:
    """A link without a host is an error at the url's line."""
    path = faq_dir / "contrats.yaml"
    edit(path, "url: https://www.service-public.fr/particuliers/vosdroits/F14012",
         "url: https://service public/F14012")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'url: https://service public')}: 'contractuel': link "
        "'https://service public/F14012' has no valid host name (copy the full address from the "
        "browser)"]


def test_entry_not_reviewed_for_a_year(faq_dir: Path) -> None:
    """An entry reviewed more than a year ago gets a warning."""
    path = faq_dir / "contrats.yaml"
    edit(path, "    reviewed: 2026-06-01", "    reviewed: 2025-06-01")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'reviewed:')}: warning: entry 'contractuel': not reviewed since "
        "2025-06-01 (check the answer and its links, then update `reviewed`)"]


def test_event_ends_before_it_starts(faq_dir: Path) -> None:
    """An event whose end precedes its start is an error at `end`."""
    path = faq_dir / "events.yaml"
    edit(path, "    end: 2030-03-12T21:00:00+01:00", "    end: 2030-03-11T21:00:00+01:00")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'end: 2030-03-11')}: event 'soiree-2030' ends before it starts "
        "(check the day and the hour of `start` and `end`)"]


def test_event_time_without_zone(faq_dir: Path) -> None:
    """An event time without a UTC offset is refused: reminders would fire at the wrong hour."""
    path = faq_dir / "events.yaml"
    edit(path, "    start: 2030-03-12T18:30:00+01:00", "    start: 2030-03-12T18:30:00")
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, 'start: 2030-03-12T18:30:00')}: event 'soiree-2030': start "
        "'2030-03-12T18:30:00' is not a date and time with a time zone (write e.g. "
        "2025-03-12T18:30:00+01:00)"]


def test_phrasing_shared_by_two_entries(faq_dir: Path) -> None:
    """The same phrasing in two entries is an error naming both places."""
    path = faq_dir / "contrats.yaml"
    other = faq_dir / "acces.yaml"
    edit(path, "      - cdi de droit public", "      - C'est quoi la catégorie B ?")
    found = problems(faq_dir)
    assert f"{path}:{line_of(path, 'catégorie B')}: entry 'contractuel': phrasing \"C'est quoi " \
           f"la catégorie B ?\" is also a phrasing of 'categories-a-b-c' " \
           f"({other}:{line_of(other, 'c quoi la categorie b')}) (keep it in the entry that " \
           "answers it)" in found


def test_clash_phrasing_answered_by_another_entry(faq_dir: Path) -> None:
    """A phrasing the matcher answers with another entry is reported as a clash."""
    path = faq_dir / "contrats.yaml"
    edit(path, "      - cdi de droit public",
         "      - categories a b c difference hierarchie niveau diplome categorie")
    found = problems(faq_dir)
    assert f"{path}:{line_of(path, 'hierarchie niveau')}: clash: 'contractuel' phrasing " \
           "'categories a b c difference hierarchie niveau diplome categorie' is answered with " \
           "'categories-a-b-c' (make the phrasing more specific, or move it to " \
           "'categories-a-b-c' if it belongs there)" in found


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
        "'contractuel' refers to unknown entry 'nope'"]


def test_shipped_faq_passes_the_checker() -> None:
    """The FAQ in faq/ has no error (warnings are allowed)."""
    from tests.conftest import REPO

    found = check_directory(REPO / "faq", today=TODAY)
    assert [str(p) for p in found if p.severity == "error"] == []


def test_small_talk_reply_html(faq_dir: Path) -> None:
    """Small-talk replies are checked against Telegram's HTML rules too."""
    path = faq_dir / "smalltalk.yaml"
    edit(path, 'replies: ["Avec plaisir !"]', 'replies: ["Avec plaisir !<br>"]')
    assert problems(faq_dir) == [
        f"{path}:{line_of(path, '<br>')}: small talk 'thanks': reply HTML: tag <br> is not "
        "supported by Telegram (use a plain line break) (Telegram accepts only b, i, u, s, a, "
        "code, pre, blockquote, tg-spoiler; escape & as &amp;)"]


def test_clash_with_an_off_topic_pattern(faq_dir: Path) -> None:
    """An entry phrasing captured by an out-of-scope topic (ranked small talk) is a clash."""
    path = faq_dir / "smalltalk.yaml"
    path.write_text(path.read_text(encoding="utf-8") + (
        "  - id: hors-champ-prive\n    ranked: true\n"
        "    patterns: [travailler sans concours en cdd, cdd cdi dans le prive]\n"
        "    replies: [Je ne traite que l'emploi public.]\n"), encoding="utf-8")
    entries = faq_dir / "contrats.yaml"
    assert f"{entries}:{line_of(entries, 'travailler sans concours en cdd')}: clash: " \
           "'contractuel' phrasing 'travailler sans concours en cdd' is answered with 'small " \
           "talk hors-champ-prive' (make the phrasing more specific, or move it to 'small talk " \
           "hors-champ-prive' if it belongs there)" in problems(faq_dir)


def test_file_without_schema_reference_gets_a_warning(faq_dir: Path) -> None:
    """A file that does not name its JSON Schema is flagged with the line to add."""
    path = faq_dir / "contrats.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert problems(faq_dir) == [
        f"{path}:1: warning: the file does not name its JSON Schema (put this first line: "
        "# yaml-language-server: $schema=../careerbot/schemas/entries.schema.json)"]
