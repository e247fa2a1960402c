"""Whole numbers typed by people or carried in button payloads: ASCII digits only.

`str.isdigit()` accepts "²" and other Unicode digits that `int()` then refuses, so every parser of
callback data, settings and terminal choices goes through `ascii_int`.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")


def ascii_int(text: str, *, signed: bool = False) -> int | None:
    """The number written in ASCII digits (with an optional leading "-" if `signed`), else None."""
    return int(text) if (_SIGNED if signed else _WHOLE).fullmatch(text) else None
