"""What users type may hold their contact details: remove the obvious ones before keeping a text.

Maintainers read unanswered questions to improve the FAQ; they never need an e-mail address or a
phone number, and the user was told nothing about them is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

TAG_KEPT = timedelta(days=30)  # how long a question or a rating stays linked to its user

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers (06 12 34 56 78, 06.12.34.56.78) and international ones (+33 6 12 34 56 78,
# 0033...); not years, ages or decree numbers ("décret 2021-1257").
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\d{1,3}(?:[\s.\-]?\d){8,12}|0\d(?:[\s.\-]?\d{2}){4})(?!\w)")


def scrub(text: str) -> str:
    """The text with e-mail addresses and phone numbers replaced by a placeholder."""
    return PHONE.sub("[téléphone]", EMAIL.sub("[e-mail]", text))


def user_tag(user_id: int, key: str) -> str:
    """A one-way tag of a user: the same for the same user, but no way back to the id.

    It is keyed with a secret of the deployment (the bot token): the tag of a known id cannot be
    computed without it.
    """
    return hmac.new(key.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:32]
