"""The rules a FAQ must follow beyond its schema, each reporting located problems with a fix.

Each rule is a function `(sources, today) -> Iterator[Problem]`; `RULES` lists them in the order a
maintainer would want to read their output. Clashes need the matcher and live in `clashes.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit

from rapidfuzz import process

from careerbot.faq import Problem
from careerbot.faq_files import Origin, Sources
from careerbot.normalize import content_words
from careerbot.telegram_html import MESSAGE_LIMIT, check_html

PHONE_LIMIT = 1000  # visible characters: beyond this an answer no longer fits a phone screen
ANSWER_LIMIT = MESSAGE_LIMIT - 400  # room for the links line and event footer under an answer
REVIEW_AGE = timedelta(days=365)
MIN_PHRASINGS = 5

HTML_HINT = "Telegram accepts only b, i, u, s, a, code, pre, blockquote, tg-spoiler; escape & as &amp;"

Rule = Callable[[Sources, date], Iterator[Problem]]


def check_duplicate_ids(sources: Sources, today: date) -> Iterator[Problem]:
    """Ids must be unique: each duplicate names both places."""
    for kind, records in (("entry", sources.entries), ("theme", sources.themes),
                          ("event", sources.events), ("small talk", sources.smalltalk)):
        first: dict[str, Origin] = {}
        for record, origin in records:
            if record.id in first:
                seen = first[record.id]
                yield Problem(origin.path, origin.line("id"),
                              f"duplicate {kind} id {record.id!r}, already used at "
                              f"{seen.path}:{seen.line('id')}", "rename one of them")
            else:
                first[record.id] = origin


def check_references(sources: Sources, today: date) -> Iterator[Problem]:
    """`related` ids, event references and file themes must point at something that exists."""
    if sources.unparsed:
        return  # ids in the unreadable file are unknown: reporting references would mislead
    entry_ids = {entry.id for entry, _ in sources.entries} | sources.invalid_ids
    theme_ids = {theme.id for theme, _ in sources.themes}
    for entry, origin in sources.entries:
        for index, target in enumerate(entry.related):
            if target == entry.id:
                yield Problem(origin.path, origin.line("related", index),
                              f"entry {entry.id!r} lists itself in related", "remove it")
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
    if sources.themes:
        for path, (theme, origin) in sources.theme_of_file.items():
            if theme not in theme_ids:
                yield Problem(path, origin.line(), f"unknown theme {theme!r}",
                              "use one of: " + ", ".join(sorted(theme_ids)))


def _unknown_entry(origin: Origin, at: tuple[str, int], owner: str, target: str,
                   known: set[str]) -> Problem:
    guess = process.extractOne(target, sorted(known)) if known else None
    hint = f"did you mean {guess[0]!r}?" if guess and guess[1] >= 75 else "check the id"
    return Problem(origin.path, origin.line(*at),
                   f"{owner!r} refers to unknown entry {target!r}", hint)


def check_answers(sources: Sources, today: date) -> Iterator[Problem]:
    """Answers must be HTML Telegram accepts and fit a message; long ones get a warning."""
    for entry, origin in sources.entries:
        answers = [("answer", entry.answer)]
        if entry.en:
            answers.append(("en", entry.en.answer))
        for field_name, text in answers:
            line = origin.line(field_name, "answer") if field_name == "en" else origin.line("answer")
            report = check_html(text)
            for error in report.errors:
                yield Problem(origin.path, line, f"entry {entry.id!r}: answer HTML: {error}",
                              HTML_HINT)
            if report.visible_length > ANSWER_LIMIT:
                yield Problem(origin.path, line,
                              f"entry {entry.id!r}: answer is {report.visible_length} characters, "
                              f"too long for one Telegram message", f"cut it under {ANSWER_LIMIT}")
            elif report.visible_length > PHONE_LIMIT:
                yield Problem(origin.path, line,
                              f"entry {entry.id!r}: answer is {report.visible_length} characters, "
                              "long to read on a phone",
                              f"keep the essential under {PHONE_LIMIT} and link to the rest",
                              severity="warning")


def check_smalltalk_replies(sources: Sources, today: date) -> Iterator[Problem]:
    """Small-talk replies and route texts are sent as HTML too: Telegram must accept them."""
    for talk, origin in sources.smalltalk:
        for field_name, replies in (("replies", talk.replies), ("en_replies", talk.en_replies)):
            for index, reply in enumerate(replies):
                for error in check_html(reply).errors:
                    yield Problem(origin.path, origin.line(field_name, index),
                                  f"small talk {talk.id!r}: reply HTML: {error}", HTML_HINT)
    for step, origin in sources.route:
        for field_name, text in (("text", step.text), ("en_text", step.en_text or "")):
            for error in check_html(text).errors:
                yield Problem(origin.path, origin.line(field_name),
                              f"route step {step.id!r}: HTML: {error}", HTML_HINT)


def url_problem(url: str) -> str | None:
    """What is wrong with a web address, or None if it looks right."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return "must start with https://"
    if not parts.hostname or "." not in parts.hostname or parts.hostname.endswith("."):
        return "has no valid host name"
    if any(ch.isspace() for ch in url) or "<" in url or ">" in url or '"' in url:
        return "contains spaces or quotes"
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
            yield Problem(origin.path, origin.line(*at), f"{owner!r}: link {url!r} {problem}",
                          "copy the full address from the browser")
        elif url.startswith("http://"):
            yield Problem(origin.path, origin.line(*at), f"{owner!r}: link {url!r} is not https",
                          "use the https:// address", severity="warning")


