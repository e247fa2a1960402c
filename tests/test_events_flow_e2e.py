"""Organisers keep events current from Telegram, end to end: the real bot process, real HTTP to
the Bot API double, a real SQLite file. An event typed in Telegram shows at once in /evenements
and under answers on its topic; one written by another instance shows within a second; editing
and cancelling reach the right people; a non-organiser can do none of it.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careerbot import callbacks as cb
from careerbot.callbacks import decode, encode
from careerbot.faq import Event
from careerbot.french_dates import PARIS
from careerbot.storage import events, subscribers
from careerbot.storage.database import default_url, migrate, open_engine, sessions
from tests.botapi.server import BotApiDouble, Call, SentMessage
from tests.conftest import FIXTURES
from tests.telegram_harness import launch_bot, payload, press, running_bot, shown, stop_bot

ADMIN = 42
FOLLOWERS = {7001: ["evenements"], 7002: ["sans-concours"], 7003: ["alternance"]}
_users = itertools.count(7100)
OUPS = "Oups"


def new_user() -> int:
    """A user id no other test uses."""
    return next(_users)


def seed(data: Path, *stored: Event) -> None:
    """Subscribers (and events, as another instance would write them) in the bot's database."""
    async def write() -> None:
        engine = open_engine(default_url(data))
        await migrate(engine)
        db = sessions(engine)
        for chat, topics in FOLLOWERS.items():
            if await subscribers.topics_of(db, chat) is None:
                await subscribers.subscribe(db, chat, "fr", topics)
        for event in stored:
            assert await events.add(db, event, owner=ADMIN) is not None
        await engine.dispose()
    asyncio.run(write())


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bot's data directory."""
    return tmp_path_factory.mktemp("events-data")


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, data: Path) -> Iterator[None]:
    """The bot on the mini FAQ with organiser ADMIN; three subscribers."""
    seed(data)
    for chat in FOLLOWERS:
        double.my_chat_member(chat, "member")
    env = {"CAREERBOT_ADMIN_IDS": str(ADMIN), "CAREERBOT_DATA_DIR": str(data)}
    with running_bot(double, FIXTURES / "faq", data, env):
        yield


@pytest.fixture(autouse=True)
def no_violation(double: BotApiDouble) -> Iterator[None]:
    """After each test, nothing the bot sent broke the Bot API spec, and no reply said "Oups"."""
    yield
    double.assert_no_violations()
    assert not [c for c in double.calls if OUPS in str(c.params.get("text", ""))]


def rows(data: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the bot's database file directly."""
    with sqlite3.connect(data / "careerbot.db") as connection:
        return list(connection.execute(sql))


def say(double: BotApiDouble, user: int, text: str) -> Call:
    """Send a private message and wait for the (first) reply."""
    return double.wait_reply(user, double.send_text(user, text))


def said(double: BotApiDouble, user: int, text: str) -> list[Call]:
    """Send a private message; every message the bot sent in reply (after a short settle)."""
    mark = len(double.calls)
    double.wait_reply(user, double.send_text(user, text))
    time.sleep(0.3)
    return [c for c in double.calls[mark:] if c.ok and c.method == "sendMessage"
            and c.params.get("chat_id") == user]



def press_again(double: BotApiDouble, user: int, message: Call, data: str) -> Call:
    """A second tap on a button the message showed before it was edited (a double tap races the
    edit); the bot's answer to the query.
    """
    mark = len(double.calls)
    double.push_update({"callback_query": {
        "id": f"again-{user}-{mark}", "from": {"id": user, "is_bot": False, "first_name": "T"},
        "message": message.result, "chat_instance": "1", "data": data}})
    return double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)




def in_days(days: int, hour: str = "18h30") -> str:
    """A date as an organiser types it, `days` from today (Paris)."""
    return f"{(datetime.now(PARIS) + timedelta(days=days)):%d/%m/%Y} {hour}"


