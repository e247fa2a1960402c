"""The rules a FAQ must follow beyond its schema, each reporting located problems with a fix.

Each rule is a function `(sources, today) -> Iterator[Problem]`; `RULES` lists them in the order a
maintainer would want to read their output. Clashes need the matcher and live in `clashes.py`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from rapidfuzz import process

from careerbot.callbacks import LIMIT, max_id_length
from careerbot.faq import Problem
from careerbot.faq_files import Origin, Sources
from careerbot.glossary import key as glossary_key
from careerbot.normalize import content_words
from careerbot.telegram_html import check_html, visible_text

# Visible characters (what Telegram shows once the HTML is parsed): (warning above, error above).
# 450 characters and 3 bullets fill one phone screen with the buttons; details get a second screen.
LENGTHS = {"answer": (450, 600), "details": (600, 800)}
MAX_BULLETS = 3
REVIEW_AGE = timedelta(days=365)
MIN_PHRASINGS = 5

HTML_HINT = "Telegram accepts only b, i, u, s, a, code, pre, blockquote, tg-spoiler; escape & as &amp;"

Rule = Callable[[Sources, date], Iterator[Problem]]


def check_duplicate_ids(sources: Sources, today: date) -> Iterator[Problem]:
    """Ids must be unique: each duplicate is reported at the copy just added, naming the other."""
    for kind, kind_fr, records in (
            ("entry", "d'entrée", sources.entries), ("theme", "de thème", sources.themes),
            ("event", "d'événement", sources.events),
            ("small talk", "de small talk", sources.smalltalk),
            ("glossary term", "de terme du glossaire", sources.glossary)):
        first: dict[str, Origin] = {}
        for record, origin in records:
            if record.id not in first:
                first[record.id] = origin
                continue
            added, kept = newer(record.id, first[record.id], origin, sources.committed)
            where = f"{kept.path}:{kept.line('id')}"
            yield Problem(added.path, added.line("id"),
                          f"identifiant {kind_fr} {record.id!r} en double, déjà utilisé dans {where}",
                          "renommez celui-ci, le plus récent",
                          message_en=f"duplicate {kind} id {record.id!r}, already used at {where}",
                          hint_en="rename the new one")


def newer(record_id: str, earlier: Origin, later: Origin,
          committed: Callable[[Path], str | None]) -> tuple[Origin, Origin]:
    """(the copy just added, the one kept): the copy absent from the last commit, else the later."""
    def in_commit(origin: Origin) -> bool:
        text = committed(origin.path)
        return text is not None and re.search(rf"\bid:\s*['\"]?{re.escape(record_id)}\b", text) is not None

    if in_commit(later) and not in_commit(earlier):
        return earlier, later
    return later, earlier


def check_button_ids(sources: Sources, today: date) -> Iterator[Problem]:
    """Ids that buttons carry must fit Telegram's 64 bytes of callback data with the rest."""
    for kind, kind_fr, records in (("entry", "d'entrée", sources.entries),
                                   ("theme", "de thème", sources.themes),
                                   ("event", "d'événement", sources.events)):
        longest = max_id_length(kind)
        # the hint asks for what fits the deep link too, so one edit settles both checks
        fits = min(longest, START_LIMIT - len(f"{kind}-")) if kind != "entry" else longest
        for record, origin in records:
            if len(record.id.encode()) > longest:
                yield Problem(origin.path, origin.line("id"),
                              f"identifiant {kind_fr} {record.id!r} trop long pour un bouton "
                              f"Telegram ({len(record.id)} caractères, limite {longest})",
                              f"raccourcissez-le à {fits} caractères au plus",
                              message_en=f"{kind} id {record.id!r} is too long for a Telegram "
                              f"button ({len(record.id)} characters; {longest} fit in {LIMIT} "
                              "bytes)", hint_en=f"shorten it to at most {fits} characters")


START_LIMIT = 64  # characters of a t.me deep link's start parameter


