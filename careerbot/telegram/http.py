"""The HTTP clients that talk to the Bot API, sharing one TLS context.

httpx builds a TLS context for each client, loading the whole CA bundle every time (tens of
milliseconds of CPU); a start makes four clients (the token check, then replies and polling).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx
from telegram.request import HTTPXRequest


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS context httpx would build (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context()


def bot_api_request(pool: int = 1) -> HTTPXRequest:
    """A Bot API client with `pool` connections (as python-telegram-bot's defaults otherwise)."""
    return HTTPXRequest(connection_pool_size=pool, httpx_kwargs={"verify": tls_context()})
