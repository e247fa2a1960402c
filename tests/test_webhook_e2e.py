"""Webhook mode end to end: `careerbot run` serves Telegram's webhook, health, readiness and
metrics on one port, against the Bot API double (which records setWebhook and every reply).

Updates are made by the double (so that it knows their chats), taken off its queue and POSTed to
the bot as Telegram would, with the secret token in its header.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.botapi import BotApiDouble
from tests.telegram_harness import RunningBot, free_port, http_get, post_update, running_bot

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cret-token_for-tests-0123456789"
HOOK = "/telegram/hook"


@pytest.fixture(scope="module")
def web(double: BotApiDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bot in webhook mode; yields its base URL."""
    port = free_port()
    env = {"CAREERBOT_WEBHOOK_URL": f"https://bot.example.org{HOOK}",
           "CAREERBOT_WEBHOOK_SECRET": SECRET, "CAREERBOT_LISTEN": f"127.0.0.1:{port}",
           "CAREERBOT_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    with running_bot(double, REPO / "faq", tmp_path_factory.mktemp("bot"), env,
                     until="setWebhook"):
        yield f"http://127.0.0.1:{port}"


def post(url: str, body: dict[str, Any], secret: str | None = SECRET) -> int:
    """POST an update like Telegram does; the HTTP status."""
    return post_update(url, body, secret)


def test_webhook_is_set_with_the_secret_and_the_handled_updates(double: BotApiDouble,
                                                                 web: str) -> None:
    """At start, setWebhook gets the URL, the secret token and exactly the updates the bot reads."""
    call = double.calls_to("setWebhook")[-1]
    assert call.params["url"] == f"https://bot.example.org{HOOK}"
    assert call.params["secret_token"] == SECRET
    assert sorted(call.params["allowed_updates"]) == sorted(
        ["message", "callback_query", "inline_query", "my_chat_member"])
    assert double.calls_to("getUpdates") == []  # no polling in webhook mode


def test_a_webhook_update_is_answered(double: BotApiDouble, web: str) -> None:
    """A question pushed to the webhook gets its answer."""
    user = 5_000_001
    double.send_text(user, "c'est quoi un concours ?")
    mark = len(double.calls)
    assert post(web + HOOK, double.take_update()) == 200
    reply = double.wait_for(lambda c: c.method == "sendMessage" and c.params["chat_id"] == user,
                            since=mark, timeout=10)
    assert "concours" in reply.params["text"].lower()


@pytest.mark.parametrize("secret", [None, "wrong-secret-0123456789", SECRET[:-1]])
def test_a_wrong_secret_is_refused_and_nothing_processed(double: BotApiDouble, web: str,
                                                         secret: str | None) -> None:
    """A call without the right secret token: 403, and the update is never handled."""
    user = 5_000_002
    double.send_text(user, "c'est quoi un concours ?")
    mark = len(double.calls)
    assert post(web + HOOK, double.take_update(), secret) == 403
    status, _ = http_get(web + "/healthz")  # a request after it, to be sure it had its chance
    assert status == 200
    assert not [c for c in double.calls[mark:] if c.params.get("chat_id") == user]


def test_health_readiness_and_metrics(double: BotApiDouble, web: str) -> None:
    """/healthz and /readyz answer; /metrics counts updates and replies, and names the FAQ."""
    assert http_get(web + "/healthz") == (200, "ok")
    assert http_get(web + "/readyz") == (200, "ready")
    user = 5_000_003
    double.send_text(user, "comment devenir prof ?")
    mark = len(double.calls)
    post(web + HOOK, double.take_update())
    double.wait_for(lambda c: c.method == "sendMessage" and c.params["chat_id"] == user,
                    since=mark, timeout=10)
    status, text = http_get(web + "/metrics")
    assert status == 200
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
             for line in text.splitlines() if line and not line.startswith("#")}
    assert lines['careerbot_updates_total{kind="message"}'] >= 1
    assert sum(v for k, v in lines.items() if k.startswith("careerbot_replies_total")) >= 1
    assert lines["careerbot_reply_seconds_count"] >= 1
    assert any(k.startswith('careerbot_faq_info{version="') for k in lines)


def test_sigterm_stops_cleanly_and_keeps_the_webhook(double: BotApiDouble,
                                                     tmp_path: Path) -> None:
    """SIGTERM: exit 0, and no deleteWebhook (another instance may still serve it)."""
    port = free_port()
    env = {"CAREERBOT_WEBHOOK_URL": f"https://bot.example.org{HOOK}",
           "CAREERBOT_WEBHOOK_SECRET": SECRET, "CAREERBOT_LISTEN": f"127.0.0.1:{port}",
           "CAREERBOT_DATA_DIR": str(tmp_path / "data")}
    mark = len(double.calls)
    with running_bot(double, REPO / "faq", tmp_path, env, until="setWebhook") as bot:
        stop(bot)
    assert bot.process.returncode == 0
    assert not [c for c in double.calls[mark:] if c.method == "deleteWebhook"]


def stop(bot: RunningBot) -> None:
    """SIGTERM, as a service manager or a container runtime stops it."""
    bot.process.send_signal(signal.SIGTERM)
    bot.process.wait(timeout=20)


def test_polling_serves_the_same_endpoints_with_listen(double: BotApiDouble,
                                                       tmp_path: Path) -> None:
    """Long polling with CAREERBOT_LISTEN: answers as usual, and health and metrics are served."""
    port = free_port()
    env = {"CAREERBOT_LISTEN": f"127.0.0.1:{port}", "CAREERBOT_DATA_DIR": str(tmp_path / "data")}
    with running_bot(double, REPO / "faq", tmp_path, env) as bot:
        user = 5_000_004
        update = double.send_text(user, "c'est quoi la catégorie B ?")
        double.wait_reply(user, update, timeout=10)
        assert http_get(f"http://127.0.0.1:{port}/readyz") == (200, "ready")
        status, text = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and 'careerbot_updates_total{kind="message"}' in text
        stop(bot)
    assert bot.process.returncode == 0


def test_the_image_healthcheck_passes_on_a_running_bot(double: BotApiDouble, web: str) -> None:
    """The Dockerfile's HEALTHCHECK command, run as is against a running bot, succeeds."""
    line = next(line for line in (REPO / "Dockerfile").read_text().splitlines()
                if line.strip().startswith("CMD [\"python\""))
    command = json.loads(line.strip().removeprefix("CMD "))
    command[0] = sys.executable
    command[-1] = command[-1].replace("http://127.0.0.1:8080", web)
    assert subprocess.run(command, timeout=30).returncode == 0
