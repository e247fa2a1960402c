"""A database that looks like a month of use, for the /stats tests and docs/stats-exemple.png.

Deterministic (a seeded generator, a given `today`); every figure has something to show. Chat
ids are made up (9000000 + n).
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from careerbot.storage.models import (
    Broadcast,
    DailyCount,
    Delivery,
    Feedback,
    Subscriber,
    SubscriberCount,
    Subscription,
)

ENTRIES = ("concours-c-est-quoi", "categories-a-b-c", "sans-concours", "apprentissage",
           "pacte", "place-emploi-public", "contractuel", "inscription-concours",
           "preparer-concours", "fp21-c-est-quoi", "stage", "salaire")
TOPIC_SHARES = {"all": 0.45, "evenements": 0.3, "concours": 0.35, "sans-concours": 0.2,
                "alternance": 0.25, "etudiants": 0.1}


async def seed(sessions: async_sessionmaker[AsyncSession], today: date) -> None:
    """Fill a migrated database with a month of counts, votes, subscribers and broadcasts."""
    rng = random.Random(11)
    counts = []
    for offset in range(29, -1, -1):
        day = today - timedelta(days=offset)
        weekday = day.weekday() < 5
        for rank, entry in enumerate(ENTRIES):
            count = rng.randint(0, (14 if weekday else 6) // (1 + rank // 3))
            if count:
                counts.append({"day": day, "outcome": "answer", "entry_id": entry, "count": count})
        for outcome, most in (("suggest", 9), ("smalltalk", 6), ("fallback", 7)):
            counts.append({"day": day, "outcome": outcome, "entry_id": "",
                           "count": rng.randint(1, most if weekday else most // 2)})
    created = datetime.combine(today - timedelta(days=40), time(9), UTC)
    votes = []
    for rank, entry in enumerate(ENTRIES[:9]):
        for vote in range(rng.randint(3, 14)):
            helpful = rng.random() < (0.92 - 0.08 * rank)
            votes.append({"entry_id": entry, "helpful": helpful, "created_at": created,
                          "tag": None, "message_id": vote})
    subscribers = 140
    chats = [9_000_000 + n for n in range(subscribers)]
    snapshots = []
    for offset in range(29, -1, -1):
        share = (subscribers - 3 * offset) / subscribers
        for topic, part in TOPIC_SHARES.items():
            snapshots.append({"day": today - timedelta(days=offset), "kind": "topic", "key": topic,
                              "count": int(subscribers * part * share)})
        for region, part in (("ile-de-france", 0.33), ("en-ligne", 0.16), ("occitanie", 0.07)):
            snapshots.append({"day": today - timedelta(days=offset), "kind": "region",
                              "key": region, "count": int(subscribers * part * share)})
    async with sessions.begin() as session:
        await session.execute(insert(DailyCount), counts)
        await session.execute(insert(Feedback), votes)
        await session.execute(insert(SubscriberCount), snapshots)
        await session.execute(insert(Subscriber), [
            {"chat_id": chat, "language": "fr", "created_at": created} for chat in chats])
        await session.execute(insert(Subscription), [
            {"chat_id": chat, "topic": topic} for chat in chats
            for topic, part in TOPIC_SHARES.items() if rng.random() < part] )
        for number, (kind, ago, sent, blocked, unknown) in enumerate(
                (("announce", 26, 120, 4, 0), ("reminder", 19, 61, 1, 0),
                 ("announce", 12, 128, 3, 2), ("reminder", 5, 70, 2, 0),
                 ("announce", 2, 131, 5, 1)), 1):
            at = datetime.combine(today - timedelta(days=ago), time(10), UTC)
            session.add(Broadcast(id=number, kind=kind, text="(annonce)", topics="",
                                  state="done", created_at=at, confirmed_at=at, finished_at=at))
            await session.flush()
            states = ["sent"] * sent + ["blocked"] * blocked + ["unknown"] * unknown
            await session.execute(insert(Delivery), [
                {"broadcast_id": number, "chat_id": chats[i % subscribers] + 1000 * (i // subscribers),
                 "state": state, "attempts": 1} for i, state in enumerate(states)])
        session.add(Broadcast(id=6, kind="announce", text="(brouillon)", topics="",
                              state="draft", created_at=created))


def example(target: Path, today: date = date(2026, 12, 7)) -> None:
    """Draw the picture of a seeded month into `target`, in 64 colours (a small file for the
    docs): `python -m tests.stats_seed docs/stats-exemple.png`.
    """
    import asyncio
    import io
    import tempfile

    from PIL import Image

    from careerbot.chart import render_png
    from careerbot.storage import stats
    from careerbot.storage.database import default_url, migrate, open_engine, sessions

    async def draw(folder: Path) -> bytes:
        engine = open_engine(default_url(folder))
        try:
            await migrate(engine)
            await seed(sessions(engine), today)
            return render_png(await stats.figures(sessions(engine), today))
        finally:
            await engine.dispose()

    with tempfile.TemporaryDirectory() as folder:
        png = asyncio.run(draw(Path(folder)))
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(64)
    image.save(target, optimize=True)


if __name__ == "__main__":
    example(Path(sys.argv[1]))
