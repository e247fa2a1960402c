"""Subscriptions, feedback and organisers' broadcasts, end to end: real bot process, real HTTP
to the Bot API double, a real SQLite file; including a SIGKILL in the middle of a broadcast.
"""

from __future__ import annotations

import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from careerbot import callbacks as cb
from careerbot.callbacks import decode, encode
from careerbot.storage.database import default_url
from tests.botapi.server import BotApiDouble, Call, SentMessage
from tests.conftest import REPO
from tests.telegram_harness import payload, press, shown, start_bot, stop_bot, subscribe_all

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





def tap(double: BotApiDouble, chat: int, message_id: int, kind: type[cb.Action],
        **fields: object) -> Call:
    """Press the message's button of this kind; the query's answer."""
    return press(double, chat, message_id, payload(double, chat, message_id, kind, **fields))


def say(double: BotApiDouble, user: int, text: str) -> Call:
    """Send a private message and wait for the reply."""
    return double.wait_reply(user, double.send_text(user, text))


def test_subscribe_change_and_unsubscribe(double: BotApiDouble, bot: object, data: Path) -> None:
    """/abonner toggles topics and saves them; /mesabonnements shows them; /desabonner stops."""
    user = new_user()
    menu = say(double, user, "/abonner")
    message_id = menu.result["message_id"]
    press(double, user, message_id, "1s:concours")
    press(double, user, message_id, "1s:alternance")
    press(double, user, message_id, "1ss")
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
    press(double, user, menu.result["message_id"], "1s:all")
    press(double, user, menu.result["message_id"], "1ss")
    say(double, user, f"xkcd quasar {user} nébuleuse")  # unanswered, so kept for maintainers
    wait_until(lambda: rows(data, f"select status from unanswered where text like "
                                  f"'%quasar {user}%'") != [], timeout=5)  # behind the reply
    ask = say(double, user, "/oublier")
    press(double, user, ask.result["message_id"], "1o:1")
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
    press(double, user, answer.result["message_id"], "1f:pacte:0")
    assert rows(data, "select entry_id, helpful from feedback") == [("pacte", 0)]
    say(double, user, "blorp snark quux")
    wait_until(lambda: ("blorp snark quux", "fallback")
               in rows(data, "select text, status from unanswered"), timeout=5)
    columns = {c[1] for t in ("feedback", "unanswered")
               for c in rows(data, f"pragma table_info({t})")}
    assert not columns & {"chat_id", "user_id"}


_forged = itertools.count(1)


def forged_press(double: BotApiDouble, user: int, message: Call | SentMessage, data: str) -> Call:
    """A callback with data the message does not offer (forged, or a tap that raced an edit);
    the query's answer.
    """
    mark = len(double.calls)
    shown_message = dict(message.result if isinstance(message, Call) else message.payload)
    double.push_update({"callback_query": {"id": f"forged-{user}-{next(_forged)}", "from": {
        "id": user, "is_bot": False, "first_name": "Mallory"}, "message": shown_message,
        "chat_instance": "1", "data": data}})
    return double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


DRAFTS = "select id, state, flow_step, version, topics, everyone, send_at from broadcasts"


