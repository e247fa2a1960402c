"""Telegram's "Formatting options", written by hand: what ``parse_mode=HTML`` accepts.

Independent of careerbot's own HTML helper on purpose: the double must judge the bot, not share
its mistakes. The rules come from https://core.telegram.org/bots/api#html-style:

- supported tags: b, strong, i, em, u, ins, s, strike, del, span (only with
  ``class="tg-spoiler"``), tg-spoiler, a (``href``), code (optional ``class="language-..."``),
  pre, blockquote (optional ``expandable``), tg-emoji (``emoji-id``);
- tags must be balanced and properly nested;
- "All <, > and & symbols that are not a part of a tag or an HTML entity must be replaced with the
  corresponding HTML entities"; only ``&lt; &gt; &amp; &quot;`` and numeric entities are supported.
  A bare ``&`` or ``<`` in the text is refused; a bare ``&`` inside an attribute value (a URL's
  query string) is part of a tag and accepted; a bare ``>`` is tolerated, as Telegram does.

Lengths are counted in UTF-16 code units, as Telegram counts entity offsets. Error messages copy
Telegram's wording ("can't parse entities: Unsupported start tag "br" at byte offset 5") so a bot
that matches on it behaves as it will in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Tag -> attributes Telegram reads on it. Telegram silently ignores other attributes; the double
# refuses them, because an ignored attribute is always a sign the author expected something else.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(), "strong": frozenset(),
    "i": frozenset(), "em": frozenset(),
    "u": frozenset(), "ins": frozenset(),
    "s": frozenset(), "strike": frozenset(), "del": frozenset(),
    "span": frozenset({"class"}), "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}), "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}

# Tag -> the MessageEntity type it produces.
ENTITY_OF_TAG: dict[str, str] = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}

PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}

_TAG = re.compile(
    r"<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)"
    r"(?P<attrs>(?:\s+[^\s=>/\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)"
    r"\s*(?P<self>/?)>"
)
_ATTR = re.compile(
    r"\s+(?P<name>[^\s=>/\"']+)"
    r"(?:\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s>\"']+)))?"
)
_ENTITY = re.compile(r"&(?:(?P<named>lt|gt|amp|quot)|#(?P<dec>[0-9]{1,7})|#[xX](?P<hex>[0-9a-fA-F]{1,6}));")
_ANY_NAMED = re.compile(r"&[a-zA-Z][a-zA-Z0-9]*;")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class ParsedText:
    """A text after entity parsing: what the reader sees, its entities, and parse errors."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Visible length in UTF-16 code units, without the whitespace Telegram trims."""
        return utf16_len(self.text.strip())


@dataclass
class _Open:
    tag: str
    offset: int  # UTF-16 offset in the output where the tag's content starts
    attrs: dict[str, str | None]
    byte_offset: int


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entities(value: str, errors: list[str], source: str, start: int) -> str:
    """Decode the HTML entities of an attribute value.

    A bare '&' inside a tag is "part of a tag" (a URL's query string), so it stays as it is.
    """
    return _ENTITY.sub(lambda match: _entity_char(match, errors, source, start), value)


