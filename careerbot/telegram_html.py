"""The subset of HTML that Telegram's `parse_mode=HTML` accepts, checked without Telegram.

Used by the FAQ checker (so a maintainer learns about a `<br>` before users do) and by the Bot API
test double (so a reply Telegram would refuse fails the tests).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

MESSAGE_LIMIT = 4096  # characters of visible text in one message, after entity parsing

# Tag -> attributes Telegram accepts on it.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(), "strong": frozenset(), "i": frozenset(), "em": frozenset(),
    "u": frozenset(), "ins": frozenset(), "s": frozenset(), "strike": frozenset(),
    "del": frozenset(), "span": frozenset({"class"}), "tg-spoiler": frozenset(),
    "a": frozenset({"href"}), "code": frozenset({"class"}), "pre": frozenset(),
    "blockquote": frozenset({"expandable"}), "tg-emoji": frozenset({"emoji-id"}),
}

_BARE_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_BARE_LESS_THAN = re.compile(r"<(?![a-zA-Z/])")


@dataclass(frozen=True, slots=True)
class HtmlError:
    """One thing Telegram would refuse: in English, and in French with its fix on its own."""

    en: str  # e.g. "the 1st <b> is never closed (add </b>)"
    fr: str  # e.g. "la 1re balise <b> n'est jamais fermée"
    fix_fr: str  # e.g. "ajoutez </b>"
    line: int  # its line in the text (1-based)


@dataclass(frozen=True, slots=True)
class HtmlReport:
    """What Telegram would think of a text: its errors and its visible length."""

    problems: tuple[HtmlError, ...]
    visible_length: int

    @property
    def errors(self) -> tuple[str, ...]:
        """The errors in English."""
        return tuple(problem.en for problem in self.problems)


_ALLOWED_FR = "Telegram n'accepte que b, i, u, s, a, code, pre, blockquote et tg-spoiler"


class _TelegramHtmlParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[HtmlError] = []
        self.stack: list[str] = []
        self.opened: list[tuple[str, int, int]] = []  # (tag, its rank among that tag, line)
        self.counts: dict[str, int] = {}
        self.text: list[str] = []

    def error(self, en: str, fr: str, fix_fr: str) -> None:
        self.problems.append(HtmlError(en, fr, fix_fr, self.getpos()[0]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = " (use a plain line break)" if tag in {"br", "p", "div"} else ""
            self.error(f"tag <{tag}> is not supported by Telegram{hint}",
                       f"la balise <{tag}> n'est pas acceptée par Telegram", _replacement(tag))
            return
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.error(f"attribute {name!r} is not allowed on <{tag}>",
                           f"l'attribut {name!r} n'est pas accepté sur <{tag}>", "retirez-le")
            elif tag == "span" and value != "tg-spoiler":
                self.error('<span> needs class="tg-spoiler"',
                           '<span> doit avoir class="tg-spoiler"',
                           'écrivez <span class="tg-spoiler"> ou <tg-spoiler>')
        if tag == "a" and not dict(attrs).get("href"):
            self.error("<a> needs an href", "la balise <a> n'a pas d'adresse",
                       'écrivez <a href="https://...">')
        self.stack.append(tag)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.opened.append((tag, self.counts[tag], self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.error(f"self-closing <{tag}/> is not supported by Telegram",
                   f"la balise <{tag}/> n'est pas acceptée par Telegram", _replacement(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.error(f"tag </{tag}> is not supported by Telegram",
                       f"la balise </{tag}> n'est pas acceptée par Telegram", "retirez-la")
        elif not self.stack:
            self.error(f"</{tag}> does not match the open tags (expected no closing tag)",
                       f"</{tag}> ferme une balise qui n'a pas été ouverte",
                       f"retirez-la, ou ajoutez <{tag}> avant")
        elif self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>"
            self.error(f"</{tag}> does not match the open tags (expected {expected})",
                       f"</{tag}> ne ferme pas la dernière balise ouverte",
                       f"fermez d'abord {expected} : les balises se ferment dans l'ordre inverse "
                       "de leur ouverture")
        else:
            self.stack.pop()
            self.opened.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _replacement(tag: str) -> str:
    """In French, what to write instead of a tag Telegram refuses."""
    if tag in {"br", "p", "div"}:
        return "remplacez-la par un simple retour à la ligne"
    if tag in {"ul", "ol", "li"}:
        return "retirez-la et commencez chaque ligne par une puce « • »"
    return f"retirez-la : {_ALLOWED_FR}"


def check_html(text: str) -> HtmlReport:
    """Check a text against Telegram's HTML rules and measure what the reader will see."""
    parser = _TelegramHtmlParser()
    parser.feed(text)
    parser.close()
    problems = list(parser.problems)
    for tag, rank, line in parser.opened:
        problems.append(HtmlError(f"the {_ordinal(rank)} <{tag}> is never closed (add </{tag}>)",
                                  f"la {rank}{'re' if rank == 1 else 'e'} balise <{tag}> n'est "
                                  "jamais fermée", f"ajoutez </{tag}>", line))
    for pattern, char, entity in ((_BARE_AMPERSAND, "&", "&amp;"), (_BARE_LESS_THAN, "<", "&lt;")):
        found = pattern.search(text)
        if found:
            problems.append(HtmlError(f"bare '{char}' (write {entity})",
                                      f"un « {char} » seul n'est pas accepté par Telegram",
                                      f"écrivez {entity}", text.count("\n", 0, found.start()) + 1))
    visible = "".join(parser.text)
    return HtmlReport(tuple(problems), utf16_length(visible))


def _ordinal(rank: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(rank, f"{rank}th")


def visible_text(text: str) -> str:
    """The text a reader sees once Telegram has parsed the HTML."""
    parser = _TelegramHtmlParser()
    parser.feed(text)
    parser.close()
    return "".join(parser.text)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape user text before it goes back inside an HTML message."""
    return html.escape(text, quote=False)
