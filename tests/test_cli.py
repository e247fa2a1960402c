"""The `careerbot` command line, run as users run it."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from careerbot.cli import main
from careerbot.faq_loader import load_faq
from tests.conftest import REPO, edit


def test_check_ok(faq_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A clean FAQ passes with a one-line summary (in French) and exit 0."""
    assert main(["check", str(faq_dir), "--today", "2026-11-26"]) == 0
    faq, _ = load_faq(faq_dir, today=date(2026, 11, 26))
    assert capsys.readouterr().out == (
        f"{faq_dir} : OK, {len(faq.entries)} entrées, {len(faq.themes)} thèmes, "
        f"{len(faq.events)} événements, 0 avertissement(s)\n")


def test_check_errors_exit_1(faq_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Errors are printed as path:line: message and the exit code is 1."""
    edit(faq_dir / "contrats.yaml", "    related: [concours-definition]", "    related: [nope]")
    assert main(["check", str(faq_dir), "--today", "2026-11-26"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{faq_dir / 'contrats.yaml'}:")
    assert captured.err == f"{faq_dir} : 1 erreur(s), 0 avertissement(s)\n"


def test_check_strict_fails_on_warnings(faq_dir: Path) -> None:
    """Warnings pass by default and fail with --strict."""
    edit(faq_dir / "contrats.yaml", "    reviewed: 2026-06-01", "    reviewed: 2024-06-01")
    assert main(["check", str(faq_dir), "--today", "2026-11-26"]) == 0
    assert main(["check", str(faq_dir), "--today", "2026-11-26", "--strict"]) == 1


def test_ask_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`ask --json` gives status, id, score and suggestions."""
    assert main(["ask", "c koi un concours", "--json", "--faq", str(REPO / "faq")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"status", "id", "score", "suggestions"}
    assert (result["status"], result["id"]) == ("answer", "concours-definition")


def test_ask_with_broken_faq_says_why(faq_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken FAQ stops the command with the problem and the way to see them all."""
    edit(faq_dir / "contrats.yaml", "    related: [concours-definition]", "    related: [nope]")
    with pytest.raises(SystemExit) as raised:
        main(["ask", "bonjour", "--faq", str(faq_dir)])
    assert raised.value.code == 1
    assert f"lancez `careerbot check {faq_dir}`" in capsys.readouterr().err


def test_eval_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`eval --json` returns the documented keys, computed from the cases."""
    cases = tmp_path / "cases.yaml"
    cases.write_text('cases:\n  - q: "c koi un concours"\n    expect: [concours-definition]\n'
                     '  - q: "bonjour"\n    expect: []\n', encoding="utf-8")
    assert main(["eval", str(cases), "--json", "--faq", str(REPO / "faq")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {k: result[k] for k in ("direct_right", "direct_wrong", "resolved", "oos_answered",
                                    "n_in_scope", "n_out_of_scope")} == {
        "direct_right": 1.0, "direct_wrong": 0.0, "resolved": 1.0, "oos_answered": 0.0,
        "n_in_scope": 1, "n_out_of_scope": 1}
    assert [c["status"] for c in result["cases"]] == ["answer", "smalltalk"]


def test_eval_rejects_unknown_ids(tmp_path: Path) -> None:
    """A case expecting an id the FAQ lacks is refused with the id named."""
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - q: x\n    expect: [nope]\n", encoding="utf-8")
    with pytest.raises(SystemExit) as raised:
        main(["eval", str(cases), "--faq", str(REPO / "faq")])
    assert raised.value.code == f"careerbot: {cases} expects unknown entry ids: nope"


def run_command(*args: str, stdin: str = "", env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run the installed `careerbot` script as a user would."""
    script = Path(sys.executable).parent / "careerbot"
    return subprocess.run([str(script), *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=60)


def test_run_without_token_chats_in_the_terminal() -> None:
    """`careerbot run` with no token, in an interactive terminal, is the terminal chat."""
    primary, secondary = pty.openpty()
    with subprocess.Popen([str(Path(sys.executable).parent / "careerbot"), "run"],
                          stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=REPO, env={"PATH": "/usr/bin:/bin"}) as process:
        os.close(secondary)
        os.write(primary, b"bonjour\n/quit\n")
        out, err = process.communicate(timeout=60)
    os.close(primary)
    assert process.returncode == 0, err
    assert "Bonjour ! 👋 Posez-moi votre question" in out.decode()


def test_run_without_token_nor_terminal_says_what_to_set() -> None:
    """Headless (a container, no token): exit 2 with one line naming TELEGRAM_BOT_TOKEN."""
    done = run_command("run", stdin="bonjour\n")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "careerbot: set TELEGRAM_BOT_TOKEN to run on Telegram (the terminal chat needs an "
        "interactive terminal; `careerbot chat` reads any input)"]
    assert done.stdout == ""


@pytest.mark.parametrize(("env", "line"), [
    ({"TELEGRAM_BOT_TOKEN": "not-a-token"},
     "careerbot: TELEGRAM_BOT_TOKEN does not look like a bot token (expected digits, a colon, "
     "then letters; ask @BotFather)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_BASE_URL": "ftp://example.org"},
     "careerbot: TELEGRAM_API_BASE_URL 'ftp://example.org' must be the server root, e.g. "
     "https://api.telegram.org (the bot adds /bot<token>/<method>)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_ADMIN_IDS": "12,bob"},
     "careerbot: CAREERBOT_ADMIN_IDS: 'bob' is not a Telegram user id (write numbers separated "
     "by commas, e.g. 12345,67890)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_ADMIN_IDS": "12345²"},
     "careerbot: CAREERBOT_ADMIN_IDS: '12345²' is not a Telegram user id (write numbers separated "
     "by commas, e.g. 12345,67890)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_ADMIN_CHAT_ID": "-100²"},
     "careerbot: CAREERBOT_ADMIN_CHAT_ID: '-100²' is not a chat id (e.g. -1001234567890)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_REMINDER_HOURS": "inf"},
     "careerbot: CAREERBOT_REMINDER_HOURS: 'inf' must be a positive number"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_BROADCAST_RATE": "nan"},
     "careerbot: CAREERBOT_BROADCAST_RATE: 'nan' must be a positive number"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_BROADCAST_RATE": "100"},
     "careerbot: CAREERBOT_BROADCAST_RATE: '100' is more than 30"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_REMINDER_HOURS": "-3"},
     "careerbot: CAREERBOT_REMINDER_HOURS: '-3' must be a positive number"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "CAREERBOT_DATABASE_URL": "not a url"},
     "careerbot: CAREERBOT_DATABASE_URL is not a database URL (e.g. "
     "postgresql+asyncpg://user:password@host/db)"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9"},
     "careerbot: cannot reach the Bot API at http://127.0.0.1:9 (NetworkError); check "
     "TELEGRAM_API_BASE_URL and the network"),
])
def test_bad_settings_stop_with_one_line(env: dict[str, str], line: str) -> None:
    """A missing, malformed or unusable setting stops the bot with one clear line."""
    done = run_command("run", env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in done.stderr
    assert "123:abc" not in done.stderr


def storage_command(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a storage command of the CLI on a data directory."""
    script = Path(sys.executable).parent / "careerbot"
    return subprocess.run([str(script), *args, "--faq", str(REPO / "faq")], capture_output=True,
                          text=True, cwd=data, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "CAREERBOT_DATA_DIR": str(data / "d")})


def test_broadcast_commands_from_the_shell(tmp_path: Path) -> None:
    """The shell commands: broadcast (dry run, refused, nobody, queued), broadcasts, subscribers."""
    import asyncio

    from careerbot.storage import subscribers
    from careerbot.storage.database import default_url, migrate, open_engine, sessions

    async def subscribe() -> None:
        engine = open_engine(default_url(tmp_path / "d"))
        await migrate(engine)
        await subscribers.subscribe(sessions(engine), 7, "fr", ["concours"])
        await engine.dispose()

    asyncio.run(subscribe())
    dry = storage_command(tmp_path, "broadcast", "--text", "Salut", "--dry-run")
    assert dry.stdout.startswith("dry run: 1 recipient(s); nothing queued")
    refused = storage_command(tmp_path, "broadcast", "--text", "a<br>b")
    assert refused.returncode == 1 and "Telegram would refuse this text" in refused.stderr
    nobody = storage_command(tmp_path, "broadcast", "--text", "x", "--topic", "alternance")
    assert nobody.stdout.strip() == "nobody follows these topics: nothing to send"
    queued = storage_command(tmp_path, "broadcast", "--event", "mission-quebec-2019",
                             "--topic", "concours")
    assert queued.stdout.strip() == "broadcast #2 queued for 1 recipient(s); the running bot sends it"
    listing = storage_command(tmp_path, "broadcasts").stdout
    assert "📣 Annonce #2 : en cours (Concours, 📍 À l'étranger seulement)" in listing
    assert "Envoyés : 0 / 1" in listing
    counts = storage_command(tmp_path, "subscribers").stdout.splitlines()
    assert counts[0].split() == ["1", "subscribers", "in", "all"]
    report = storage_command(tmp_path, "report").stdout
    assert report.startswith("# Unanswered questions: 0 in 0 group(s)")


def test_data_dir_that_cannot_hold_the_database_says_so(tmp_path: Path) -> None:
    """CAREERBOT_DATA_DIR on a file (or anywhere it cannot be created): one line, exit 1."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    for data_dir in (blocker, blocker / "data"):
        done = run_command("subscribers", env={"CAREERBOT_DATA_DIR": str(data_dir)})
        assert done.returncode == 1
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"careerbot: CAREERBOT_DATA_DIR '{data_dir}' cannot hold "
                                      "the database (")


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:////proc/careerbot.db",
                                 "postgresql+asyncpg://nobody:x@127.0.0.1:1/none"])
def test_database_that_cannot_be_opened_says_so(url: str) -> None:
    """A database URL that cannot be opened ends in one line naming the setting, no traceback."""
    done = run_command("subscribers", env={"CAREERBOT_DATABASE_URL": url})
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("careerbot: cannot open the database (")
    assert done.stderr.rstrip().endswith("check CAREERBOT_DATABASE_URL or CAREERBOT_DATA_DIR")


def test_dotenv_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    """Every command reads the nearest .env up from where it runs: storage commands included."""
    (tmp_path / ".env").write_text(f"CAREERBOT_DATA_DIR={tmp_path / 'from-dotenv'}\n")
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    script = Path(sys.executable).parent / "careerbot"
    done = subprocess.run([str(script), "subscribers", "--faq", str(REPO / "faq")], cwd=inner,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-dotenv" / "careerbot.db").exists()


def test_stats_from_the_shell(tmp_path: Path) -> None:
    """The stats command: French text, JSON with the same numbers, a PNG, and one line when the
    picture cannot be written.
    """
    from careerbot.chart import figures_in
    from tests.chart_png import png_size

    text = storage_command(tmp_path, "stats").stdout
    assert text.startswith("# Messages du ") and "0  sans réponse" in text
    figures = json.loads(storage_command(tmp_path, "stats", "--json").stdout)
    assert set(figures) == {"today", "messages_per_day", "top_entries", "ratings",
                            "subscribers", "broadcasts"}
    assert len(figures["messages_per_day"]["days"]) == 30
    drawn = storage_command(tmp_path, "stats", "--png", str(tmp_path / "stats.png"))
    assert drawn.returncode == 0 and "📊 Statistiques au " in drawn.stdout
    png = (tmp_path / "stats.png").read_bytes()
    assert png_size(png) == (1125, 2400)
    assert figures_in(png) == figures
    failed = storage_command(tmp_path, "stats", "--png", str(tmp_path / "no" / "such" / "x.png"))
    assert failed.returncode == 1
    assert failed.stderr.strip() == (f"careerbot: cannot write '{tmp_path / 'no' / 'such' / 'x.png'}'"
                                     " (No such file or directory)")