def check_deep_link_ids(sources: Sources, today: date) -> Iterator[Problem]:
    """Theme and event deep links (start=theme-<id>, start=event-<id>) must fit 64 characters.

    An id already too long for a button is reported by check_button_ids only.
    """
    for prefix, kind, kind_fr, records in (("theme-", "theme", "de thème", sources.themes),
                                           ("event-", "event", "d'événement", sources.events)):
        longest = START_LIMIT - len(prefix)
        for record, origin in records:
            if longest < len(record.id) <= max_id_length(kind):
                yield Problem(origin.path, origin.line("id"),
                              f"identifiant {kind_fr} {record.id!r} trop long pour un lien "
                              f"t.me ({len(record.id)} caractères, limite {longest})",
                              f"raccourcissez-le à {longest} caractères au plus",
                              message_en=f"{kind} id {record.id!r} is too long for a t.me deep "
                              f"link ({len(record.id)} characters; start={prefix}<id> holds "
                              f"{START_LIMIT})", hint_en=f"shorten it to at most {longest} characters")


def check_references(sources: Sources, today: date) -> Iterator[Problem]:
    """`related` ids, event references and file themes must point at something that exists."""
    if sources.unparsed:
        return  # ids in the unreadable file are unknown: reporting references would mislead
    entry_ids = {entry.id for entry, _ in sources.entries} | sources.invalid_ids
    # A copied entry whose id is a duplicate lists "itself": the duplicate says it already.
    counts = Counter(entry.id for entry, _ in sources.entries)
    duplicated = {entry_id for entry_id, count in counts.items() if count > 1}
    theme_ids = {theme.id for theme, _ in sources.themes}
    for entry, origin in sources.entries:
        for index, target in enumerate(entry.related):
            if target == entry.id and entry.id not in duplicated:
                yield Problem(origin.path, origin.line("related", index),
                              f"l'entrée {entry.id!r} se cite elle-même dans 'related'",
                              "retirez cet identifiant",
                              message_en=f"entry {entry.id!r} lists itself in related",
                              hint_en="remove it")
            elif target not in entry_ids:
                yield _unknown_entry(origin, ("related", index), entry.id, target, entry_ids)
    for event, origin in sources.events:
        for index, target in enumerate(event.related):
            if target not in entry_ids:
                yield _unknown_entry(origin, ("related", index), event.id, target, entry_ids)
    for step, origin in sources.route:
        for index, target in enumerate(step.entries):
            if target not in entry_ids:
                yield _unknown_entry(origin, ("entries", index), step.id, target, entry_ids)
    for term, origin in sources.glossary:
        if term.entry and term.entry not in entry_ids:
            yield _unknown_entry(origin, ("entry",), term.id, term.entry, entry_ids)
    if sources.themes:
        for path, (theme, origin) in sources.theme_of_file.items():
            if theme not in theme_ids:
                known = ", ".join(sorted(theme_ids))
                yield Problem(path, origin.line(), f"thème inconnu {theme!r}",
                              f"choisissez parmi : {known}",
                              message_en=f"unknown theme {theme!r}", hint_en=f"use one of: {known}")


def _unknown_entry(origin: Origin, at: tuple[str | int, ...], owner: str, target: str,
                   known: set[str]) -> Problem:
    guess = process.extractOne(target, sorted(known)) if known else None
    close = guess[0] if guess and guess[1] >= 75 else None
    return Problem(origin.path, origin.line(*at),
                   f"{owner!r} renvoie à l'entrée {target!r}, qui n'existe pas",
                   f"vouliez-vous dire {close!r} ?" if close else "vérifiez l'identifiant",
                   message_en=f"{owner!r} refers to unknown entry {target!r}",
                   hint_en=f"did you mean {close!r}?" if close else "check the id")


