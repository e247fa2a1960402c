"""What users type may hold their contact details: remove the obvious ones before keeping a text.

Maintainers read unanswered questions to improve the FAQ; they never need an e-mail address or a
phone number, and the user was told nothing about them is kept.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers (06 12 34 56 78, 06.12.34.56.78) and international ones (+33 6 12 34 56 78,
# 0033...); not years, ages or decree numbers ("décret 2021-1257").
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d{1,3}(?:[\s.\-]?\d){8,12}|0\d(?:[\s.\-]?\d{2}){4})(?!\w)")


def scrub(text: str) -> str:
    """The text with e-mail addresses and phone numbers replaced by a placeholder."""
    return PHONE.sub("[téléphone]", EMAIL.sub("[e-mail]", text))
