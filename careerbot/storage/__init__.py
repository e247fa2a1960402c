"""Storage: subscribers, broadcasts and their deliveries, anonymous feedback, in SQL.

SQLAlchemy 2 (async) over SQLite by default, PostgreSQL-ready: nothing here is SQLite-only.
Schema changes are Alembic migrations (`migrations/`), applied at start by `database.migrate`.
"""