def create(double: BotApiDouble, title: str, when: str, topic: str) -> tuple[Call, Call]:
    """Go through /evenement with valid answers; the preview and its controls."""
    assert "Nouvel événement" in say(double, ADMIN, "/evenement").params["text"]
    assert "Quand ?" in say(double, ADMIN, title).params["text"]
    assert "Où ?" in say(double, ADMIN, when).params["text"]
    region = say(double, ADMIN, "Maison des associations, 12 rue de la Paix, Lyon")
    message = region.result["message_id"]
    press(double, ADMIN, message, payload(double, ADMIN, message, cb.EventRegion,
                                         region="auvergne-rhone-alpes"))
    assert "Le lien" in (shown(double, ADMIN, message).text or "")
    assert "une ou deux lignes" in say(double, ADMIN, "https://fp21.fr/rencontre").params["text"]
    topics = say(double, ADMIN, "Rencontre avec de jeunes agents.\nEntrée libre.")
    message = topics.result["message_id"]
    press(double, ADMIN, message, payload(double, ADMIN, message, cb.EventTopic, topic=topic))
    mark = len(double.calls)
    press(double, ADMIN, message, payload(double, ADMIN, message, cb.EventTopicsDone))
    sent = [c for c in double.calls[mark:] if c.ok and c.method == "sendMessage"]
    return sent[-2], sent[-1]


def test_non_admin_can_do_nothing(double: BotApiDouble, bot: None, data: Path) -> None:
    """A non-organiser's /evenement and every event button, even with real ids, are refused and
    change nothing.
    """
    user = new_user()
    refused = "Cette action est réservée aux organisateurs FP21. 🔒"
    assert say(double, user, "/evenement").params["text"] == refused
    assert say(double, user, "/event").params["text"] == refused
    start = say(double, ADMIN, "/evenement")
    draft = decode(start.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    assert isinstance(draft, cb.EventAbandon)
    before = rows(data, "select * from event_drafts")
    message = say(double, user, "/start")
    forged = [encode(cb.EventRegion(draft.draft, draft.version, "bretagne")),
              encode(cb.EventTopic(draft.draft, draft.version, "concours")),
              encode(cb.EventTopicsDone(draft.draft, draft.version)),
              encode(cb.EventField(draft.draft, draft.version, "when")),
              encode(cb.EventConfirm(draft.draft, draft.version)),
              encode(cb.EventAbandon(draft.draft, draft.version)),
              encode(cb.EditEvent(1, 1)), encode(cb.AskCancelEvent(1, 1)),
              encode(cb.CancelEvent(1, 1, notify=True)), encode(cb.KeepEvent(1, 1)),
              encode(cb.AnnounceEvent("soiree-2030"))]
    for data_ in forged:
        mark = len(double.calls)
        double.push_update({"callback_query": {
            "id": f"forged-{user}-{data_}", "from": {"id": user, "is_bot": False,
                                                      "first_name": "Mallory"},
            "message": message.result, "chat_instance": "1", "data": data_}})
        answer = double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)
        assert answer.params.get("text") == refused, data_
    assert rows(data, "select * from event_drafts") == before
    assert say(double, user, "/evenements").params.get("reply_markup", {}).get(
        "inline_keyboard", [[]])[-1][0]["text"] == "🏠 Menu"
    assert not any("Modifier" in str(c.params) for c in double.calls
                   if c.params.get("chat_id") == user)
    say(double, ADMIN, "/annuler")