def test_non_admin_can_do_nothing(double: BotApiDouble, bot: object, data: Path) -> None:
    """A non-organiser's /annonce, /annonces and every organiser button (even with the real ids
    of a draft and a broadcast) are refused, changing nothing.
    """
    user = new_user()
    refused = "Cette action est réservée aux organisateurs FP21. 🔒"
    assert say(double, user, "/annonce Bonjour à tous").params["text"] == refused
    assert say(double, user, "/annonces").params["text"] == refused
    audience = say(double, ADMIN, "/annonce Bonjour à tous")
    draft = decode(audience.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    assert isinstance(draft, cb.AudienceTopic)
    number, version = draft.draft, draft.version
    before = rows(data, DRAFTS)
    message = say(double, user, "/start")
    forged = [*shown(double, ADMIN, audience.result["message_id"]).callback_data,
              *(encode(kind(number, version)) for kind in (cb.AudienceDone, cb.ConfirmDraft,
                                                          cb.AbandonDraft)),
              encode(cb.SendTime(number, version, "now")),
              *(encode(kind(number)) for kind in (cb.PauseBroadcast, cb.ResumeBroadcast,
                                                  cb.CancelBroadcast, cb.AskResend,
                                                  cb.ConfirmResend, cb.KeepUncertain)),
              "ann:ok:1", "ann:cancel:1", "ann:at:now", "ann:aud:all"]
    for data_ in forged:
        assert forged_press(double, user, message, data_).params.get("text") == refused, data_
    assert rows(data, DRAFTS) == before
    say(double, ADMIN, "/annuler")


def test_organiser_can_abandon_an_announcement(double: BotApiDouble, bot: object, data: Path) -> None:
    """/annuler during /annonce abandons it; the next message is a question again."""
    say(double, ADMIN, "/annonce")
    assert say(double, ADMIN, "/annuler").params["text"] == "Annonce abandonnée, rien n'a été envoyé."
    assert "PACTE" in say(double, ADMIN, "c'est quoi le PACTE ?").params["text"]


def subscribe_directly(data: Path, double: BotApiDouble, chats: list[int]) -> None:
    """Many subscribers at once: rows written to the bot's database, chats made known to the
    double (as if each had talked to the bot).
    """
    subscribe_all(default_url(data), chats)
    for chat in chats:
        double.my_chat_member(chat, "member")


def announce(double: BotApiDouble, text: str, bold: str = "") -> tuple[int, int]:
    """Go through /annonce as the organiser: text (with `bold` set in bold, as Telegram's editor
    does), everyone, now, preview, confirm. The broadcast and the message showing its report.
    """
    start = say(double, ADMIN, "/annonce")
    assert start.params["text"].startswith("📣 <b>Nouvelle annonce</b>")
    entities = [{"type": "bold", "offset": text.index(bold), "length": len(bold)}] if bold else []
    audience = double.wait_reply(ADMIN, double.send_text(ADMIN, text, entities=entities))
    html = text.replace(bold, f"<b>{bold}</b>") if bold else text
    message_id = audience.result["message_id"]
    tap(double, ADMIN, message_id, cb.AudienceEveryone)
    tap(double, ADMIN, message_id, cb.AudienceDone)
    mark = len(double.calls)
    tap(double, ADMIN, message_id, cb.SendTime, choice="now")
    sent = [c for c in double.calls[mark:] if c.method == "sendMessage" and c.ok
            and c.params["chat_id"] == ADMIN]
    preview, controls = sent[-2], sent[-1]
    assert preview.params["text"] == html  # exactly as recipients will see it
    assert "Destinataires" in controls.params["text"]
    assert "tout le monde (tous les abonnés)" in controls.params["text"]
    confirm = payload(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
    press(double, ADMIN, controls.result["message_id"], confirm)
    action = decode(confirm)
    assert isinstance(action, cb.ConfirmDraft)
    return action.draft, controls.result["message_id"]


def copies(double: BotApiDouble, chat: int, text: str) -> int:
    """How many copies of a broadcast text a chat received."""
    return sum(1 for m in double.messages_to(chat) if m.text and m.text == text)


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    """Poll a condition (a callable) until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
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
    broadcast, _ = announce(double, text, bold="inscrivez-vous")
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
    press(double, ADMIN, listed.result["message_id"], encode(cb.PauseBroadcast(broadcast)))
    assert rows(data, f"select state from broadcasts where id={broadcast}") == [("paused",)]
    mark = len(double.calls)
    double.send_text(ADMIN, "/annonces")
    listed = double.wait_for(lambda c: c.method == "sendMessage"
                             and f"Annonce #{broadcast}</b>" in c.params["text"], since=mark)
    press(double, ADMIN, listed.result["message_id"], encode(cb.CancelBroadcast(broadcast)))
    assert rows(data, f"select state from broadcasts where id={broadcast}") == [("cancelled",)]
    assert all(copies(double, c, "Plus tard") == 0 for c in chats)


def draft_row(data: Path, draft: int) -> tuple[object, ...]:
    """A draft's state, step, version, topics, everyone flag and time, from the database."""
    return rows(data, f"{DRAFTS} where id={draft}")[0][1:]


def test_next_with_nothing_ticked_asks_to_choose(double: BotApiDouble, bot: object,
                                                 data: Path) -> None:
    """"Suivant" with no topic asks to choose instead of sending to everyone; ticking a topic
    twice (a double tap) leaves it unticked and the keyboard's other buttons valid.
    """
    audience = say(double, ADMIN, "/annonce Réunion d'information")
    message_id = audience.result["message_id"]
    draft = decode(payload(double, ADMIN, message_id, cb.AudienceDone))
    assert isinstance(draft, cb.AudienceDone)
    answer = tap(double, ADMIN, message_id, cb.AudienceDone)
    assert answer.params["text"] == ("Choisissez d'abord à qui l'envoyer : cochez un sujet, ou "
                                     "« Tout le monde ».")
    assert draft_row(data, draft.draft)[:2] == ("draft", "audience")
    concours = payload(double, ADMIN, message_id, cb.AudienceTopic, topic="concours")
    press(double, ADMIN, message_id, concours)
    assert draft_row(data, draft.draft)[3] == "concours"
    press(double, ADMIN, message_id, concours)  # the same payload again: a double tap
    assert draft_row(data, draft.draft)[3] == ""
    tap(double, ADMIN, message_id, cb.AudienceTopic, topic="alternance")
    tap(double, ADMIN, message_id, cb.AudienceDone)
    assert shown(double, ADMIN, message_id).text == (
        "Quand l'envoyer ? Choisissez, ou écrivez une date : JJ/MM/AAAA HH:MM (Paris).")
    say(double, ADMIN, "/annuler")
    assert draft_row(data, draft.draft)[:2] == ("cancelled", "abandoned")


def test_stale_buttons_change_nothing(double: BotApiDouble, bot: object, data: Path) -> None:
    """A time button after the preview, a button of a replaced draft and a second tap on
    "Envoyer" each answer a clear toast and change nothing.
    """
    audience = say(double, ADMIN, "/annonce Atelier CV samedi")
    message_id = audience.result["message_id"]
    tap(double, ADMIN, message_id, cb.AudienceTopic, topic="concours")
    tap(double, ADMIN, message_id, cb.AudienceDone)
    mark = len(double.calls)
    tap(double, ADMIN, message_id, cb.SendTime, choice="now")
    controls = [c for c in double.calls[mark:] if c.method == "sendMessage"][-1]
    draft = decode(payload(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft))
    assert isinstance(draft, cb.ConfirmDraft)
    before = draft_row(data, draft.draft)

    mark = len(double.calls)
    late = tap(double, ADMIN, message_id, cb.SendTime, choice="hour")  # the old "Quand ?" keyboard
    assert late.params["text"] == ("Cette étape est déjà passée : ce bouton ne fait plus rien. "
                                   "Utilisez les derniers.")
    assert draft_row(data, draft.draft) == before
    assert not [c for c in double.calls[mark:] if c.method in ("sendMessage", "editMessageText")]

    confirm = payload(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
    press(double, ADMIN, controls.result["message_id"], confirm)
    assert draft_row(data, draft.draft)[1] == "confirmed"
    recipients = rows(data, f"select count(*) from deliveries where broadcast_id={draft.draft}")
    again = forged_press(double, ADMIN, shown(double, ADMIN, controls.result["message_id"]),
                         confirm)  # a double tap that raced the edit
    assert again.params["text"] == "Cette annonce est déjà confirmée : rien de plus à faire. ✅"
    assert rows(data, f"select count(*) from deliveries where broadcast_id={draft.draft}") \
        == recipients

    old = say(double, ADMIN, "/annonce Premier jet")
    say(double, ADMIN, "/annonce Second jet")
    old_id = old.result["message_id"]
    replaced = tap(double, ADMIN, old_id, cb.AudienceEveryone)
    assert replaced.params["text"] == "Ce brouillon a été remplacé : ce bouton ne fait plus rien."
    old_draft = decode(payload(double, ADMIN, old_id, cb.AudienceDone))
    assert isinstance(old_draft, cb.AudienceDone)
    assert draft_row(data, old_draft.draft)[:2] == ("cancelled", "replaced")
    say(double, ADMIN, "/annuler")


def test_resend_to_uncertain_recipients(double: BotApiDouble, bot: object, data: Path) -> None:
    """A finished broadcast with uncertain deliveries offers to resend them; after a warning,
    only they get it again, and the report ends on "terminée" in the same message.
    """
    chats = [new_user() for _ in range(4)]
    subscribe_directly(data, double, chats)
    text = "Forum des métiers publics mardi"
    broadcast, _ = announce(double, text)
    wait_until(lambda: rows(data, f"select state from broadcasts where id={broadcast}")
               == [("done",)], 30)
    uncertain = chats[:2]
    with sqlite3.connect(data / "careerbot.db") as connection:
        connection.execute(f"update deliveries set state='unknown' where broadcast_id={broadcast}"
                           f" and chat_id in ({uncertain[0]}, {uncertain[1]})")
    mark = len(double.calls)
    double.send_text(ADMIN, "/annonces")
    listed = double.wait_for(lambda c: c.method == "sendMessage"
                             and f"Annonce #{broadcast}</b>" in c.params["text"], since=mark)
    message_id = listed.result["message_id"]
    resend = payload(double, ADMIN, message_id, cb.AskResend, broadcast=broadcast)
    assert "🔁 Renvoyer aux incertains (2)" in [b["text"] for b in shown(
        double, ADMIN, message_id).buttons]
    press(double, ADMIN, message_id, resend)
    warning = shown(double, ADMIN, message_id).text or ""
    assert "Certains l'ont peut-être déjà reçu et le recevront deux fois." in warning
    assert rows(data, f"select state from broadcasts where id={broadcast}") == [("done",)]
    mark = len(double.calls)
    yes = payload(double, ADMIN, message_id, cb.ConfirmResend)
    press(double, ADMIN, message_id, yes)
    wait_until(lambda: all(copies(double, c, text) == 2 for c in uncertain), 20)
    wait_until(lambda: rows(data, f"select state from broadcasts where id={broadcast}")
               == [("done",)], 20)
    assert all(copies(double, c, text) == 1 for c in chats[2:])
    double.wait_for(lambda c: c.method == "editMessageText" and c.ok
                    and c.params.get("message_id") == message_id
                    and f"Annonce #{broadcast}</b> : terminée" in c.params["text"],
                    timeout=10, since=mark)
    twice = forged_press(double, ADMIN, shown(double, ADMIN, message_id), yes)
    assert twice.params["text"].startswith("Rien à renvoyer")
    assert all(copies(double, c, text) == 2 for c in uncertain)


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
        broadcast, report = announce(double, text)
        wait_until(lambda: sum(copies(double, c, text) for c in chats) >= 60, 30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    delivered_before = sum(copies(double, c, text) for c in chats)
    assert delivered_before < len(chats)  # it was killed mid-way
    mark = len(double.calls)
    with bot_process(double, data):
        candidate = say(double, new_user(), "c'est quoi le PACTE ?")  # while the rest goes out
        assert "PACTE" in candidate.params["text"]
        wait_until(lambda: rows(data, f"select state from broadcasts where id={broadcast}")
                   == [("done",)], 60)
        # The report resumes in the organiser's message of before the kill, and ends.
        double.wait_for(lambda c: c.method == "editMessageText" and c.ok
                        and c.params.get("message_id") == report
                        and f"Annonce #{broadcast}</b> : terminée" in c.params["text"],
                        timeout=10, since=mark)
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
        tap(double, ADMIN, message_id, cb.AudienceDone)
        mark = len(double.calls)
        tap(double, ADMIN, message_id, cb.SendTime, choice="now")
        preview, controls = [c for c in double.calls[mark:] if c.method == "sendMessage"][-2:]
        assert preview.params["text"].startswith("📣 <b>Mission de FP21 au Québec</b>")
        tap(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
        wait_until(lambda: any((m.text or "").startswith("📣 Mission de FP21 au Québec")
                               for m in double.messages_to(chat)), 20)
        received = next(m for m in double.messages_to(chat)
                        if (m.text or "").startswith("📣 Mission"))
        assert received.callback_data == ["1c:mission-quebec-2019"]
        press(double, chat, received.message_id, "1c:mission-quebec-2019")
        document = double.messages_to(chat)[-1].document or {}
        assert document.get("file_name") == "mission-quebec-2019.ics"



def test_a_draft_survives_restarts(double: BotApiDouble, data: Path) -> None:
    """/annonce, restart, the text, restart, then audience, time and confirmation: it is sent."""
    chat = new_user()
    text = "Portes ouvertes de l'IRA de Lyon"
    with bot_process(double, data):
        subscribe_directly(data, double, [chat])
        assert say(double, ADMIN, "/annonce").params["text"].startswith("📣 <b>Nouvelle annonce")
    with bot_process(double, data):
        audience = say(double, ADMIN, text)
        assert audience.params["text"].startswith("À qui l'envoyer ?")
    with bot_process(double, data):
        message_id = audience.result["message_id"]
        tap(double, ADMIN, message_id, cb.AudienceEveryone)
        tap(double, ADMIN, message_id, cb.AudienceDone)
        mark = len(double.calls)
        tap(double, ADMIN, message_id, cb.SendTime, choice="now")
        controls = [c for c in double.calls[mark:] if c.method == "sendMessage"][-1]
        tap(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
        wait_until(lambda: copies(double, chat, text) == 1, 20)
