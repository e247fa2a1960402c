"""Start `careerbot run` against a Bot API double, as an operator would (e2e tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.botapi.server import BotApiDouble

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


def start_bot(double: BotApiDouble, faq_dir: Path, workdir: Path,
              env: dict[str, str] | None = None, *, until: str = "getUpdates") -> RunningBot:
    """Start the bot in `workdir` and wait until it polls for updates (or calls `until`)."""
    mark = len(double.calls)
    log = workdir / "bot.log"
    with log.open("a") as sink:
        process = subprocess.Popen([str(CAREERBOT), "run"], env=bot_environment(double, faq_dir, env),
                                   cwd=workdir, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        double.wait_for(lambda c: c.method == until, timeout=30, since=mark)
    except AssertionError:
        stop_bot(process)
        raise
    return RunningBot(process, log)


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
