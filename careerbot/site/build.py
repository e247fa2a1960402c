"""Write the static site: index, one page per theme, events with .ics, QR codes, search index.

Pages are French at the root and English under `en/`; every link between pages is relative, so
the site works from any folder of a web server. Entries are shown through `Conversation`, the
way the bot shows them.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from careerbot import callbacks as cb
from careerbot.calendar import event_ics, ics_filename
from careerbot.conversation import TEXTS as BOT_TEXTS
from careerbot.conversation import Conversation, Reply, format_date
from careerbot.faq import Entry, Event, Faq, FaqError, Problem, Theme
from careerbot.faq_loader import check_directory, load_faq
from careerbot.matching import Matcher, Settings
from careerbot.regions import place_label
from careerbot.site import qr
from careerbot.site.markup import telegram_html
from careerbot.site.texts import TEXTS, long_date
from careerbot.telegram_html import visible_text

LANGS = ("fr", "en")
MARKER = ".careerbot-site"  # marks a folder this module wrote, which a new build may empty


class SiteError(Exception):
    """The site cannot be written where asked; the message says what to do."""
ABOUT_ENTRY = "fp21-association"  # the entry whose first line presents the association


@dataclass(frozen=True, slots=True)
class Link:
    """A button of a bubble: where it goes, and whether it leaves the site."""

    label: str
    href: str
    external: bool = False


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry as its bubble shows it."""

    id: str
    question: str
    answer: Markup
    buttons: tuple[Link, ...]
    details: Markup | None
    details_buttons: tuple[Link, ...]
    deep_link: str
    reviewed: str
    lang: str | None  # set when the text is not in the page's language (no English version)


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as the site lists it."""

    id: str
    title: str
    when: str
    start: str  # ISO 8601, for <time datetime>
    place: str
    description: str
    url: str
    ics: str
    deep_link: str


@dataclass(frozen=True, slots=True)
class QrCode:
    """One printable QR code: its name (the start payload, or "bot"), its URL and its files."""

    name: str
    url: str
    svg: str
    png: str


@dataclass
class Site:
    """What the pages are made of, computed once per build."""

    faq: Faq
    username: str
    now: datetime
    conversation: Conversation
    links: dict[str, str] = field(default_factory=dict)  # start payload -> t.me URL

    @property
    def bot_url(self) -> str:
        """The bot's own t.me page."""
        return f"https://t.me/{self.username}"


