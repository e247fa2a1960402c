"""What the site's browser tests need: Debian's Chromium, zbar, and axe-core from npm.

On a laptop without them the tests that need them are skipped and the session says so in one
line; with CI=true they fail instead (.ci/run installs them), as tests/databases.py does for
PostgreSQL. Chromium is Debian's /usr/bin/chromium, driven by Playwright; no browser is ever
downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# As root in a sandbox: no sandbox, no GPU, and none of Chromium's own calls home (the network is
# closed; without these flags it retries them many at a time).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).parent.parent
ARTIFACTS = REPO / "test-artifacts" / "site"  # screenshots, kept by the run, ignored by git
AXE_DIR = REPO / ".cache" / "axe"  # axe-core from the npm registry, installed at test time
skipped: list[str] = []  # what was skipped, for the session's one-line summary


def require(tool: str, why: str) -> None:
    """Skip (fail under CI=true) when `tool` is missing."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} is required in CI and missing ({tool}); .ci/run installs it")
    if why not in skipped:
        skipped.append(why)
    pytest.skip(f"{why} missing ({tool})")


def require_chromium() -> None:
    """Skip the browser tests without /usr/bin/chromium (fail under CI=true)."""
    if not os.access(CHROMIUM, os.X_OK):
        require(CHROMIUM, "Chromium (Debian package chromium)")


def zbarimg() -> str:
    """The QR decoder's path (skip without it, fail under CI=true)."""
    found = shutil.which("zbarimg")
    if found is None:
        require("zbarimg", "zbar (Debian package zbar-tools)")
    assert found is not None
    return found


def decode_qr(png: Path) -> list[str]:
    """Every QR code zbar reads in a PNG file."""
    done = subprocess.run([zbarimg(), "--raw", "-q", str(png)], capture_output=True, text=True,
                          timeout=30, check=False)
    return done.stdout.splitlines()


def axe_script() -> str:
    """axe-core's axe.min.js, installed from the npm registry into .cache/axe on first use."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            require("npm", "npm (to install axe-core)")
        assert npm is not None
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund",
                               "--no-save", "--silent", "axe-core@4"],
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not script.exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"npm could not install axe-core: {done.stderr[-500:]}")
            require("axe-core", "axe-core (npm install failed)")
    return script.read_text(encoding="utf-8")
