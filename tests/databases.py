"""The databases storage tests run on: an SQLite file always, PostgreSQL when a server answers.

PostgreSQL is CAREERBOT_TEST_DATABASE_URL (a URL whose user may create databases) or else the
server of the development and CI machines, postgresql+asyncpg://postgres@127.0.0.1:5432/postgres.
Each test gets a fresh database. When no server answers, the PostgreSQL runs are skipped and the
session says so in one line; with CI=true they fail instead: CI tests what production runs.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from careerbot.storage.database import default_url, open_engine

SERVER = (os.environ.get("CAREERBOT_TEST_DATABASE_URL")
          or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
SQLITE, POSTGRESQL = "sqlite", "postgresql"
current = SQLITE  # the backend of the running test (set by the `backend` fixture)
skipped: list[str] = []  # tests whose PostgreSQL run was skipped
_created: set[str] = set()


@functools.cache
def unreachable() -> str | None:
    """Why the PostgreSQL server cannot be used (None when it answers)."""
    async def probe() -> None:
        engine = open_engine(SERVER)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(asyncio.wait_for(probe(), 5))
    except Exception as error:  # any driver's refusal: the reason is all we need
        return f"{type(error).__name__} at {make_url(SERVER).render_as_string()}"
    return None


def require_postgresql(nodeid: str) -> None:
    """Skip the test, saying why, when no PostgreSQL server answers; fail instead under CI=true."""
    if reason := unreachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and cannot be reached: {reason}")
        skipped.append(nodeid)
        pytest.skip(f"PostgreSQL not reachable: {reason}")


async def fresh_database(name: str) -> str:
    """The URL of a new, empty PostgreSQL database on the server (one an earlier run left is
    dropped first).
    """
    admin = open_engine(SERVER).execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return make_url(SERVER).set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    """Remove a database made by `fresh_database` (connections still open are ended)."""
    admin = open_engine(SERVER).execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    await admin.dispose()


async def database_url(place: Path) -> str:
    """The test's database: an SQLite file in `place`, or a PostgreSQL database named after it."""
    if current == SQLITE:
        return default_url(place)
    name = "t_" + hashlib.sha1(str(place).encode()).hexdigest()[:16]
    if name not in _created:
        await fresh_database(name)
        _created.add(name)
    return make_url(SERVER).set(database=name).render_as_string(hide_password=False)


async def drop_created() -> None:
    """Drop the databases this test made: a run leaves nothing on the shared server."""
    for name in sorted(_created):
        await drop_database(name)
    _created.clear()