def environment() -> jinja2.Environment:
    """The templates of careerbot/site/templates, autoescaped."""
    return jinja2.Environment(loader=jinja2.PackageLoader("careerbot.site", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


def build_site(faq: Faq, out: Path, *, username: str, now: datetime) -> list[Path]:
    """Write the whole site into `out` (emptied first); the files written, relative to `out`."""
    matcher = Matcher(faq, Settings.from_mapping(faq.matching))
    site = Site(faq, username, now, Conversation(faq, matcher, clock=lambda: now))
    site.links = {url.split("?start=", 1)[1]: url for _, url in
                  site.conversation.deep_links(username)}
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise SiteError(f"{out} exists and was not written by `careerbot site build`: choose "
                            "a new or empty folder (nothing was deleted)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("Written by `careerbot site build`; rebuilt from scratch each time.\n",
                              encoding="utf-8")
    written: list[Path] = []

    def write(relative: str, content: str | bytes) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        written.append(Path(relative))

    for asset in ("site.css", "search.js"):
        write(f"assets/{asset}", (resources.files("careerbot.site") / "assets" / asset)
              .read_text(encoding="utf-8"))
    for event in faq.events:
        write(f"events/{ics_filename(event)}", event_ics(event, now=now))
    codes = _qr_codes(site)
    for code in codes:
        image = qr.make(code.url)
        write(code.svg, qr.svg(image))
        write(code.png, qr.png(image))
    env = environment()
    for lang in LANGS:
        prefix = "" if lang == "fr" else "en/"
        root = "" if lang == "fr" else "../"
        for name, template, context in _pages(site, lang, codes):
            other_href = ("en/" if lang == "fr" else "../") + name  # the same page, other language
            page = env.get_template(template).render(
                lang=lang, t=TEXTS[lang], root=root, site=site, page=name, other_href=other_href,
                **context)
            write(prefix + name, page)
        write(prefix + "search-index.json", json.dumps(_search_index(site, lang),
                                                       ensure_ascii=False, separators=(",", ":")))
    return written


def _pages(site: Site, lang: str, codes: list[QrCode]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(file name, template, context) of every page in one language."""
    faq, now = site.faq, site.now
    themes = [_theme_title(theme, lang) for theme in faq.themes]
    counts = [len(faq.theme_entries(theme.id)) for theme in faq.themes]
    upcoming = [_event_view(site, e, lang) for e in faq.upcoming_events(now)]
    past = [_event_view(site, e, lang) for e in faq.past_events(now)]
    yield "index.html", "index.html.j2", {
        "about": _about(site, lang), "themes": list(zip(faq.themes, themes, counts, strict=True)),
        "upcoming": upcoming[:3], "more_events": len(upcoming) > 3 or bool(past)}
    for theme, title in zip(faq.themes, themes, strict=True):
        entries = [_entry_view(site, entry, lang) for entry in faq.theme_entries(theme.id)]
        yield f"theme-{theme.id}.html", "theme.html.j2", {
            "theme": theme, "title": title, "entries": entries, "deep_link":
            site.links[f"theme-{theme.id}"]}
    yield "evenements.html", "events.html.j2", {"upcoming": upcoming, "past": past}
    yield "qr.html", "qr.html.j2", {"codes": _qr_groups(site, lang, codes)}


def _theme_title(theme: Theme, lang: str) -> str:
    return theme.en_title if lang == "en" and theme.en_title else theme.title


def _about(site: Site, lang: str) -> tuple[Markup, Markup, str | None]:
    """The association in two lines: the first line of its entry, then what the bot does."""
    bot_line = BOT_TEXTS[lang]["welcome"].split("\n")[1]
    entry = site.faq.by_id.get(ABOUT_ENTRY)
    if entry is None:
        return telegram_html(BOT_TEXTS[lang]["welcome"].split("\n")[0]), telegram_html(bot_line), None
    answer = entry.en.answer if lang == "en" and entry.en else entry.answer
    return (telegram_html(answer.split("\n")[0]), telegram_html(bot_line),
            f"theme-{entry.theme}.html#{entry.id}")


def _entry_view(site: Site, entry: Entry, lang: str) -> EntryView:
    conversation = site.conversation
    reply = conversation.entry(entry.id, lang)
    details = conversation.details(entry.id, lang) if _has_details(entry, lang) else None
    return EntryView(
        id=entry.id,
        question=entry.en.question if lang == "en" and entry.en else entry.question,
        answer=telegram_html(reply.html),
        buttons=tuple(_buttons(site, reply)),
        details=telegram_html(details.html) if details else None,
        details_buttons=tuple(_buttons(site, details)) if details else (),
        deep_link=site.links[entry.id],
        reviewed=TEXTS[lang]["reviewed"].format(date=long_date(entry.reviewed, lang)),
        lang="fr" if lang == "en" and entry.en is None else None,
    )


def _has_details(entry: Entry, lang: str) -> bool:
    return bool(entry.en.details if lang == "en" and entry.en else entry.details)


def _buttons(site: Site, reply: Reply) -> Iterator[Link]:
    """The reply's buttons that mean something on a page: links, related entries, calendars.

    "Plus de détails" is the details block itself; back and menu are the page's own navigation.
    """
    for row in reply.buttons:
        for button in row:
            if button.url:
                yield Link(button.label, button.url, external=True)
                continue
            match cb.decode(button.action):
                case cb.OpenEntry(entry=entry_id) if entry_id in site.faq.by_id:
                    theme = site.faq.entry(entry_id).theme
                    yield Link(button.label, f"theme-{theme}.html#{entry_id}")
                case cb.Calendar(event=event_id):
                    yield Link(button.label, f"events/{event_id}.ics")


def _event_view(site: Site, event: Event, lang: str) -> EventView:
    place = event.place
    if event.region and place_label(event.region).lower() not in place.lower():
        place = f"{place} ({place_label(event.region)})"
    return EventView(event.id, event.title, format_date(event.start, lang), event.start.isoformat(),
                     place,
                     event.description, event.url, f"events/{ics_filename(event)}",
                     site.links[f"event-{event.id}"])


def _qr_codes(site: Site) -> list[QrCode]:
    """Every QR code the site ships: the bot, the route, each theme and each event."""
    payloads = ["", "parcours", *(f"theme-{t.id}" for t in site.faq.themes),
                *(f"event-{e.id}" for e in site.faq.events)]
    codes = []
    for payload in payloads:
        url = site.links[payload] if payload else site.bot_url
        name = payload or "bot"
        codes.append(QrCode(name, url, f"qr/{name}.svg", f"qr/{name}.png"))
    return codes


def _qr_groups(site: Site, lang: str, codes: list[QrCode]) -> list[tuple[str, list[tuple[str, QrCode]]]]:
    """The QR codes by section, each with the title it is printed under."""
    t = TEXTS[lang]
    by_name = {code.name: code for code in codes}
    upcoming = site.faq.upcoming_events(site.now)
    past = site.faq.past_events(site.now)

    def titled(items: list[tuple[str, str]]) -> list[tuple[str, QrCode]]:
        return [(title, by_name[name]) for title, name in items]

    groups = [
        (t["qr_bot"], titled([(site.username, "bot"), (t["qr_route"], "parcours")])),
        (t["qr_themes"], titled([(f"{th.emoji} {_theme_title(th, lang)}", f"theme-{th.id}")
                                 for th in site.faq.themes])),
        (t["qr_events"], titled([(e.title, f"event-{e.id}") for e in upcoming])),
        (t["qr_past"], titled([(e.title, f"event-{e.id}") for e in past])),
    ]
    return [(title, items) for title, items in groups if items]


# Words the search ignores; the same list is in assets/search.js.
STOP_WORDS = frozenset((
    "le la les l de des du d un une et ou a au aux en pour par sur est c ce ces qu que qui quoi "
    "quel quelle quels comment je j me m mon ma mes on il elle y ne pas se s t tu "
    "the an of to is are what how do does i can for in on my it").split())


def search_words(text: str) -> str:
    """The words of a phrasing as the search compares them (as `words` in assets/search.js):
    lower case, no accents, no punctuation, no stop words.
    """
    plain = unicodedata.normalize("NFD", visible_text(text))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return " ".join(w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in STOP_WORDS)


def _search_index(site: Site, lang: str) -> list[dict[str, Any]]:
    """For each entry: its question, where it is, and the words of every way people ask it in
    the page's language (normalised and deduplicated, to keep the file small).
    """
    index = []
    for entry in site.faq.entries:
        theme = next(t for t in site.faq.themes if t.id == entry.theme)
        if lang == "en" and entry.en:
            question, phrasings = entry.en.question, (entry.en.question, *entry.en.alternatives)
        else:
            question, phrasings = entry.question, (entry.question, *entry.alternatives,
                                                   " ".join(entry.keywords))
        words = [w for w in dict.fromkeys(search_words(p) for p in phrasings) if w]
        index.append({"q": visible_text(question), "theme": _theme_title(theme, lang),
                      "href": f"theme-{entry.theme}.html#{entry.id}", "w": words})
    return index


def checked_faq(directory: Path, *, today: date | None = None) -> tuple[Faq | None, list[Problem]]:
    """The FAQ if `careerbot check` passes it (None otherwise), and every problem check reports."""
    problems = check_directory(directory, today=today)
    if any(p.severity == "error" for p in problems):
        return None, problems
    try:
        faq, _ = load_faq(directory, today=today)
    except FaqError as error:  # a file changed between the check and the load
        return None, error.problems
    return faq, problems
