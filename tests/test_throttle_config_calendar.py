"""Small pure parts of the Telegram mode: flood control, configuration, calendar files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from careerbot.calendar import event_ics
from careerbot.config import ConfigError, from_env
from careerbot.faq import Event
from careerbot.throttle import Throttle


def test_throttle_slows_a_flooding_user_only() -> None:
    """After a burst a user is warned once, then ignored until the bucket refills; others pass."""
    now = [0.0]
    throttle = Throttle(burst=3, rate=1.0, clock=lambda: now[0])
    assert [throttle.check("a") for _ in range(5)] == ["ok", "ok", "ok", "warn", "drop"]
    assert throttle.check("b") == "ok"
    now[0] = 1.0
    assert throttle.check("a") == "ok"


def test_throttle_forgets_idle_users() -> None:
    """Memory stays bounded: refilled buckets are dropped when the table is full."""
    now = [0.0]
    throttle = Throttle(burst=2, rate=1.0, clock=lambda: now[0], max_users=2)
    throttle.check(1)
    throttle.check(2)
    now[0] = 10.0
    throttle.check(3)
    assert len(throttle._buckets) == 1


def test_config_from_env() -> None:
    """Settings are parsed, with defaults, and the token never shows in repr."""
    config = from_env({"TELEGRAM_BOT_TOKEN": "123:ABC-def", "CAREERBOT_ADMIN_IDS": "1, 2",
                       "CAREERBOT_ADMIN_CHAT_ID": "-100123", "CAREERBOT_FAQ_DIR": "x",
                       "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/"})
    assert config.base_url == "http://127.0.0.1:8081/bot"
    assert config.admin_ids == frozenset({1, 2})
    assert config.admin_chat_id == -100123
    assert config.faq_dir == Path("x")
    assert "123:ABC" not in repr(config)
    assert from_env({"TELEGRAM_BOT_TOKEN": "1:a"}).api_root == "https://api.telegram.org"


@pytest.mark.parametrize("env", [{}, {"TELEGRAM_BOT_TOKEN": "abc"},
                                 {"TELEGRAM_BOT_TOKEN": "1:a", "CAREERBOT_ADMIN_CHAT_ID": "x"},
                                 {"TELEGRAM_BOT_TOKEN": "1:a",
                                  "TELEGRAM_API_BASE_URL": "https://api.telegram.org/bot"}])
def test_config_rejects_bad_settings(env: dict[str, str]) -> None:
    """Missing or malformed settings raise ConfigError."""
    with pytest.raises(ConfigError):
        from_env(env)


def test_ics_is_valid_rfc5545() -> None:
    """Lines end with CRLF, are folded under 75 octets, text is escaped, times are UTC."""
    event = Event("e1", "Soirée, jeunes; agents", datetime.fromisoformat("2030-03-12T18:30:00+01:00"),
                  datetime.fromisoformat("2030-03-12T21:00:00+01:00"), "Paris", "https://fp21.fr/",
                  ("fp21",), "é" * 80)
    content = event_ics(event, now=datetime(2026, 1, 1, tzinfo=UTC))
    lines = content.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2] == b"END:VCALENDAR" and lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)
    assert b"SUMMARY:Soir\xc3\xa9e\\, jeunes\\; agents" in lines
    assert b"DTSTART:20300312T173000Z" in lines
    unfolded = content.replace(b"\r\n ", b"").decode()
    assert "DESCRIPTION:" + "é" * 80 in unfolded


def test_announcement_times_are_paris_time() -> None:
    """Typed dates are Paris time; 'tomorrow' is 9:00 in Paris; unreadable dates are refused."""
    from careerbot.drafting import PARIS, Schedule, parse_when, schedule

    assert parse_when("05/12/2026 18:30") == datetime(2026, 12, 5, 18, 30, tzinfo=PARIS)
    assert parse_when("5 décembre") is None
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 1 January in Paris
    assert schedule("tomorrow", now) == Schedule(datetime(2027, 1, 2, 9, 0, tzinfo=PARIS))
    assert schedule("hour", now) == Schedule(datetime(2027, 1, 1, 0, 30, tzinfo=UTC))
    assert schedule("now", now) == Schedule(None)


def test_topics_are_described_in_menu_order() -> None:
    """Chosen topics read in the order of the menu; 'all' covers everything."""
    from careerbot.announcements import describe

    assert describe({"alternance", "concours"}) == "Concours, Alternance et apprentissage"
    assert describe({"all", "concours"}) == "toutes les annonces"
    assert describe(set(), "en") == "all announcements"
