"""A start loads only what it needs: no validator on a cached FAQ, no migration tool on a schema
already at head, no web stack when polling; bench/bench_telegram.py measures the time, no test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from careerbot.storage.database import _alembic_head, declared_head


def loaded_modules(code: str) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after running `code`."""
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                           "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"],
                          capture_output=True, text=True, check=True, timeout=120)
    return set(done.stdout.split())


def test_the_head_read_from_the_files_is_alembics() -> None:
    """The schema head read from the migration files is the one alembic computes."""
    assert declared_head() == _alembic_head()


def test_a_schema_at_head_is_not_migrated_again(tmp_path: Path) -> None:
    """The first start migrates with alembic; the next one finds the schema at head and never
    loads alembic.
    """
    code = ("import asyncio; from pathlib import Path\n"
            "from careerbot.storage.database import default_url, migrate, open_engine\n"
            "async def main():\n"
            f"    engine = open_engine(default_url(Path({str(tmp_path)!r})))\n"
            "    await migrate(engine)\n"
            "    await engine.dispose()\n"
            "asyncio.run(main())")
    assert "alembic" in loaded_modules(code)
    assert "alembic" not in loaded_modules(code)


def test_a_cached_faq_is_not_validated_again(faq_dir: Path, tmp_path: Path) -> None:
    """A start that finds its FAQ in the cache loads no JSON Schema validator."""
    code = ("from pathlib import Path; from careerbot.faq_reload import build\n"
            f"build(Path({str(faq_dir)!r}), team_inbox=False, cache_dir=Path({str(tmp_path)!r}))")
    assert "jsonschema" in loaded_modules(code)
    assert "jsonschema" not in loaded_modules(code)


def test_polling_loads_no_web_server() -> None:
    """The Telegram side loads Starlette and uvicorn only to serve the web endpoints."""
    modules = loaded_modules("import careerbot.cli, careerbot.telegram.bot")
    assert not modules & {"starlette", "uvicorn", "alembic", "jsonschema"}
