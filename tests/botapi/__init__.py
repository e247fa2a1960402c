"""A local Telegram Bot API test double that holds every request to the spec.

See ``server.py`` for the public API; ``spec.py`` for the checks; ``rules.py`` and
``formatting.py`` for the limits the spec states only in prose.
"""

from tests.botapi.server import ApiError, BotApiDouble, Call, SentMessage, chosen
from tests.botapi.spec import Spec, UploadedFile

__all__ = ["ApiError", "BotApiDouble", "Call", "SentMessage", "Spec", "UploadedFile", "chosen"]
