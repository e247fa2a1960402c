"""The HTTP clients that talk to the Bot API, sharing one TLS context, with JSON bodies.

httpx builds a TLS context for each client, loading the whole CA bundle every time (tens of
milliseconds of CPU); a start makes four clients (the token check, then replies and polling).
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import TYPE_CHECKING

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput  # the library's own type of a timeout argument

JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS context httpx would build (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context()


class JsonBodyRequest(HTTPXRequest):
    """python-telegram-bot's HTTPXRequest, sending a request without files as one JSON body.

    httpx form-encodes a body by percent-encoding it byte after byte in Python: 0.21 ms for an
    answer with its links and buttons, against 0.07 ms for the same parameters as JSON
    (python-telegram-bot's own `RequestData.json_payload`). The Bot API takes both
    ("application/json (except for uploading files)"); uploads keep the library's multipart
    path. Timeouts and errors are mapped as the library maps them.
    """

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        """As the library's, but with a JSON body unless there is a file to upload."""
        if request_data is None or request_data.multipart_data:
            return await super().do_request(url, method, request_data, read_timeout,
                                            write_timeout, connect_timeout, pool_timeout)
        default = self._client.timeout
        timeout = httpx.Timeout(connect=_or(connect_timeout, default.connect),
                                read=_or(read_timeout, default.read),
                                write=_or(write_timeout, default.write),
                                pool=_or(pool_timeout, default.pool))
        try:
            response = await self._client.request(method, url, content=request_data.json_payload,
                                                   headers=JSON_HEADERS, timeout=timeout)
        except httpx.PoolTimeout as error:
            raise TimedOut("Pool timeout: All connections in the connection pool are occupied. "
                           "Request was *not* sent to Telegram. Consider adjusting the connection "
                           "pool size or the pool timeout.") from error
        except httpx.TimeoutException as error:
            raise TimedOut from error
        except httpx.HTTPError as error:
            raise NetworkError(f"httpx.{error.__class__.__name__}: {error}") from error
        return response.status_code, response.content


def _or(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout given to one call, else the client's."""
    return default if isinstance(value, DefaultValue) else value


def bot_api_request(pool: int = 1) -> HTTPXRequest:
    """A Bot API client with `pool` connections (as python-telegram-bot's defaults otherwise)."""
    return JsonBodyRequest(connection_pool_size=pool, httpx_kwargs={"verify": tls_context()})
