"""Subscriptions, feedback and organisers' broadcasts, end to end: real bot process, real HTTP
to the Bot API double, a real SQLite file; including a SIGKILL in the middle of a broadcast.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from careerbot.storage import subscribers
from careerbot.storage.database import default_url, migrate, open_engine, sessions
from tests.botapi.server import BotApiDouble, Call
from tests.conftest import REPO
from tests.telegram_harness import start_bot, stop_bot

ADMIN = 42
_users = itertools.count(5000)


def new_user() -> int:
    """A user id no other test uses."""
    return next(_users)


@contextmanager
def bot_process(double: BotApiDouble, data: Path) -> Iterator[subprocess.Popen[str]]:
    """`careerbot run` with organiser ADMIN and its database under `data`."""
    env = {"CAREERBOT_ADMIN_IDS": str(ADMIN), "CAREERBOT_DATA_DIR": str(data)}
    bot = start_bot(double, REPO / "faq", data, env)
    try:
        yield bot.process
    finally:
        stop_bot(bot.process)


@pytest.fixture(scope="module")
def double() -> Iterator[BotApiDouble]:
    """The Bot API test double."""
    with BotApiDouble() as api:
        yield api


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bot's data directory (its SQLite file lives there)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, data: Path) -> Iterator[subprocess.Popen[str]]:
    """The bot, with organiser ADMIN."""
    with bot_process(double, data) as process:
        yield process


@pytest.fixture(autouse=True)
def no_violation(double: BotApiDouble) -> Iterator[None]:
    """After each test, nothing the bot sent broke the Bot API spec."""
    yield
    double.assert_no_violations()


def rows(data: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the bot's database file directly."""
    with sqlite3.connect(data / "careerbot.db") as connection:
        return list(connection.execute(sql))


def press(double: BotApiDouble, user: int, message_id: int, data: str) -> None:
    """Press a button and wait until the bot answered the query (it does so last)."""
    mark = len(double.calls)
    double.press_button(user, message_id, data)
    double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


def say(double: BotApiDouble, user: int, text: str) -> Call:
    """Send a private message and wait for the reply."""
    return double.wait_reply(user, double.send_text(user, text))


def test_subscribe_change_and_unsubscribe(double: BotApiDouble, bot: object, data: Path) -> None:
    """/abonner toggles topics and saves them; /mesabonnements shows them; /desabonner stops."""
    user = new_user()
    menu = say(double, user, "/abonner")
    message_id = menu.result["message_id"]
    press(double, user, message_id, "sub:concours")
    press(double, user, message_id, "sub:alternance")
    press(double, user, message_id, "sub:save")
    assert (double.messages_to(user)[-1].text or "").startswith(
        "C'est noté ✅ Vous recevrez : Concours, Alternance et apprentissage.")
    assert sorted(rows(data, f"select topic from subscriptions where chat_id={user}")) == [
        ("alternance",), ("concours",)]
    assert "Concours" in (say(double, user, "/mesabonnements").params["text"])
    assert say(double, user, "/desabonner").params["text"].startswith("Vous êtes désabonné")
    assert rows(data, f"select * from subscribers where chat_id={user}") == []


def test_forget_erases_everything(double: BotApiDouble, bot: object, data: Path) -> None:
    """/oublier, once confirmed, leaves no row about the user, nor their recent question."""
    user = new_user()
    menu = say(double, user, "/abonner")
    press(double, user, menu.result["message_id"], "sub:all")
    press(double, user, menu.result["message_id"], "sub:save")
    say(double, user, f"xkcd quasar {user} nébuleuse")  # unanswered, so kept for maintainers
    assert rows(data, f"select status from unanswered where text like '%quasar {user}%'") != []
    ask = say(double, user, "/oublier")
    press(double, user, ask.result["message_id"], "forget:yes")
    assert (double.messages_to(user)[-1].text or "").startswith(
        "C'est fait : abonnement, historique, questions et avis récents effacés.")
    for table in ("subscribers", "subscriptions", "deliveries"):
        assert rows(data, f"select * from {table} where chat_id={user}") == []
    assert rows(data, f"select * from unanswered where text like '%quasar {user}%'") == []


