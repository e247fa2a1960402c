"""Runtime configuration, read from the environment (and an optional .env) by the CLI only."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from careerbot.numbers import ascii_int

DEFAULT_API_ROOT = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{1,100}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # Telegram accepts 1-256 of these; we ask 16+
DEFAULT_LISTEN = ("0.0.0.0", 8080)  # a container listens on all its interfaces


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says what to write."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the Telegram bot needs to start."""

    token: str
    api_root: str = DEFAULT_API_ROOT
    faq_dir: Path = Path("faq")
    admin_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None
    database_url: str | None = None  # None: SQLite under data_dir
    data_dir: Path = Path("data")
    broadcast_rate: float = 28.0  # messages/s; Telegram allows ~30 overall, keep room for replies
    reminder_ahead_hours: float = 24.0
    webhook_url: str | None = None  # set: Telegram pushes updates there (webhook mode)
    webhook_secret: str | None = None  # required with webhook_url
    listen: tuple[str, int] | None = None  # where the web endpoints listen (None: nowhere)
    faq_watch: bool = False  # reload the FAQ when its files change
    role: str = "all"  # web: answers updates; worker: sends broadcasts and reminders; all: both

    @property
    def cache_dir(self) -> Path:
        """Where the built FAQ is kept between starts (faq_cache.py)."""
        return self.data_dir / "cache"

    @property
    def base_url(self) -> str:
        """The prefix python-telegram-bot puts before `<token>/<method>`."""
        return f"{self.api_root}/bot"

    def __repr__(self) -> str:  # never print the token
        chat = "set" if self.admin_chat_id else "unset"
        return (f"Config(token=<hidden>, api_root={self.api_root!r}, faq_dir={self.faq_dir!r}, "
                f"admin_ids=<{len(self.admin_ids)}>, admin_chat_id=<{chat}>, "
                f"webhook_url={self.webhook_url!r}, webhook_secret=<hidden>)")


def from_env(env: Mapping[str, str]) -> Config:
    """Build the configuration from environment variables, or raise ConfigError."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not _TOKEN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token "
                          "(expected digits, a colon, then letters; ask @BotFather)")
    root = (env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_ROOT).strip().rstrip("/")
    parts = urlsplit(root)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path.endswith("/bot"):
        raise ConfigError(f"TELEGRAM_API_BASE_URL {root!r} must be the server root, "
                          f"e.g. {DEFAULT_API_ROOT} (the bot adds /bot<token>/<method>)")
    database_url, data_dir = storage_location(env)
    if database_url:
        _check_database_url(database_url)
    return Config(
        token=token,
        api_root=root,
        faq_dir=Path(env.get("CAREERBOT_FAQ_DIR") or "faq"),
        admin_ids=frozenset(_ids(env.get("CAREERBOT_ADMIN_IDS", ""), "CAREERBOT_ADMIN_IDS")),
        admin_chat_id=_chat_id(env.get("CAREERBOT_ADMIN_CHAT_ID", "")),
        database_url=database_url,
        data_dir=data_dir,
        # Telegram allows about 30 messages a second in all.
        broadcast_rate=_positive(env, "CAREERBOT_BROADCAST_RATE", 28.0, maximum=30.0),
        reminder_ahead_hours=_positive(env, "CAREERBOT_REMINDER_HOURS", 24.0),
        faq_watch=_flag(env, "CAREERBOT_FAQ_WATCH"),
        role=_role(env.get("CAREERBOT_ROLE", "")),
        **_web(env),
    )


ROLES = ("all", "web", "worker")


def _role(raw: str) -> str:
    role = raw.strip().lower() or "all"
    if role not in ROLES:
        raise ConfigError(f"CAREERBOT_ROLE: {raw!r} must be one of {', '.join(ROLES)}")
    return role


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}: {raw!r} must be 1 or 0")


def _web(env: Mapping[str, str]) -> dict[str, Any]:
    """Webhook mode (CAREERBOT_WEBHOOK_URL + CAREERBOT_WEBHOOK_SECRET) and CAREERBOT_LISTEN."""
    url = (env.get("CAREERBOT_WEBHOOK_URL") or "").strip() or None
    secret = (env.get("CAREERBOT_WEBHOOK_SECRET") or "").strip() or None
    raw_listen = (env.get("CAREERBOT_LISTEN") or "").strip()
    listen = _listen(raw_listen) if raw_listen else None
    if url is None:
        return {"listen": listen}
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"CAREERBOT_WEBHOOK_URL {url!r} must be an https:// URL that reaches "
                          "this bot (Telegram only calls https)")
    if secret is None or not _SECRET.match(secret):
        raise ConfigError("CAREERBOT_WEBHOOK_SECRET is required in webhook mode: 16 to 256 "
                          "letters, digits, _ or - (e.g. the output of `openssl rand -hex 32`)")
    return {"webhook_url": url, "webhook_secret": secret, "listen": listen or DEFAULT_LISTEN}


def _listen(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    number = ascii_int(port)
    if not host or number is None or not 0 < number < 65536:
        raise ConfigError(f"CAREERBOT_LISTEN: {raw!r} must be host:port, e.g. 0.0.0.0:8080")
    return host.strip("[]"), number


def storage_location(env: Mapping[str, str]) -> tuple[str | None, Path]:
    """CAREERBOT_DATABASE_URL (None: SQLite) and CAREERBOT_DATA_DIR; no token needed for them."""
    return env.get("CAREERBOT_DATABASE_URL") or None, Path(env.get("CAREERBOT_DATA_DIR") or "data")


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url  # storage is optional: only read when a URL is set
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError("CAREERBOT_DATABASE_URL is not a database URL (e.g. "
                          "postgresql+asyncpg://user:password@host/db)") from None


def _positive(env: Mapping[str, str], name: str, default: float, *,
              maximum: float = math.inf) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}: {raw!r} must be a positive number")
    if value > maximum:
        raise ConfigError(f"{name}: {raw!r} is more than {maximum:g}")
    return value


def _ids(raw: str, name: str) -> list[int]:
    ids = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        number = ascii_int(part, signed=True)
        if number is None:
            raise ConfigError(f"{name}: {part!r} is not a Telegram user id "
                              "(write numbers separated by commas, e.g. 12345,67890)")
        ids.append(number)
    return ids


def _chat_id(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    number = ascii_int(raw, signed=True)
    if number is None:
        raise ConfigError(f"CAREERBOT_ADMIN_CHAT_ID: {raw!r} is not a chat id (e.g. -1001234567890)")
    return number