def _entity_char(match: re.Match[str], errors: list[str], source: str, start: int) -> str:
    if match["named"]:
        return _NAMED[match["named"]]
    code = int(match["dec"]) if match["dec"] else int(match["hex"], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        errors.append(f"can't parse entities: invalid character entity {match[0]!r} at byte offset "
                      f"{_byte_offset(source, start)}")
        return ""
    return chr(code)


def _check_attrs(tag: str, attrs: dict[str, str | None], where: str, errors: list[str]) -> None:
    for name in attrs:
        if name not in ALLOWED_TAGS[tag]:
            errors.append(f"can't parse entities: attribute {name!r} is not supported on <{tag}> {where}")
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        errors.append(f"can't parse entities: Tag \"span\" must have class \"tg-spoiler\" {where}")
    if tag == "a" and not attrs.get("href"):
        errors.append(f"can't parse entities: <a> needs a non-empty href {where}")
    if tag == "code" and "class" in attrs and not (attrs["class"] or "").startswith("language-"):
        errors.append(f"can't parse entities: <code> class must be \"language-...\" {where}")
    if tag == "tg-emoji" and not (attrs.get("emoji-id") or "").isdigit():
        errors.append(f"can't parse entities: <tg-emoji> needs a numeric emoji-id {where}")


def _entity(opened: _Open, end: int, stack: list[_Open]) -> dict[str, Any] | None:
    length = end - opened.offset
    if length <= 0:
        return None
    kind = ENTITY_OF_TAG[opened.tag]
    entity: dict[str, Any] = {"type": kind, "offset": opened.offset, "length": length}
    if kind == "text_link":
        entity["url"] = opened.attrs.get("href") or ""
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = opened.attrs.get("emoji-id") or ""
    elif kind == "blockquote" and "expandable" in opened.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and stack and stack[-1].tag == "pre" and stack[-1].offset == opened.offset:
        # <pre><code class="language-x"> is one pre entity with a language.
        language = (opened.attrs.get("class") or "").removeprefix("language-")
        if language:
            stack[-1].attrs["_language"] = language
        return None
    elif kind == "pre" and opened.attrs.get("_language"):
        entity["language"] = opened.attrs["_language"]
    return entity


def parse_html(source: str) -> ParsedText:
    """Parse a ``parse_mode=HTML`` text as Telegram does: visible text, entities and errors."""
    out: list[str] = []
    out_len = 0  # UTF-16 length of "".join(out)
    entities: list[dict[str, Any]] = []
    errors: list[str] = []
    stack: list[_Open] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            match = _TAG.match(source, i)
            where = f"at byte offset {_byte_offset(source, i)}"
            if match is None:
                errors.append(f"can't parse entities: bare \"<\" {where} does not start a supported tag"
                              " (write &lt;)")
                out.append("<")
                out_len += 1
                i += 1
                continue
            i = match.end()
            tag = match["name"].lower()
            if match["close"]:
                if not stack:
                    errors.append(f"can't parse entities: Unexpected end tag \"</{tag}>\" {where}")
                elif stack[-1].tag != tag:
                    errors.append(f"can't parse entities: Unmatched end tag {where}, expected "
                                  f"\"</{stack[-1].tag}>\", found \"</{tag}>\"")
                else:
                    opened = stack.pop()
                    entity = _entity(opened, out_len, stack)
                    if entity is not None:
                        entities.append(entity)
                continue
            if tag not in ALLOWED_TAGS:
                hint = " (use a newline)" if tag in {"br", "p", "div"} else ""
                errors.append(f"can't parse entities: Unsupported start tag \"{tag}\" {where}{hint}")
                continue
            attrs: dict[str, str | None] = {}
            for attr in _ATTR.finditer(match["attrs"]):
                raw = attr["dq"] if attr["dq"] is not None else attr["sq"] if attr["sq"] is not None \
                    else attr["bare"]
                attrs[attr["name"].lower()] = None if raw is None else _decode_entities(
                    raw, errors, source, match.start())
            _check_attrs(tag, attrs, where, errors)
            if match["self"]:
                errors.append(f"can't parse entities: self-closing tag <{tag}/> {where} is not supported")
                continue
            stack.append(_Open(tag, out_len, attrs, _byte_offset(source, match.start())))
        elif char == "&":
            match = _ENTITY.match(source, i)
            named = _ANY_NAMED.match(source, i)
            if match is None and named is not None:
                errors.append(f"can't parse entities: unsupported HTML entity \"{named[0]}\" at byte offset "
                              f"{_byte_offset(source, i)} (only &lt; &gt; &amp; &quot; and &#NNN;)")
            elif match is None:
                errors.append(f"can't parse entities: bare \"&\" at byte offset {_byte_offset(source, i)}"
                              " (write &amp;)")
            if match is None:
                decoded = "&"
                i += 1
            else:
                decoded = _entity_char(match, errors, source, i)
                i = match.end()
            out.append(decoded)
            out_len += utf16_len(decoded)
        else:
            end = i
            while end < len(source) and source[end] not in "<&":
                end += 1
            out.append(source[i:end])
            out_len += utf16_len(source[i:end])
            i = end
    errors.extend(f"can't parse entities: Can't find end tag corresponding to start tag \"{opened.tag}\""
                  for opened in stack)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities, errors)


def parse_text(text: str, parse_mode: str | None, entities: list[Any] | None = None) -> ParsedText:
    """Parse a text with the given parse_mode (HTML fully; Markdown modes by length only)."""
    if entities is not None or not parse_mode:
        # Explicit entities are "specified instead of parse_mode": Telegram ignores parse_mode then.
        parsed = ParsedText(text, [dict(e) for e in entities or [] if isinstance(e, dict)])
        limit = utf16_len(text)
        for index, entity in enumerate(parsed.entities):
            offset, length = entity.get("offset"), entity.get("length")
            if isinstance(offset, int) and isinstance(length, int) and (
                    offset < 0 or length <= 0 or offset + length > limit):
                parsed.errors.append(f"entity {index} ({entity.get('type')}) lies outside the text "
                                     f"(offset {offset}, length {length}, text length {limit})")
        return parsed
    mode = PARSE_MODES.get(parse_mode.lower())
    if mode is None:
        return ParsedText(text, errors=[f"unsupported parse_mode {parse_mode!r}"])
    if mode == "HTML":
        return parse_html(text)
    # MarkdownV2/Markdown are not parsed: the length of the raw text is an upper bound.
    return ParsedText(text)
