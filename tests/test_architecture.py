"""The core stays free of channel and storage libraries."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_neither_telegram_nor_a_database() -> None:
    """faq, matching, conversation, terminal and the CLI's offline commands load no telegram."""
    code = ("import sys, careerbot.faq_loader, careerbot.matching, careerbot.glossary, "
            "careerbot.conversation, "
            "careerbot.terminal, careerbot.evaluation, careerbot.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'telegram', 'sqlalchemy', 'sqlite3', 'httpx'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
