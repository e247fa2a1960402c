"""Where the database is, opening it, and bringing its schema up to date."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Alembic is imported only to migrate: a start on a schema already at head reads one row instead
# (alembic and its migration scripts cost about a tenth of a second to load).
MIGRATIONS = Path(__file__).parent / "migrations"


class StorageError(Exception):
    """The data directory or database cannot be used; the message says what to fix."""


def default_url(data_dir: Path) -> str:
    """The SQLite file under the data directory, both private to this user (created if needed).

    The directory is 0700 and the file 0600 before SQLite opens it: its -wal and -shm files take
    the database file's permissions, so no other local user can read subscribers or questions.
    """
    database = data_dir / "careerbot.db"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        database.touch(mode=0o600, exist_ok=True)
        database.chmod(0o600)
    except OSError as error:
        raise StorageError(f"CAREERBOT_DATA_DIR {str(data_dir)!r} cannot hold the database "
                           f"({error.strerror or type(error).__name__}); point it to a directory "
                           "this user can create and write") from None
    return f"sqlite+aiosqlite:///{database.resolve()}"


def open_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys and a busy timeout like a real server."""
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA secure_delete=ON")  # erased rows leave no bytes behind
            cursor.close()
    return engine


def sessions(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    """The session factory the repositories use."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic(connection: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# The key of the PostgreSQL advisory lock migrations hold: any number no other lock uses.
MIGRATION_LOCK = 0x6361726565727374


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (all by default).

    On PostgreSQL, instances that start together take turns: each migrates under an advisory
    lock held until its transaction ends, so the first upgrades and the others find the schema
    already there (without it, all but one fail on "duplicate key" creating the same tables).
    """
    if revision == "head" and await _is_at(engine, head_revision()):
        return
    from alembic import command

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                     {"key": MIGRATION_LOCK})
        await connection.run_sync(lambda sync: command.upgrade(_alembic(sync), revision))


async def _is_at(engine: AsyncEngine, revision: str) -> bool:
    """Whether the schema is at `revision` (False too when it cannot be told: no table yet)."""
    try:
        async with engine.connect() as connection:
            found = (await connection.execute(text("SELECT version_num FROM alembic_version")))
            return list(found.scalars()) == [revision]
    except Exception:  # an empty database, or one that does not answer: migrate() will say
        return False


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at (None when empty)."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision())


_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def head_revision() -> str:
    """The latest schema revision this code knows."""
    return declared_head() or _alembic_head()


def declared_head() -> str | None:
    """The latest revision as the migration files declare it, read without alembic; None when
    the history is not a plain line (a merge, a branch) or a file is written another way.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_ASSIGNED.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            parent = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _alembic_head() -> str:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migration found"
    return head


async def schema_is_current(db: async_sessionmaker, head: str) -> bool:  # type: ignore[type-arg]
    """Whether the database answers and its schema is at `head` (raises when it cannot answer)."""
    async with db() as session:
        found = await session.scalar(text("SELECT version_num FROM alembic_version"))
    return bool(found == head)


async def poll(db: async_sessionmaker, statement: Executable,  # type: ignore[type-arg]
               values: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """The rows of a read that runs every second or more, for half the CPU of a session's
    query (such reads are most of an idle bot's work): on the engine's connection, not in an
    ORM session, and `statement` built once with bind parameters for `values`, since building
    a statement and its cache key costs as much as running it.
    """
    async with engine_of(db).connect() as connection:
        return (await connection.execute(statement, values)).all()


def engine_of(db: async_sessionmaker) -> AsyncEngine:  # type: ignore[type-arg]
    """The engine behind a session factory, for statements that need no ORM session."""
    engine: AsyncEngine = db.kw["bind"]
    return engine


def dialect(db: async_sessionmaker) -> str:  # type: ignore[type-arg]
    """The database engine behind a session factory: "sqlite" or "postgresql"."""
    bind = db.kw.get("bind")
    return str(bind.dialect.name) if bind is not None else "unknown"
