"""Start `careerbot run` against a Bot API double, as an operator would (e2e tests, benchmarks);
and talk to its web side as Telegram and a monitoring probe do.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careerbot.callbacks import Action, decode
from tests.botapi.server import BotApiDouble, Call, SentMessage

CAREERBOT = Path(sys.executable).parent / "careerbot"


@dataclass(frozen=True)
class RunningBot:
    """A bot process and the file its output goes to."""

    process: subprocess.Popen[str]
    log: Path


def bot_environment(double: BotApiDouble, faq_dir: Path,
                    env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment an operator would set, pointed at the double."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PTB_TIMEDELTA": "true",
            "TELEGRAM_BOT_TOKEN": double.token, "TELEGRAM_API_BASE_URL": double.api_root,
            "CAREERBOT_FAQ_DIR": str(faq_dir), **(env or {})}


def launch_bot(double: BotApiDouble, faq_dir: Path, workdir: Path,
               env: dict[str, str] | None = None, *, args: Sequence[str] = ()) -> RunningBot:
    """Start `careerbot run ARGS` in `workdir`, logging to bot.log there; do not wait."""
    log = workdir / "bot.log"
    with log.open("a") as sink:
        process = subprocess.Popen([str(CAREERBOT), "run", *args],
                                   env=bot_environment(double, faq_dir, env), cwd=workdir,
                                   stdout=sink, stderr=subprocess.STDOUT, text=True)
    return RunningBot(process, log)


def start_bot(double: BotApiDouble, faq_dir: Path, workdir: Path,
              env: dict[str, str] | None = None, *, until: str = "getUpdates") -> RunningBot:
    """Start the bot in `workdir` and wait until it polls for updates (or calls `until`)."""
    mark = len(double.calls)
    bot = launch_bot(double, faq_dir, workdir, env)
    try:
        double.wait_for(lambda c: c.method == until, timeout=30, since=mark)
    except AssertionError:
        stop_bot(bot.process)
        raise
    return bot


def stop_bot(process: subprocess.Popen[str]) -> None:
    """SIGINT (a clean stop), then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_bot(double: BotApiDouble, faq_dir: Path, workdir: Path,
                env: dict[str, str] | None = None, *,
                until: str = "getUpdates") -> Iterator[RunningBot]:
    """Run the bot for the block; then check its log holds no token and no traceback."""
    bot = start_bot(double, faq_dir, workdir, env, until=until)
    try:
        yield bot
    finally:
        stop_bot(bot.process)
    logs = bot.log.read_text()
    assert double.token not in logs, "the token leaked into the logs"
    assert "Traceback" not in logs, logs


def free_port() -> int:
    """A local port nobody listens on yet."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post_update(url: str, body: dict[str, Any], secret: str | None) -> int:
    """POST an update to a webhook like Telegram does (the secret token in its header, unless
    None); the HTTP status.
    """
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def http_get(url: str) -> tuple[int, str]:
    """GET a page: status and text."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def stop_all(processes: dict[str, subprocess.Popen[str]]) -> dict[str, int]:
    """SIGTERM to every running process at once, as a platform stops a deployment (SIGKILL to one
    that lingers past 15 s); the exit codes of those that were running.
    """
    running = {name: process for name, process in processes.items() if process.poll() is None}
    for process in running.values():
        process.send_signal(signal.SIGTERM)
    for process in running.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {name: process.returncode for name, process in running.items()}


def subscribe_all(url: str, chats: Sequence[int]) -> None:
    """Subscribers to every announcement written straight to a database (migrated first), in one
    transaction: thousands in a second.
    """
    import asyncio
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from careerbot.storage.database import migrate, open_engine
    from careerbot.storage.models import Subscriber, Subscription

    async def write() -> None:
        engine = open_engine(url)
        try:
            await migrate(engine)
            now = datetime.now(UTC)
            async with engine.begin() as connection:
                await connection.execute(insert(Subscriber), [
                    {"chat_id": chat, "language": "fr", "created_at": now} for chat in chats])
                await connection.execute(insert(Subscription), [
                    {"chat_id": chat, "topic": "all"} for chat in chats])
        finally:
            await engine.dispose()
    asyncio.run(write())


def press(double: BotApiDouble, user: int, message_id: int, data: str) -> Call:
    """Press a button and wait until the bot answered the query (it does so last): that answer."""
    mark = len(double.calls)
    double.press_button(user, message_id, data)
    return double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


def shown(double: BotApiDouble, chat: int, message_id: int) -> SentMessage:
    """A bot message as it reads now."""
    return next(m for m in double.messages_to(chat) if m.message_id == message_id)


def payload(double: BotApiDouble, chat: int, message_id: int, kind: type[Action],
            **fields: object) -> str:
    """The callback data of the message's button of this kind (and these arguments)."""
    for data in shown(double, chat, message_id).callback_data:
        action = decode(data)
        if isinstance(action, kind) and all(getattr(action, k) == v for k, v in fields.items()):
            return data
    raise AssertionError(f"no {kind.__name__} button on message {message_id}")
