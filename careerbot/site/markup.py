"""Telegram's HTML subset turned into safe web HTML, as Telegram would display it.

The checker already refuses anything outside the subset; this is the second lock: whatever the
text holds, only the subset's tags come out, every other character is escaped, and links keep
http(s) targets only.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from markupsafe import Markup

# Telegram tag -> (web tag, fixed attributes).
_TAGS: dict[str, tuple[str, str]] = {
    "b": ("strong", ""), "strong": ("strong", ""), "i": ("em", ""), "em": ("em", ""),
    "u": ("u", ""), "ins": ("u", ""), "s": ("s", ""), "strike": ("s", ""), "del": ("s", ""),
    "code": ("code", ""), "pre": ("pre", ""), "blockquote": ("blockquote", ""),
    "tg-spoiler": ("span", ' class="spoiler"'), "span": ("span", ' class="spoiler"'),
    "tg-emoji": ("span", ""), "a": ("a", ""),
}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            return
        web, fixed = _TAGS[tag]
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("https://", "http://")):
                web, fixed = "span", ""
            else:
                fixed = f' href="{html.escape(href)}" rel="noopener"'
        self.out.append(f"<{web}{fixed}>")
        self.open.append(web)

    def handle_endtag(self, tag: str) -> None:
        if tag in _TAGS and self.open:
            self.out.append(f"</{self.open.pop()}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))


def telegram_html(text: str) -> Markup:
    """Web HTML showing a Telegram HTML text (line breaks are kept by the bubble's CSS)."""
    converter = _Converter()
    converter.feed(text)
    converter.close()
    converter.out.extend(f"</{tag}>" for tag in reversed(converter.open))
    return Markup("".join(converter.out))
