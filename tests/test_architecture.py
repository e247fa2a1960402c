"""The core stays free of channel and storage libraries."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_neither_telegram_nor_a_database() -> None:
    """faq, matching, conversation, announcements, the payload codec, the draft machine, the
    FAQ reloader, the budget split, terminal, the CLI's offline commands, the agenda and the event
    draft machine with its dates and screens load neither telegram nor a database library.
    """
    code = ("import sys, careerbot.faq_loader, careerbot.matching, careerbot.glossary, "
            "careerbot.conversation, careerbot.announcements, careerbot.callbacks, "
            "careerbot.drafting, careerbot.faq_checks, careerbot.faq_reload, careerbot.budget, "
            "careerbot.terminal, careerbot.evaluation, careerbot.cli, careerbot.stats, "
            "careerbot.chart, careerbot.digest, careerbot.agenda, careerbot.french_dates, "
            "careerbot.event_drafting, careerbot.event_screens, careerbot.site.build, "
            "careerbot.site.serve; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'telegram', 'sqlalchemy', 'sqlite3', 'httpx'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_only_the_telegram_package_imports_python_telegram_bot() -> None:
    """python-telegram-bot is imported in careerbot/telegram/ and nowhere else in careerbot/."""
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "careerbot"
    outside = [str(path.relative_to(package)) for path in package.rglob("*.py")
               if "telegram" not in path.relative_to(package).parts[:-1]
               and any(line.startswith(("import telegram", "from telegram ", "from telegram."))
                       for line in path.read_text().splitlines())]
    assert outside == []


def test_services_know_no_telegram_type() -> None:
    """The assistant and announcing services import no python-telegram-bot: a second channel, or
    the webhook, reuses them as they are.
    """
    code = ("import sys, careerbot.assistant, careerbot.announcing, careerbot.organising; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_bot_starts_without_matplotlib() -> None:
    """The picture library (about a second to import) loads when one is drawn, not at start."""
    code = ("import sys, careerbot.cli, careerbot.telegram.bot, careerbot.telegram.digest; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