def test_feedback_and_unanswered_are_stored_without_identity(double: BotApiDouble, bot: object,
                                                             data: Path) -> None:
    """A vote and an unanswered question are stored, and neither holds who sent it."""
    user = new_user()
    answer = say(double, user, "c'est quoi le PACTE ?")
    assert "Cette réponse vous a aidé ?" in answer.params["text"]
    press(double, user, answer.result["message_id"], "fb:pacte:0")
    assert rows(data, "select entry_id, helpful from feedback") == [("pacte", 0)]
    say(double, user, "blorp snark quux")
    assert ("blorp snark quux", "fallback") in rows(data, "select text, status from unanswered")
    columns = {c[1] for t in ("feedback", "unanswered")
               for c in rows(data, f"pragma table_info({t})")}
    assert not columns & {"chat_id", "user_id"}


def forged_press(double: BotApiDouble, user: int, message: Call, data: str) -> None:
    """A callback with data the bot never offered (a forged button), on a real bot message."""
    mark = len(double.calls)
    payload = dict(message.result)
    double.push_update({"callback_query": {"id": f"forged-{user}-{data}", "from": {
        "id": user, "is_bot": False, "first_name": "Mallory"}, "message": payload,
        "chat_instance": "1", "data": data}})
    double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


def test_non_admin_can_do_nothing(double: BotApiDouble, bot: object, data: Path) -> None:
    """A non-organiser's /annonce, /annonces and forged admin buttons are refused, changing nothing."""
    user = new_user()
    refused = "Cette action est réservée aux organisateurs FP21. 🔒"
    assert say(double, user, "/annonce Bonjour à tous").params["text"] == refused
    assert say(double, user, "/annonces").params["text"] == refused
    before = rows(data, "select id, state from broadcasts")
    message = say(double, user, "/start")
    for data_ in ("ann:ok:1", "ann:cancel:1", "ann:at:now", "ann:aud:all"):
        forged_press(double, user, message, data_)
    assert rows(data, "select id, state from broadcasts") == before


def test_organiser_can_abandon_an_announcement(double: BotApiDouble, bot: object, data: Path) -> None:
    """/annuler during /annonce abandons it; the next message is a question again."""
    say(double, ADMIN, "/annonce")
    assert say(double, ADMIN, "/annuler").params["text"] == "Annonce abandonnée, rien n'a été envoyé."
    assert "PACTE" in say(double, ADMIN, "c'est quoi le PACTE ?").params["text"]


def subscribe_directly(data: Path, double: BotApiDouble, chats: list[int]) -> None:
    """Many subscribers at once: rows written to the bot's database, chats made known to the
    double (as if each had talked to the bot).
    """
    async def write() -> None:
        engine = open_engine(default_url(data))
        await migrate(engine)
        db = sessions(engine)
        for chat in chats:
            await subscribers.subscribe(db, chat, "fr", ["all"])
        await engine.dispose()
    asyncio.run(write())
    for chat in chats:
        double.my_chat_member(chat, "member")


def announce(double: BotApiDouble, text: str, bold: str = "") -> int:
    """Go through /annonce as the organiser: text (with `bold` set in bold, as Telegram's editor
    does), everyone, now, preview, confirm.
    """
    start = say(double, ADMIN, "/annonce")
    assert start.params["text"].startswith("📣 <b>Nouvelle annonce</b>")
    entities = [{"type": "bold", "offset": text.index(bold), "length": len(bold)}] if bold else []
    audience = double.wait_reply(ADMIN, double.send_text(ADMIN, text, entities=entities))
    html = text.replace(bold, f"<b>{bold}</b>") if bold else text
    press(double, ADMIN, audience.result["message_id"], "ann:aud:all")
    press(double, ADMIN, audience.result["message_id"], "ann:when")
    mark = len(double.calls)
    press(double, ADMIN, audience.result["message_id"], "ann:at:now")
    sent = [c for c in double.calls[mark:] if c.method == "sendMessage" and c.ok
            and c.params["chat_id"] == ADMIN]
    preview, controls = sent[-2], sent[-1]
    assert preview.params["text"] == html  # exactly as recipients will see it
    assert "Destinataires" in controls.params["text"]
    confirm = next(b["callback_data"] for row in controls.params["reply_markup"]["inline_keyboard"]
                   for b in row if b["callback_data"].startswith("ann:ok:"))
    press(double, ADMIN, controls.result["message_id"], confirm)
    return int(confirm.split(":")[2])