def test_bad_answers_are_refused_with_what_to_type(double: BotApiDouble, bot: None) -> None:
    """Overlong title and description, bad, past and far-future dates, and a link that is not
    https are each refused with what to type; the flow stays at its step.
    """
    say(double, ADMIN, "/evenement")
    assert "Le titre est trop long : 120 caractères, 100 au plus" in say(
        double, ADMIN, "x" * 120).params["text"]
    say(double, ADMIN, "Atelier concours")
    for typed, says in (("bientôt 18h", "Je n'ai pas compris cette date"),
                        ("12/03/2020 18h", "Cette date est passée"),
                        (in_days(900), "Cette date est à plus de deux ans"),
                        ("31/02 18h", "Cette date n'existe pas"),
                        (in_days(3, ""), "Il manque l'heure")):
        reply = say(double, ADMIN, typed).params["text"]
        assert reply.startswith("⚠️") and says in reply, (typed, reply)
    say(double, ADMIN, in_days(3))
    region = say(double, ADMIN, "en ligne")  # online: no region to ask
    assert "Le lien" in region.params["text"]
    for link in ("http://fp21.fr/atelier", "fp21.fr", "https://"):
        assert "commence par https://" in say(double, ADMIN, link).params["text"]
    say(double, ADMIN, "https://fp21.fr/atelier")
    assert "trop longue : 400 caractères, 300 au plus" in say(
        double, ADMIN, "y" * 400).params["text"]
    assert "3 lignes : 2 au plus" in say(double, ADMIN, "a\nb\nc").params["text"]
    topics = say(double, ADMIN, "Un atelier en ligne.")
    assert "Sur quels sujets" in topics.params["text"]
    assert say(double, ADMIN, "/annuler").params["text"] == "Événement abandonné : rien n'a été publié."


def test_event_created_in_telegram_shows_at_once(double: BotApiDouble, bot: None,
                                                 data: Path) -> None:
    """Acceptance: an event typed in Telegram is in /evenements (with its .ics) and under an
    answer on its topic as soon as it is published; its old buttons then say so politely.
    """
    preview, controls = create(double, "Rencontre des contractuels", in_days(4),
                               "sans-concours")
    assert preview.params["text"].startswith("📅 <b>Rencontre des contractuels</b>, ")
    assert "Maison des associations" in preview.params["text"]
    assert "Auvergne-Rhône-Alpes" in controls.params["text"]
    assert "Emplois sans concours" in controls.params["text"]
    message = controls.result["message_id"]
    confirm = payload(double, ADMIN, message, cb.EventConfirm)
    press(double, ADMIN, message, confirm)
    assert "est publié" in (shown(double, ADMIN, message).text or "")
    started = time.monotonic()
    listing = say(double, new_user(), "/evenements")
    answer = say(double, new_user(), "/start contractuel")
    assert time.monotonic() - started < 1.0
    assert "<b>Rencontre des contractuels</b>" in listing.params["text"]
    assert "📅 Prochain événement sur ce sujet : <b>Rencontre des contractuels</b>" in (
        answer.params["text"])
    event_id = rows(data, "select id from events where title='Rencontre des contractuels'")[0][0]
    calendar = encode(cb.Calendar(str(event_id)))
    assert calendar in shown(double, listing.params["chat_id"],
                             listing.result["message_id"]).callback_data
    toast = press_again(double, ADMIN, controls, confirm)
    assert toast.params.get("text") == "Cet événement est déjà enregistré. ✅"
    assert rows(data, "select count(*) from events where title='Rencontre des contractuels'") == [
        (1,)]


def test_another_instance_event_shows_within_a_second(double: BotApiDouble, bot: None,
                                                      data: Path) -> None:
    """An event another instance stored (written straight to the database) is listed within a
    second, without restart or reload.
    """
    start = datetime.now(UTC) + timedelta(days=2)
    seed(data, Event("venu-d-ailleurs-2030", "Venu d'ailleurs", start,
                     start + timedelta(hours=2), "Lille", "https://fp21.fr/", ("fp21",),
                     "Écrit par une autre instance.", region="hauts-de-france"))
    written = time.monotonic()
    user = new_user()
    while "Venu d'ailleurs" not in say(double, user, "/evenements").params["text"]:
        assert time.monotonic() - written < 1.0, "not listed within a second"
        time.sleep(0.05)


