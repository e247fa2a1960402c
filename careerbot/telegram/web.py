"""The bot's web side on one port: Telegram's webhook, /healthz, /readyz and /metrics.

An ASGI app (Starlette, served by uvicorn), as in python-telegram-bot's custom-webhook example,
except that a webhook call is answered once its update is handled rather than queued: an
instance that dies with updates in hand never said 200 for them, so Telegram sends them again
(to another instance). A call without the right secret token is refused with 403 before anything
is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

log = logging.getLogger("careerbot.web")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Ready = Callable[[], Awaitable[bool]]
Handle = Callable[[Update], Awaitable[None]]


def web_app(handle: Handle, *, ready: Ready, bot: Bot, webhook_path: str | None = None,
            secret: str | None = None) -> Starlette:
    """Health, readiness and metrics; and the webhook when `webhook_path` is given."""
    expected = (secret or "").encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("webhook call refused: wrong or missing secret token")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            update = Update.de_json(await request.json(), bot)
        except Exception as error:  # unreadable: acknowledged, or Telegram would resend it forever
            log.warning("skipped a webhook update python-telegram-bot cannot read (%s)",
                        type(error).__name__)
            return PlainTextResponse("skipped")
        await handle(update)
        return PlainTextResponse("ok")

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            is_ready = await ready()
        except Exception as error:  # the database does not answer: not ready, and say why
            log.warning("not ready: %s", type(error).__name__)
            is_ready = False
        return PlainTextResponse("ready" if is_ready else "not ready",
                                 status_code=200 if is_ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    if webhook_path:
        routes.append(Route(webhook_path, webhook, methods=["POST"]))
    return Starlette(routes=routes)


async def serving(app: Starlette, listen: tuple[str, int]) -> asyncio.Task[None]:
    """Start serving (until SIGINT or SIGTERM; requests in flight finish first); return once the
    port accepts connections, with the task that ends when the server has stopped.
    """
    host, port = listen
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                    access_log=False, lifespan="off", timeout_graceful_shutdown=10))
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, server.stop)
    task = asyncio.create_task(server.serve(), name="web")
    while not server.started:
        if task.done():  # the port is taken, say: uvicorn has logged why
            await task
            raise SystemExit(f"careerbot: cannot listen on {host}:{port}")
        await asyncio.sleep(0.02)
    log.info("listening on %s:%d", host, port)
    return task


def until_stopped() -> asyncio.Future[None]:
    """Done at SIGINT or SIGTERM: what a worker without web endpoints waits for."""
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[None] = loop.create_future()

    def stop() -> None:
        log.info("stopping")
        if not stopped.done():
            stopped.set_result(None)

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop)
    return stopped


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by our signal handlers: a SIGTERM ends in a clean exit 0.

    uvicorn would re-raise the signal once stopped, killing the process before the bot's own
    shutdown (pending updates, broadcasts in flight) has run.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the handlers `serving` installed."""
        yield

    def stop(self) -> None:
        """Stop taking requests; those in flight finish (up to 10 s)."""
        log.info("stopping: no new requests, finishing those in flight")
        self.should_exit = True