def check_answers(sources: Sources, today: date) -> Iterator[Problem]:
    """Answers must be HTML Telegram accepts and fit a phone screen; details stay short too."""
    for entry, origin in sources.entries:
        texts: list[tuple[str, tuple[str, ...], str]] = [
            ("answer", ("answer",), entry.answer), ("details", ("details",), entry.details)]
        if entry.en:
            texts += [("answer", ("en", "answer"), entry.en.answer),
                      ("details", ("en", "details"), entry.en.details)]
        for kind, at, text in texts:
            if not text:
                continue
            line = origin.line(*at)
            field_name = ".".join(at)
            report = check_html(text)
            for error in report.problems:
                # A block text (`answer: |-`) starts on the line after its key.
                yield Problem(origin.path, line + error.line if "\n" in text else line,
                              f"l'entrée {entry.id!r} : dans {field_name!r}, {error.fr}",
                              error.fix_fr,
                              message_en=f"entry {entry.id!r}: {kind} HTML: {error.en}",
                              hint_en=HTML_HINT)
            length = report.visible_length
            target, limit = LENGTHS[kind]
            if length > limit:
                yield Problem(origin.path, line,
                              f"l'entrée {entry.id!r} : {field_name!r} fait {length} caractères, "
                              f"au-delà du maximum de {limit}", _length_hint_fr(kind, target),
                              message_en=f"entry {entry.id!r}: {kind} is {length} characters, "
                              f"more than {limit}", hint_en=_length_hint(kind, target))
            elif length > target:
                yield Problem(origin.path, line,
                              f"l'entrée {entry.id!r} : {field_name!r} fait {length} caractères, "
                              f"plus de {target} : c'est long à lire sur un téléphone",
                              _length_hint_fr(kind, target),
                              message_en=f"entry {entry.id!r}: {kind} is {length} characters, "
                              f"more than {target}: long to read on a phone",
                              hint_en=_length_hint(kind, target), severity="warning")
            bullets = sum(row.lstrip().startswith("•") for row in text.splitlines())
            if kind == "answer" and bullets > MAX_BULLETS:
                yield Problem(origin.path, line,
                              f"l'entrée {entry.id!r} : {field_name!r} a {bullets} puces, plus de "
                              f"{MAX_BULLETS}", f"gardez l'essentiel en {MAX_BULLETS} puces et "
                              "déplacez le reste dans `details`",
                              message_en=f"entry {entry.id!r}: answer has {bullets} bullets",
                              hint_en=f"keep the essential in {MAX_BULLETS} bullets and move the "
                              "rest to `details`", severity="warning")


def _length_hint(kind: str, target: int) -> str:
    if kind == "answer":
        return (f"keep the essential under {target} characters and move the rest to `details` "
                "(shown behind a « Plus de détails » button)")
    return f"keep the details under {target} characters; link to the official page for the rest"


def _length_hint_fr(kind: str, target: int) -> str:
    if kind == "answer":
        return (f"gardez l'essentiel en moins de {target} caractères et déplacez le reste dans "
                "`details`, affiché derrière le bouton « Plus de détails »")
    return (f"gardez les détails en moins de {target} caractères ; pour le reste, mettez un lien vers la "
            "page officielle")


def check_smalltalk_replies(sources: Sources, today: date) -> Iterator[Problem]:
    """Small-talk replies and route texts are sent as HTML too: Telegram must accept them."""
    for talk, origin in sources.smalltalk:
        for field_name, replies in (("replies", talk.replies), ("en_replies", talk.en_replies)):
            for index, reply in enumerate(replies):
                yield from _html_problems(origin, (field_name, index), reply,
                                          f"le small talk {talk.id!r} : dans {field_name!r}",
                                          f"small talk {talk.id!r}: reply HTML")
    for step, origin in sources.route:
        for field_name, text in (("text", step.text), ("en_text", step.en_text or "")):
            yield from _html_problems(origin, (field_name,), text,
                                      f"l'étape du parcours {step.id!r} : dans {field_name!r}",
                                      f"route step {step.id!r}: HTML")
    for term, origin in sources.glossary:
        for field_name, text in (("fr", term.fr), ("en", term.en)):
            yield from _html_problems(origin, (field_name,), text,
                                      f"le terme du glossaire {term.id!r} : dans {field_name!r}",
                                      f"glossary term {term.id!r}: HTML")


def _html_problems(origin: Origin, at: tuple[str | int, ...], text: str, where: str,
                   where_en: str) -> Iterator[Problem]:
    for error in check_html(text).problems:
        yield Problem(origin.path, origin.line(*at), f"{where}, {error.fr}", error.fix_fr,
                      message_en=f"{where_en}: {error.en}", hint_en=HTML_HINT)


# Capitalised words of two letters or more with at least two capitals: CAPES, DGFiP, RQTH.
ACRONYM = re.compile(r"\b[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*\b")
# Acronyms everyone reads without a thought.
NEEDS_NO_EXPLANATION = frozenset({"FP21", "CV", "QCM", "SMIC"})


