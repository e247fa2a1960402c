"""Live FAQ reloads keep the last good version: on a copy of the mini FAQ, then in a running bot."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import time
from pathlib import Path

from careerbot.faq_reload import Loaded, Reloader, build
from tests.botapi import BotApiDouble
from tests.conftest import edit, line_of
from tests.telegram_harness import CAREERBOT, bot_environment, running_bot

NEW_ANSWER = "Le <b>concours</b> reste la voie normale, revue ce matin."
NEWER_ANSWER = "Le <b>concours</b> reste la voie normale, relue à midi."
ADMIN_CHAT = -100_777
ASKERS = itertools.count(6_100_000)


def reloader(faq_dir: Path) -> tuple[Reloader, list[Loaded], list[str]]:
    """A reloader on `faq_dir`, with what it swapped in and what it told the organisers."""
    swapped: list[Loaded] = []
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    return (Reloader(faq_dir, build(faq_dir, team_inbox=False), team_inbox=False,
                     swap=swapped.append, notify=notify), swapped, told)


def answer(loaded: Loaded, question: str) -> str:
    """The HTML reply of a version to a question."""
    return loaded.conversation.ask(question).html


def test_an_edit_is_swapped_in(faq_dir: Path) -> None:
    """After an edit, a reload answers with the new text and a new version."""
    reload, swapped, told = reloader(faq_dir)
    before = reload.current
    edit(faq_dir / "acces.yaml", "Le <b>concours</b> est la voie normale pour devenir fonctionnaire.",
         NEW_ANSWER)
    assert asyncio.run(reload.reload("test")) is True
    assert len(swapped) == 1 and swapped[0].version != before.version
    assert NEW_ANSWER in answer(swapped[0], "c'est quoi un concours")
    assert told == []


def test_a_broken_edit_is_refused_and_told_once(faq_dir: Path) -> None:
    """A FAQ that fails the checker is refused whole; the organisers hear it once, with the file
    and line; the last good version keeps answering; a fix is taken.
    """
    reload, swapped, told = reloader(faq_dir)
    good = reload.current
    path = faq_dir / "acces.yaml"
    edit(path, "related: [contractuel]", "related: [n-existe-pas]")
    line = line_of(path, "n-existe-pas")

    async def twice() -> list[bool]:
        return [await reload.reload("test"), await reload.reload("test again")]

    assert asyncio.run(twice()) == [False, False]
    assert swapped == [] and reload.current is good
    assert len(told) == 1
    assert f"acces.yaml:{line}" in told[0] and "n-existe-pas" in told[0]
    assert good.version in told[0]  # which version still answers
    edit(path, "related: [n-existe-pas]", "related: [contractuel]")
    assert asyncio.run(reload.reload("fixed")) is True


def test_watching_reloads_on_change(faq_dir: Path) -> None:
    """With the watch on, saving a file is enough."""
    reload, swapped, _ = reloader(faq_dir)

    async def scenario() -> None:
        watch = asyncio.create_task(reload.watch(every=0.05))
        edit(faq_dir / "acces.yaml",
             "Le <b>concours</b> est la voie normale pour devenir fonctionnaire.", NEW_ANSWER)
        for _ in range(200):
            if swapped:
                break
            await asyncio.sleep(0.05)
        watch.cancel()

    asyncio.run(scenario())
    assert len(swapped) == 1 and NEW_ANSWER in answer(swapped[0], "c'est quoi un concours")


def test_sighup_reloads_a_running_bot_and_keeps_the_last_good(faq_dir: Path,
                                                              tmp_path: Path) -> None:
    """In a running bot: SIGHUP takes an edit at once; a broken edit is refused, told to the
    organisers' chat in one message with file and line, and answers go on; /aide shows the version;
    `careerbot reload`, run elsewhere, reaches the bot through the database.
    """
    with BotApiDouble() as double:
        double.send_text(1, "/start", chat_id=ADMIN_CHAT, chat_type="supergroup")
        env = {"CAREERBOT_ADMIN_CHAT_ID": str(ADMIN_CHAT),
               "CAREERBOT_DATA_DIR": str(tmp_path / "data")}
        with running_bot(double, faq_dir, tmp_path, env) as bot:
            user = 6_000_001
            asked = double.send_text(user, "c'est quoi un concours")
            assert "voie normale pour devenir" in double.wait_reply(user, asked).params["text"]
            help_before = double.wait_reply(user, double.send_text(user, "/aide")).params["text"]

            edit(faq_dir / "acces.yaml",
                 "Le <b>concours</b> est la voie normale pour devenir fonctionnaire.", NEW_ANSWER)
            bot.process.send_signal(signal.SIGHUP)
            ask_until(double, user, "revue ce matin")
            help_after = double.wait_reply(user, double.send_text(user, "/aide")).params["text"]
            assert "FAQ " in help_before and help_after != help_before  # a new version shows

            path = faq_dir / "acces.yaml"
            edit(path, "related: [contractuel]", "related: [n-existe-pas]")
            mark = len(double.calls)
            bot.process.send_signal(signal.SIGHUP)
            told = double.wait_for(lambda c: c.method == "sendMessage"
                                   and c.params["chat_id"] == ADMIN_CHAT, since=mark, timeout=20)
            assert f"acces.yaml:{line_of(path, 'n-existe-pas')}" in told.params["text"]
            asked = double.send_text(user, "c'est quoi un concours")
            assert "revue ce matin" in double.wait_reply(user, asked).params["text"]

            # Fixed, then `careerbot reload` from another process, through the database.
            edit(path, "related: [n-existe-pas]", "related: [contractuel]")
            edit(path, NEW_ANSWER, NEWER_ANSWER)
            done = subprocess.run([str(CAREERBOT), "reload", "--faq", str(faq_dir)],
                                  env=bot_environment(double, faq_dir, env), cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            ask_until(double, user, "relue à midi")
        double.assert_no_violations()


def ask_until(double: BotApiDouble, user: int, expected: str, timeout: float = 20) -> None:
    """Ask until the answer shows `expected` (a reload is asynchronous); each time as another
    user, so that flood control is not what is tested.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asker = next(ASKERS)
        asked = double.send_text(asker, "c'est quoi un concours")
        if expected in double.wait_reply(asker, asked).params["text"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"the answer never showed {expected!r}")


def test_reload_requests_are_followed_once_each(faq_dir: Path) -> None:
    """A new request time triggers one reload; the same time again, none."""
    reload, swapped, _ = reloader(faq_dir)
    times = iter([None, None, 1.0, 1.0, 2.0])

    async def asked() -> float | None:
        return next(times, 2.0)

    async def scenario() -> None:
        follow = asyncio.create_task(reload.follow_requests(asked, every=0.01))  # type: ignore[arg-type]
        edit(faq_dir / "acces.yaml",
             "Le <b>concours</b> est la voie normale pour devenir fonctionnaire.", NEW_ANSWER)
        await asyncio.sleep(0.3)
        follow.cancel()

    asyncio.run(scenario())
    assert len(swapped) == 2  # at 1.0 and at 2.0