def copies(double: BotApiDouble, chat: int, text: str) -> int:
    """How many copies of a broadcast text a chat received."""
    return sum(1 for m in double.messages_to(chat) if m.text and m.text == text)


def wait_until(condition: object, timeout: float) -> None:
    """Poll a condition (a callable) until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_announcement_with_faults(double: BotApiDouble, bot: object, data: Path) -> None:
    """Through preview and confirmation: each reachable subscriber gets one copy; blocked users
    are unsubscribed; a 429 is retried; a 5xx (which may come after delivery) is reported
    uncertain and not resent; the organiser gets the report.
    """
    chats = [new_user() for _ in range(40)]
    subscribe_directly(data, double, chats)
    blocked = chats[:3]
    for chat in blocked:  # blocked without the bot being told: the send gets 403
        double.fail_next("sendMessage", 403, chat_id=chat)
    double.fail_next("sendMessage", 429, retry_after=1, chat_id=chats[5])
    double.fail_next("sendMessage", 502, chat_id=chats[6])
    say(double, ADMIN, "/start")
    text = "Soirée FP21 jeudi : inscrivez-vous !"
    broadcast = announce(double, text, bold="inscrivez-vous")
    wait_until(lambda: rows(data, f"select state from broadcasts where id={broadcast}")
               == [("done",)], 30)
    uncertain = chats[6]  # the double did not deliver on its 502; the bot cannot know that
    assert all(copies(double, chat, text) == 1 for chat in chats[3:] if chat != uncertain)
    assert all(copies(double, chat, text) == 0 for chat in [*blocked, uncertain])
    for chat in blocked:
        assert rows(data, f"select * from subscribers where chat_id={chat}") == []
    states = {str(state): int(str(n)) for state, n in rows(
        data, f"select state, count(*) from deliveries where broadcast_id={broadcast} "
              "group by state")}
    assert states == {"sent": 36, "blocked": 3, "unknown": 1}
    wait_until(lambda: any(f"Annonce #{broadcast}</b> : terminée" in (c.params.get("text") or "")
                           for c in double.calls_to("editMessageText")), 10)
    listing = say(double, ADMIN, "/annonces")
    assert "📣" in listing.params["text"]


def test_blocking_the_bot_unsubscribes(double: BotApiDouble, bot: object, data: Path) -> None:
    """When a user blocks the bot (my_chat_member 'kicked'), their subscription ends."""
    chat = new_user()
    subscribe_directly(data, double, [chat])
    double.my_chat_member(chat, "kicked")
    wait_until(lambda: rows(data, f"select * from subscribers where chat_id={chat}") == [], 10)


def test_pause_and_cancel_from_the_list(double: BotApiDouble, bot: object, data: Path) -> None:
    """/annonces offers pause/cancel on a scheduled broadcast; pressing them changes its state."""
    chats = [new_user() for _ in range(3)]
    subscribe_directly(data, double, chats)
    done = subprocess.run([str(Path(sys.executable).parent / "careerbot"), "broadcast", "--text",
                           "Plus tard", "--at", "2030-01-01T09:00:00+01:00", "--faq",
                           str(REPO / "faq")], cwd=data.parent,
                          env={"PATH": "/usr/bin:/bin", "CAREERBOT_DATA_DIR": str(data)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    broadcast = int(done.stdout.split("#")[1].split()[0])
    mark = len(double.calls)
    double.send_text(ADMIN, "/annonces")
    listed = double.wait_for(lambda c: c.method == "sendMessage"
                             and f"Annonce #{broadcast}</b>" in c.params["text"], since=mark)
    press(double, ADMIN, listed.result["message_id"], f"ann:pause:{broadcast}")
    assert rows(data, f"select state from broadcasts where id={broadcast}") == [("paused",)]
    mark = len(double.calls)
    double.send_text(ADMIN, "/annonces")
    listed = double.wait_for(lambda c: c.method == "sendMessage"
                             and f"Annonce #{broadcast}</b>" in c.params["text"], since=mark)
    press(double, ADMIN, listed.result["message_id"], f"ann:cancel:{broadcast}")
    assert rows(data, f"select state from broadcasts where id={broadcast}") == [("cancelled",)]
    assert all(copies(double, c, "Plus tard") == 0 for c in chats)


# The next tests stop the shared bot and run their own processes: keep them last.


def test_sigkill_mid_broadcast_loses_and_doubles_nothing(double: BotApiDouble, bot: object,
                                                         data: Path, tmp_path: Path) -> None:
    """Kill -9 the bot while it sends; after a restart every subscriber has exactly one copy,
    except those reported uncertain, who have at most one.
    """
    bot.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
    bot.wait(timeout=10)  # type: ignore[attr-defined]
    chats = [new_user() for _ in range(240)]
    subscribe_directly(data, double, chats)
    double.rate_limit(30)  # Telegram's pace: the broadcast takes ~8 s
    text = "Nouvelle session de la Prépa Talents ouverte"
    with bot_process(double, data) as first:
        say(double, ADMIN, "/start")
        broadcast = announce(double, text)
        wait_until(lambda: sum(copies(double, c, text) for c in chats) >= 60, 30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    delivered_before = sum(copies(double, c, text) for c in chats)
    assert delivered_before < len(chats)  # it was killed mid-way
    with bot_process(double, data):
        candidate = say(double, new_user(), "c'est quoi le PACTE ?")  # while the rest goes out
        assert "PACTE" in candidate.params["text"]
        wait_until(lambda: rows(data, f"select state from broadcasts where id={broadcast}")
                   == [("done",)], 60)
    double.rate_limit(None)
    unknown = {chat for (chat,) in rows(data, f"select chat_id from deliveries where "
                                              f"broadcast_id={broadcast} and state='unknown'")}
    assert len(unknown) <= 8 * 4  # at most the sends in flight when killed
    for chat in chats:
        expected = {0, 1} if chat in unknown else {1}
        assert copies(double, chat, text) in expected, chat


def test_event_announcement_carries_its_link_and_calendar(double: BotApiDouble, data: Path) -> None:
    """/annonce evenement <id> prefills the text; recipients can add the event to a calendar."""
    chat = new_user()
    with bot_process(double, data):
        subscribe_directly(data, double, [chat])
        start = say(double, ADMIN, "/annonce evenement mission-quebec-2019")
        assert start.params["text"].startswith("À qui l'envoyer ?")
        message_id = start.result["message_id"]
        press(double, ADMIN, message_id, "ann:when")
        mark = len(double.calls)
        press(double, ADMIN, message_id, "ann:at:now")
        preview, controls = [c for c in double.calls[mark:] if c.method == "sendMessage"][-2:]
        assert preview.params["text"].startswith("📣 <b>Mission de FP21 au Québec</b>")
        confirm = next(b["callback_data"] for row in controls.params["reply_markup"]["inline_keyboard"]
                       for b in row if b["callback_data"].startswith("ann:ok:"))
        press(double, ADMIN, controls.result["message_id"], confirm)
        wait_until(lambda: any((m.text or "").startswith("📣 Mission de FP21 au Québec")
                               for m in double.messages_to(chat)), 20)
        received = next(m for m in double.messages_to(chat)
                        if (m.text or "").startswith("📣 Mission"))
        assert received.callback_data == ["ics:mission-quebec-2019"]
        press(double, chat, received.message_id, "ics:mission-quebec-2019")
        document = double.messages_to(chat)[-1].document or {}
        assert document.get("file_name") == "mission-quebec-2019.ics"