def check_jargon(sources: Sources, today: date) -> Iterator[Problem]:
    """Every acronym an answer uses is explained there, or in the glossary when unambiguous.

    An acronym is explained in the text by "RQTH (reconnaissance ...)" or "... (RQTH)". The answer
    is read before the details, so an explanation in the answer also serves the details.
    """
    meanings: dict[str, int] = {}
    for term, _ in sources.glossary:
        for name in dict.fromkeys(glossary_key(n) for n in term.names()):
            meanings[name] = meanings.get(name, 0) + 1
    for entry, origin in sources.entries:
        texts: list[tuple[str, tuple[str, ...], str, str]] = [
                 ("answer", ("answer",), entry.answer, ""),
                 ("details", ("details",), entry.details, entry.answer)]
        if entry.en:
            texts += [("answer", ("en", "answer"), entry.en.answer, ""),
                      ("details", ("en", "details"), entry.en.details, entry.en.answer)]
        reported: set[str] = set()
        for kind, at, text, before in texts:
            visible = visible_text(text)
            explained = visible_text(before) + "\n" + visible
            for found in dict.fromkeys(ACRONYM.findall(visible)):
                acronym = found[:-1] if found.endswith("s") and found[:-1].isupper() else found
                if acronym in NEEDS_NO_EXPLANATION or acronym in reported:
                    continue
                if _explained(acronym, explained):
                    continue
                known = meanings.get(glossary_key(acronym), 0)
                if known == 1:
                    continue
                reported.add(acronym)
                why = ("has several meanings in the glossary" if known > 1
                       else "is explained neither in the answer nor in faq/glossary.yaml")
                why_fr = ("a plusieurs sens dans le glossaire" if known > 1
                          else "n'est expliqué ni dans la réponse ni dans faq/glossary.yaml")
                yield Problem(origin.path, origin.line(*at),
                              f"l'entrée {entry.id!r} : {'.'.join(at)!r} utilise le sigle "
                              f"{acronym!r}, qui {why_fr}",
                              f"dites ce qu'il veut dire la première fois, ex. « {acronym} (…) », "
                              "ou ajoutez-le à faq/glossary.yaml",
                              message_en=f"entry {entry.id!r}: {kind} uses {acronym!r}, which {why}",
                              hint_en=f"write what it means at first use, e.g. « {acronym} (…) », "
                              "or add it to faq/glossary.yaml")


def _explained(acronym: str, text: str) -> bool:
    escaped = re.escape(acronym)
    return re.search(rf"\b{escaped}\s*\(|\([^()]*\b{escaped}\b[^()]*\)", text) is not None