def check_reviews(sources: Sources, today: date) -> Iterator[Problem]:
    """Entries must have been reviewed within a year, and not in the future."""
    for entry, origin in sources.entries:
        if entry.reviewed > today:
            yield Problem(origin.path, origin.line("reviewed"),
                          f"entry {entry.id!r}: reviewed date {entry.reviewed} is in the future",
                          "write the date you checked it")
        elif today - entry.reviewed > REVIEW_AGE:
            yield Problem(origin.path, origin.line("reviewed"),
                          f"entry {entry.id!r}: not reviewed since {entry.reviewed}",
                          "check the answer and its links, then update `reviewed`",
                          severity="warning")


def check_events(sources: Sources, today: date) -> Iterator[Problem]:
    """Events must end after they start (unreadable times are reported when reading)."""
    for event, origin in sources.events:
        if event.end < event.start:
            yield Problem(origin.path, origin.line("end"),
                          f"event {event.id!r} ends before it starts",
                          "check the day and the hour of `start` and `end`")


def check_phrasings(sources: Sources, today: date) -> Iterator[Problem]:
    """A phrasing must belong to one entry only; an entry needs several phrasings."""
    owner: dict[tuple[str, ...], tuple[str, Origin, int]] = {}
    for entry, origin in sources.entries:
        if len(entry.alternatives) < MIN_PHRASINGS:
            yield Problem(origin.path, origin.line("alternatives"),
                          f"entry {entry.id!r} has only {len(entry.alternatives)} alternatives",
                          "add the ways people really ask it: SMS, typos, short, long, English",
                          severity="warning")
        phrasings = [("question", entry.question, 0)] + [
            ("alternatives", text, i) for i, text in enumerate(entry.alternatives)]
        for field_name, text, index in phrasings:
            key = content_words(text)
            at = (field_name,) if field_name == "question" else (field_name, index)
            line = origin.line(*at)
            if key in owner and owner[key][0] != entry.id:
                other_id, other_origin, other_line = owner[key]
                yield Problem(origin.path, line,
                              f"entry {entry.id!r}: phrasing {text!r} is also a phrasing of "
                              f"{other_id!r} ({other_origin.path}:{other_line})",
                              "keep it in the entry that answers it")
            owner.setdefault(key, (entry.id, origin, line))


RULES: tuple[Rule, ...] = (
    check_duplicate_ids,
    check_references,
    check_answers,
    check_smalltalk_replies,
    check_urls,
    check_reviews,
    check_events,
    check_phrasings,
)


def run_checks(sources: Sources, today: date) -> list[Problem]:
    """Every rule's problems, in rule order."""
    return [problem for rule in RULES for problem in rule(sources, today)]
