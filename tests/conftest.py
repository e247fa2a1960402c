"""Shared fixtures: a valid mini FAQ to copy and break, and a clean environment."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import browser, databases
from tests.botapi.server import BotApiDouble

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never inherit the developer's careerbot or Telegram settings."""
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "CAREERBOT_FAQ_DIR",
                 "CAREERBOT_ADMIN_IDS", "CAREERBOT_ADMIN_CHAT_ID", "CAREERBOT_WEBHOOK_URL",
                 "CAREERBOT_WEBHOOK_SECRET", "CAREERBOT_LISTEN", "CAREERBOT_FAQ_WATCH",
                 "CAREERBOT_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    # python-telegram-bot 22 warns (an error under our filterwarnings) when it builds RetryAfter
    # with an int retry_after unless this opt-in to its future timedelta API is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    yield


@pytest.fixture(params=[databases.SQLITE, databases.POSTGRESQL])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a storage test on an SQLite file, then on PostgreSQL (see tests/databases.py)."""
    if request.param == databases.POSTGRESQL:
        databases.require_postgresql(request.node.nodeid)
    databases.current = request.param
    yield request.param
    databases.current = databases.SQLITE
    if request.param == databases.POSTGRESQL:
        asyncio.run(databases.drop_created())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in one line when storage was tested on SQLite only."""
    if databases.skipped:
        terminalreporter.write_line(
            f"PostgreSQL not reachable ({databases.unreachable()}): {len(databases.skipped)} "
            "test runs skipped, storage tested on SQLite only and several instances not at all",
            yellow=True)
    if browser.skipped:
        terminalreporter.write_line(
            f"Some site tests skipped: {', '.join(browser.skipped)} not installed (CI=true "
            "requires them; .ci/run installs them)", yellow=True)


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    """A writable copy of the valid mini FAQ in tests/fixtures/faq."""
    target = tmp_path / "faq"
    shutil.copytree(FIXTURES / "faq", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a file (failing loudly if it is not there)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """1-based line number of the first line containing needle."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


SITE_USERNAME = "careerbot_test_bot"
SITE_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of the real FAQ (faq/), built once for the session as of SITE_NOW."""
    from careerbot.site.build import build_site, checked_faq

    faq, problems = checked_faq(REPO / "faq")
    assert faq is not None, [str(p) for p in problems]
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(faq, out, username=SITE_USERNAME, now=SITE_NOW)
    return out


@pytest.fixture
def served(faq_dir: Path) -> Iterator[str]:
    """`careerbot site serve` on a copy of the mini FAQ, on a free port: its URL."""
    careerbot = str(Path(sys.executable).parent / "careerbot")
    process = subprocess.Popen([careerbot, "site", "serve", "--port", "0", "--faq", str(faq_dir),
                                "--username", SITE_USERNAME], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                yield found.group(0)
                break
        else:
            pytest.fail(f"site serve did not start: {process.stderr.read() if process.stderr else ''}")
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C: it stops and removes its builds
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def double() -> Iterator[BotApiDouble]:
    """The Bot API test double, one per module (a module whose double must first know a chat
    defines its own).
    """
    with BotApiDouble() as api:
        yield api
