"""Start `careerbot run` against a Bot API double, as an operator would, for the e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.botapi.server import BotApiDouble


@contextmanager
def running_bot(double: BotApiDouble, faq_dir: Path, workdir: Path,
                env: dict[str, str] | None = None) -> Iterator[Path]:
    """Run the bot until the block ends; yield its log file, checked for leaks at the end."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PTB_TIMEDELTA": "true",
                   "TELEGRAM_BOT_TOKEN": double.token, "TELEGRAM_API_BASE_URL": double.api_root,
                   "CAREERBOT_FAQ_DIR": str(faq_dir), **(env or {})}
    log = workdir / "bot.log"
    with log.open("w") as sink:
        process = subprocess.Popen([str(Path(sys.executable).parent / "careerbot"), "run"],
                                   env=environment, cwd=workdir, stdout=sink,
                                   stderr=subprocess.STDOUT, text=True)
    try:
        double.wait_for(lambda c: c.method == "getUpdates", timeout=20)
        yield log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    logs = log.read_text()
    assert double.token not in logs, "the token leaked into the logs"
    assert "Traceback" not in logs, logs