def url_problem(url: str) -> tuple[str, str] | None:
    """What is wrong with a web address (in French, in English), or None if it looks right."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return "doit commencer par https://", "must start with https://"
    if not parts.hostname or "." not in parts.hostname or parts.hostname.endswith("."):
        return "n'a pas de nom de domaine valide", "has no valid host name"
    if any(ch.isspace() for ch in url) or "<" in url or ">" in url or '"' in url:
        return "contient des espaces ou des guillemets", "contains spaces or quotes"
    return None


def check_urls(sources: Sources, today: date) -> Iterator[Problem]:
    """Links must be well-formed web addresses; plain http gets a warning."""
    targets: list[tuple[str, str, Origin, tuple[str | int, ...]]] = []
    for entry, origin in sources.entries:
        targets.extend((entry.id, link.url, origin, ("links", i, "url"))
                       for i, link in enumerate(entry.links))
    targets.extend((event.id, event.url, origin, ("url",)) for event, origin in sources.events)
    for step, origin in sources.route:
        targets.extend((step.id, link.url, origin, ("links", i, "url"))
                       for i, link in enumerate(step.links))
    for owner, url, origin, at in targets:
        problem = url_problem(url)
        if problem:
            yield Problem(origin.path, origin.line(*at), f"{owner!r} : le lien {url!r} {problem[0]}",
                          "copiez l'adresse complète depuis la barre du navigateur",
                          message_en=f"{owner!r}: link {url!r} {problem[1]}",
                          hint_en="copy the full address from the browser")
        elif url.startswith("http://"):
            yield Problem(origin.path, origin.line(*at),
                          f"{owner!r} : le lien {url!r} n'est pas en https",
                          "utilisez l'adresse en https://",
                          message_en=f"{owner!r}: link {url!r} is not https",
                          hint_en="use the https:// address", severity="warning")


def check_reviews(sources: Sources, today: date) -> Iterator[Problem]:
    """Entries must have been reviewed within a year, and not in the future."""
    for entry, origin in sources.entries:
        if entry.reviewed > today:
            yield Problem(origin.path, origin.line("reviewed"),
                          f"l'entrée {entry.id!r} : le champ 'reviewed' ({entry.reviewed}) est "
                          "dans le futur", "écrivez la date à laquelle vous l'avez vérifiée",
                          message_en=f"entry {entry.id!r}: reviewed date {entry.reviewed} is in "
                          "the future", hint_en="write the date you checked it")
        elif today - entry.reviewed > REVIEW_AGE:
            yield Problem(origin.path, origin.line("reviewed"),
                          f"l'entrée {entry.id!r} : pas relue depuis le {entry.reviewed}, il y a "
                          "plus d'un an", "relisez la réponse, ouvrez ses liens, puis mettez à "
                          "jour `reviewed`",
                          message_en=f"entry {entry.id!r}: not reviewed since {entry.reviewed}",
                          hint_en="check the answer and its links, then update `reviewed`",
                          severity="warning")


def check_events(sources: Sources, today: date) -> Iterator[Problem]:
    """Events must end after they start (unreadable times are reported when reading)."""
    for event, origin in sources.events:
        if event.end < event.start:
            yield Problem(origin.path, origin.line("end"),
                          f"l'événement {event.id!r} se termine avant de commencer",
                          "vérifiez le jour et l'heure de `start` et de `end`",
                          message_en=f"event {event.id!r} ends before it starts",
                          hint_en="check the day and the hour of `start` and `end`")


def check_phrasings(sources: Sources, today: date) -> Iterator[Problem]:
    """A phrasing must belong to one entry only; an entry needs several phrasings."""
    owner: dict[tuple[str, ...], tuple[str, Origin, int]] = {}
    for entry, origin in sources.entries:
        count = len(entry.alternatives)
        if count < MIN_PHRASINGS:
            yield Problem(origin.path, origin.line("alternatives"),
                          f"l'entrée {entry.id!r} n'a que {count} formulation(s) dans "
                          f"'alternatives' (au moins {MIN_PHRASINGS})",
                          "ajoutez les façons dont on pose vraiment la question : SMS, fautes de "
                          "frappe, version courte, version longue, anglais",
                          message_en=f"entry {entry.id!r} has only {count} alternatives",
                          hint_en="add the ways people really ask it: SMS, typos, short, long, "
                          "English", severity="warning")
        phrasings = [("question", entry.question, 0)] + [
            ("alternatives", text, i) for i, text in enumerate(entry.alternatives)]
        for field_name, text, index in phrasings:
            key = content_words(text)
            at = (field_name,) if field_name == "question" else (field_name, index)
            line = origin.line(*at)
            if key in owner and owner[key][0] != entry.id:
                other_id, other_origin, other_line = owner[key]
                other = f"{other_id!r} ({other_origin.path}:{other_line})"
                yield Problem(origin.path, line,
                              f"l'entrée {entry.id!r} : la formulation {text!r} est aussi une "
                              f"formulation de {other}",
                              "gardez-la seulement dans l'entrée qui y répond",
                              message_en=f"entry {entry.id!r}: phrasing {text!r} is also a "
                              f"phrasing of {other}", hint_en="keep it in the entry that answers it")
            owner.setdefault(key, (entry.id, origin, line))


RULES: tuple[Rule, ...] = (
    check_duplicate_ids,
    check_button_ids,
    check_deep_link_ids,
    check_references,
    check_answers,
    check_jargon,
    check_smalltalk_replies,
    check_urls,
    check_reviews,
    check_events,
    check_phrasings,
)


def run_checks(sources: Sources, today: date) -> list[Problem]:
    """Every rule's problems, in rule order."""
    return [problem for rule in RULES for problem in rule(sources, today)]