def organiser_listing(double: BotApiDouble, title: str) -> tuple[int, cb.EventButton]:
    """The organiser's /evenements message, and the edit button of the event with this title."""
    listing = say(double, ADMIN, "/evenements")
    rows_ = listing.params["reply_markup"]["inline_keyboard"]
    for index, row in enumerate(rows_):
        if row[0].get("url") and title[:20] in row[0]["text"]:
            edit = decode(rows_[index + 2][0]["callback_data"])
            assert isinstance(edit, cb.EditEvent), rows_[index + 2]
            return listing.result["message_id"], edit
    raise AssertionError(f"{title} not listed: {rows_}")


def test_edit_the_date_then_cancel_with_notice(double: BotApiDouble, bot: None,
                                               data: Path) -> None:
    """The organiser moves an event from /evenements, then cancels it telling the subscribers:
    exactly those its reminder was for get the notice, once; files' events offer only
    "Annoncer"; the used buttons then change nothing.
    """
    _, controls = create(double, "Forum de l'alternance", in_days(5), "sans-concours")
    press(double, ADMIN, controls.result["message_id"],
          payload(double, ADMIN, controls.result["message_id"], cb.EventConfirm))
    message, edit = organiser_listing(double, "Forum de l'alternance")
    listing = shown(double, ADMIN, message)
    assert encode(cb.AnnounceEvent("soiree-2030")) in listing.callback_data
    assert not [d for d in listing.callback_data if isinstance(decode(d), cb.EditEvent)
                and "soiree-2030" in d]
    mark = len(double.calls)
    press(double, ADMIN, message, encode(edit))
    choose = double.wait_for(lambda c: c.ok and c.method == "sendMessage", since=mark)
    assert "Que voulez-vous changer" in choose.params["text"]
    press(double, ADMIN, choose.result["message_id"],
          payload(double, ADMIN, choose.result["message_id"], cb.EventField, field="when"))
    new_date = in_days(9, "10h")
    mark = len(double.calls)
    double.send_text(ADMIN, new_date)
    preview = double.wait_for(lambda c: c.ok and c.method == "sendMessage"
                              and "Aperçu" in c.params["text"], since=mark)
    press(double, ADMIN, preview.result["message_id"],
          payload(double, ADMIN, preview.result["message_id"], cb.EventConfirm))
    assert "Le rappel suivra la nouvelle date" in (
        shown(double, ADMIN, preview.result["message_id"]).text or "")
    moved = datetime.strptime(new_date, "%d/%m/%Y 10h").replace(hour=10, tzinfo=PARIS)
    starts = rows(data, "select start from events where title=\"Forum de l'alternance\"")
    assert str(starts[0][0]).startswith(f"{moved.astimezone(UTC):%Y-%m-%d %H:%M}")
    press(double, ADMIN, message, encode(edit))  # drawn before the edit: out of date
    stale = double.wait_for(lambda c: c.method == "answerCallbackQuery"
                            and "a changé depuis" in str(c.params.get("text")))
    assert stale.ok
    message, edit = organiser_listing(double, "Forum de l'alternance")
    ask_cancel = encode(cb.AskCancelEvent(edit.event, edit.revision))
    mark = len(double.calls)
    press(double, ADMIN, message, ask_cancel)
    question = double.wait_for(lambda c: c.ok and c.method == "sendMessage", since=mark)
    assert "prévenir les 2 abonné(s)" in question.params["text"]
    notify = payload(double, ADMIN, question.result["message_id"], cb.CancelEvent, notify=True)
    press(double, ADMIN, question.result["message_id"], notify)
    assert "part vers 2 abonné(s)" in (shown(double, ADMIN, question.result["message_id"]).text
                                       or "")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(notices(double, c) for c in (7001, 7002)):
        time.sleep(0.2)
    toast = press_again(double, ADMIN, question, notify)  # a double tap
    assert "n'existe plus ou est déjà annulé" in str(toast.params.get("text"))
    time.sleep(1.0)
    assert [notices(double, chat) for chat in FOLLOWERS] == [1, 1, 0]
    assert "Forum de l'alternance" not in say(double, new_user(), "/evenements").params["text"]


