"""The core stays free of channel and storage libraries."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_neither_telegram_nor_a_database() -> None:
    """faq, matching, conversation, announcements, the payload codec, the draft machine, terminal
    and the CLI's offline commands load neither telegram nor a database library.
    """
    code = ("import sys, careerbot.faq_loader, careerbot.matching, careerbot.glossary, "
            "careerbot.conversation, careerbot.announcements, careerbot.callbacks, "
            "careerbot.drafting, careerbot.faq_checks, "
            "careerbot.terminal, careerbot.evaluation, careerbot.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'telegram', 'sqlalchemy', 'sqlite3', 'httpx'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
