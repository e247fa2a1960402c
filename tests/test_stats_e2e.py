"""/stats end to end: a real bot process on a seeded SQLite file, real HTTP to the Bot API double;
the picture's numbers against `careerbot stats --json`, a non-admin refused, and the messages of
a session counted once the bot stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from careerbot import announcements as ui
from careerbot.chart import figures_in
from careerbot.stats import paris_day
from careerbot.storage.database import default_url, migrate, open_engine, sessions
from tests.botapi.server import BotApiDouble
from tests.chart_png import png_size
from tests.conftest import REPO
from tests.stats_seed import seed
from tests.telegram_harness import CAREERBOT, start_bot, stop_bot

ADMIN, CANDIDATE = 42, 7001


def seeded(data: Path) -> None:
    """The bot's SQLite file, migrated and filled with a month of use ending today."""
    async def fill() -> None:
        engine = open_engine(default_url(data))
        await migrate(engine)
        await seed(sessions(engine), paris_day(datetime.now(UTC)))
        await engine.dispose()
    asyncio.run(fill())


def stats_json(data: Path) -> dict[str, Any]:
    """What `careerbot stats --json` prints for that database."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CAREERBOT_DATA_DIR": str(data)}
    done = subprocess.run([str(CAREERBOT), "stats", "--json"], env=env, cwd=data,
                          capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_stats_picture_matches_the_database_and_only_organisers_get_it(tmp_path: Path) -> None:
    """An organiser's /stats brings a PNG whose figures are `careerbot stats --json`'s; a
    candidate gets the organisers' refusal; questions asked are counted by the stop.
    """
    data = tmp_path / "data"
    seeded(data)
    env = {"CAREERBOT_ADMIN_IDS": str(ADMIN), "CAREERBOT_DATA_DIR": str(data)}
    with BotApiDouble() as double:
        bot = start_bot(double, REPO / "faq", data, env)
        try:
            mark = len(double.calls)
            double.send_text(ADMIN, "/stats")
            photo = double.wait_for(lambda c: c.method == "sendPhoto", timeout=60, since=mark)
            png = photo.params["photo"].data
            assert png_size(png) == (1125, 2400)
            assert 20_000 < len(photo.params["photo"].data) < 2_000_000
            assert photo.params["caption"].startswith("📊 Statistiques au ")
            before = stats_json(data)
            assert figures_in(png) == before
            assert sum(before["messages_per_day"]["answer"]) > 0

            refusal = double.wait_reply(CANDIDATE, double.send_text(CANDIDATE, "/stats"))
            assert refusal.params["text"] == ui.ADMIN["refused"]
            assert len(double.calls_to("sendPhoto")) == 1

            for question in ("c'est quoi un concours ?", "recette de la tarte aux pommes"):
                double.wait_reply(CANDIDATE, double.send_text(CANDIDATE, question))
        finally:
            stop_bot(bot.process)  # a clean stop flushes the tally
        double.assert_no_violations()
    after = stats_json(data)
    per_day = {key: after["messages_per_day"][key][-1] - before["messages_per_day"][key][-1]
               for key in ("answer", "suggest", "smalltalk", "fallback")}
    assert per_day == {"answer": 1, "suggest": 0, "smalltalk": 0, "fallback": 1}
    with sqlite3.connect(data / "careerbot.db") as connection:
        rows = list(connection.execute("SELECT outcome, entry_id, count FROM daily_counts "
                                       "WHERE day = ?", (after["today"],)))
    assert ("answer", "concours-definition", 1) in rows
    assert "Traceback" not in bot.log.read_text()

