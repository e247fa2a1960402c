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
class HtmlReport:
    """What Telegram would think of a text: its errors and its visible length."""

    errors: tuple[str, ...]
    visible_length: int
    lines: tuple[int, ...] = ()  # for each error, its line in the text (1-based; 0: the whole text)


class _TelegramHtmlParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []
        self.lines: list[int] = []
        self.stack: list[str] = []
        self.opened: list[tuple[str, int, int]] = []  # (tag, its rank among that tag, line)
        self.counts: dict[str, int] = {}
        self.text: list[str] = []

    def error(self, message: str) -> None:
        self.error(message)
        self.lines.append(self.getpos()[0])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = " (use a plain line break)" if tag in {"br", "p", "div"} else ""
            self.error(f"tag <{tag}> is not supported by Telegram{hint}")
            return
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.error(f"attribute {name!r} is not allowed on <{tag}>")
            elif tag == "span" and value != "tg-spoiler":
                self.error('<span> needs class="tg-spoiler"')
        if tag == "a" and not dict(attrs).get("href"):
            self.error("<a> needs an href")
        self.stack.append(tag)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.opened.append((tag, self.counts[tag], self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.error(f"self-closing <{tag}/> is not supported by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.error(f"tag </{tag}> is not supported by Telegram")
        elif not self.stack or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if self.stack else "no closing tag"
            self.error(f"</{tag}> does not match the open tags (expected {expected})")
        else:
            self.stack.pop()
            self.opened.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(text: str) -> HtmlReport:
    """Check a text against Telegram's HTML rules and measure what the reader will see."""
    parser = _TelegramHtmlParser()
    parser.feed(text)
    parser.close()
    errors, lines = list(parser.errors), list(parser.lines)
    for tag, rank, line in parser.opened:
        errors.append(f"the {_ordinal(rank)} <{tag}> is never closed (add </{tag}>)")
        lines.append(line)
    for pattern, message in ((_BARE_AMPERSAND, "bare '&' (write &amp;)"),
                             (_BARE_LESS_THAN, "bare '<' (write &lt;)")):
        found = pattern.search(text)
        if found:
            errors.append(message)
            lines.append(text.count("\n", 0, found.start()) + 1)
    visible = "".join(parser.text)
    return HtmlReport(tuple(errors), utf16_length(visible), tuple(lines))


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