def notices(double: BotApiDouble, chat: int) -> int:
    """How many cancellation notices of the forum a chat got."""
    return sum(1 for m in double.messages_to(chat)
               if (m.text or "").startswith("❌ Annulé : Forum de l'alternance"))


def test_announce_lists_events_to_come(double: BotApiDouble, bot: None) -> None:
    """/annonce evenement without an id offers the events to come as buttons; one opens the
    event's announcement, as /annonce evenement <id> does.
    """
    listing = say(double, ADMIN, "/annonce evenement")
    assert listing.params["text"] == "📣 Quel événement annoncer ?"
    choice = payload(double, ADMIN, listing.result["message_id"], cb.AnnounceEvent,
                    event="soiree-2030")
    mark = len(double.calls)
    press(double, ADMIN, listing.result["message_id"], choice)
    audience = double.wait_for(lambda c: c.ok and c.method == "sendMessage", since=mark)
    assert audience.params["text"].startswith("À qui l'envoyer ?")
    say(double, ADMIN, "/annuler")


def test_same_id_in_file_and_database_stops_the_start(double: BotApiDouble,
                                                      tmp_path: Path) -> None:
    """An id both in events.yaml and in the database stops the bot at start with one clear line."""
    start = datetime(2030, 3, 12, 17, 30, tzinfo=UTC)
    data = tmp_path / "data"
    seed(data, Event("soiree-2030", "Doublon", start, start + timedelta(hours=2), "Paris",
                     "https://fp21.fr/", (), "x", region="ile-de-france"))
    bot = launch_bot(double, FIXTURES / "faq", tmp_path, {"CAREERBOT_DATA_DIR": str(data)})
    try:
        assert bot.process.wait(timeout=60) == 1
    finally:
        stop_bot(bot.process)
    log = bot.log.read_text()
    assert ("careerbot : l'événement soiree-2030 est à la fois dans "
            f"{FIXTURES / 'faq' / 'events.yaml'} et dans la base") in log
    assert "Traceback" not in log


def test_a_stored_event_is_reminded_to_its_followers(tmp_path: Path) -> None:
    """The worker reminds the followers of an event added from Telegram once, with its calendar
    button, in its region: followers who chose it or no region at all, not those who chose only
    another one; others get nothing (a bot of its own: one poller per Bot API).
    """
    start = datetime.now(UTC) + timedelta(hours=3)
    data = tmp_path / "data"
    event_id = "rappel-stocke-2030"
    seed(data, Event(event_id, "Atelier CV", start, start + timedelta(hours=1), "Nantes",
                     "https://fp21.fr/atelier", ("sans-concours",), "Relire son CV.",
                     region="pays-de-la-loire"))
    regional = {7004: {"pays-de-la-loire"}, 7005: {"occitanie", "en-ligne"}}

    async def subscribe_regional() -> None:
        engine = open_engine(default_url(data))
        for chat, regions in regional.items():
            await subscribers.subscribe(sessions(engine), chat, "fr", ["evenements"], regions)
        await engine.dispose()
    asyncio.run(subscribe_regional())
    env = {"CAREERBOT_ADMIN_IDS": str(ADMIN), "CAREERBOT_DATA_DIR": str(data)}
    with BotApiDouble() as double:
        for chat in (*FOLLOWERS, *regional):
            double.my_chat_member(chat, "member")

        def reminders(chat: int) -> list[SentMessage]:
            return [m for m in double.messages_to(chat)
                    if (m.text or "").startswith("⏰ Rappel : Atelier CV")]

        with running_bot(double, FIXTURES / "faq", tmp_path, env):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(reminders(c)
                                                          for c in (7001, 7002, 7004)):
                time.sleep(0.2)
            time.sleep(1.0)
        assert [len(reminders(chat)) for chat in FOLLOWERS] == [1, 1, 0]
        assert [len(reminders(chat)) for chat in regional] == [1, 0]
        assert encode(cb.Calendar(event_id)) in reminders(7002)[0].callback_data
        double.assert_no_violations()
