"""Loading the FAQ into a ready-to-answer conversation, for the start and for live reloads.

A reload builds everything (files, checks, index) apart, then the caller swaps it in one step; a
FAQ that fails the checker is refused whole, and the last good version keeps answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from careerbot.conversation import Conversation
from careerbot.faq import Faq, FaqError
from careerbot.faq_cache import cached_build
from careerbot.faq_loader import faq_version, load_faq
from careerbot.matching import Matcher, Settings
from careerbot.telegram_html import escape

PARIS = ZoneInfo("Europe/Paris")
log = logging.getLogger("careerbot.faq")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A FAQ ready to answer, and which version it is."""

    conversation: Conversation
    faq: Faq
    version: str  # a hash of the files' content
    loaded_at: float  # Unix time

    @property
    def label(self) -> str:
        """The version as people read it."""
        return label(self.version, self.loaded_at)


def label(version: str, loaded_at: float) -> str:
    """A FAQ version as people read it: its hash and load time (Paris)."""
    return f"{version} du {datetime.fromtimestamp(loaded_at, PARIS):%d/%m/%Y à %H:%M}"


def build(directory: Path, *, team_inbox: bool, cache_dir: Path | None = None) -> Loaded:
    """Load, check and index the FAQ of `directory` (slow: call it off the event loop); with
    `cache_dir`, take the copy kept there for these very files, or keep one (faq_cache.py).

    Raises FaqError, with every problem, when the FAQ fails the checker.
    """
    version = faq_version(directory)  # first: an edit during the load shows as a newer version
    faq, matcher = cached_build(directory, cache_dir, index)
    loaded_at = time.time()
    conversation = Conversation(faq, matcher, team_inbox=team_inbox,
                                version=label(version, loaded_at))
    return Loaded(conversation, faq, version, loaded_at)


def index(directory: Path) -> tuple[Faq, Matcher]:
    """Load and check the FAQ of `directory`, and index it for matching."""
    faq, _ = load_faq(directory)
    return faq, Matcher(faq, Settings.from_mapping(faq.matching))


def refusal(error: FaqError, directory: Path, keeping: str, *, limit: int = 8) -> str:
    """The organisers' one message about a refused FAQ edit: what is wrong, and what still runs."""
    errors = [p for p in error.problems if p.severity == "error"]
    lines = [f"• {escape(p.render('fr'))}" for p in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"• … et {len(errors) - limit} autre(s) : careerbot check {directory}")
    return (f"⚠️ La FAQ modifiée a {len(errors)} erreur(s) et n'a pas été chargée. Le bot "
            f"continue de répondre avec la version {keeping}.\n" + "\n".join(lines))


class Reloader:
    """Reloads the FAQ on demand or when its files change, keeping the last good version.

    `swap` puts a new version in place (one assignment: a question is answered by the old
    version or the new one, never a mix); `notify` tells the organisers about a refused edit.
    """

    def __init__(self, directory: Path, current: Loaded, *, team_inbox: bool,
                 swap: Callable[[Loaded], None],
                 notify: Callable[[str], Awaitable[None]] | None = None,
                 cache_dir: Path | None = None) -> None:
        self.directory = directory
        self.cache_dir = cache_dir
        self.current = current
        self.team_inbox = team_inbox
        self.swap = swap
        self.notify = notify
        self.refused: str | None = None  # the version last refused: told once, not every poll
        self.lock = asyncio.Lock()

    async def reload(self, why: str) -> bool:
        """Load the FAQ again; whether a new version now answers."""
        async with self.lock:
            try:
                loaded = await asyncio.to_thread(build, self.directory,
                                                 team_inbox=self.team_inbox,
                                                 cache_dir=self.cache_dir)
            except FaqError as error:
                await self._refuse(error, why)
                return False
            except OSError as error:  # a file vanished mid-edit: the next change will retry
                log.warning("FAQ reload (%s) failed: %s", why, type(error).__name__)
                return False
            self.current, self.refused = loaded, None
            self.swap(loaded)
            log.info("FAQ reloaded (%s): version %s", why, loaded.version)
            return True

    async def watch(self, every: float = 2.0) -> None:
        """Reload whenever the files' content changes (CAREERBOT_FAQ_WATCH=1), until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                version = await asyncio.to_thread(faq_version, self.directory)
            except OSError:
                continue
            if version not in (self.current.version, self.refused):
                await self.reload("files changed")

    async def follow_requests(self, asked: Callable[[], Awaitable[datetime | None]],
                              every: float = 2.0) -> None:
        """Reload whenever an operator asks again (`careerbot reload`: a time in the database
        that every instance reads), until cancelled.
        """
        seen = await asked()
        while True:
            await asyncio.sleep(every)
            try:
                latest = await asked()
            except Exception as error:  # the database is away: ask again later
                log.warning("reload requests unreadable (%s)", type(error).__name__)
                continue
            if latest is not None and latest != seen:
                seen = latest
                await self.reload("careerbot reload")

    async def _refuse(self, error: FaqError, why: str) -> None:
        version = await asyncio.to_thread(faq_version, self.directory)
        errors = [p for p in error.problems if p.severity == "error"]
        log.error("FAQ reload (%s) refused: %d error(s); still answering with version %s",
                  why, len(errors), self.current.version)
        for problem in errors:
            log.error("  %s", problem.render("en"))
        if version != self.refused and self.notify is not None:
            try:
                await self.notify(refusal(error, self.directory, self.current.label))
            except Exception as failure:  # telling the organisers must not break the bot
                log.warning("could not tell the organisers: %s", type(failure).__name__)
        self.refused = version
