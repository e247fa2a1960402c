"""Events near me, end to end: the real bot process on the Bot API double, with events in
Brittany and online. Reminders reach their region; a late subscriber gets the reminders they
missed, once; an organiser's announcement of a regional event goes to its region unless they
choose everyone; /annonce on one line keeps its formatting; /monid.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from careerbot import callbacks as cb
from careerbot.regions import ONLINE
from careerbot.storage import subscribers
from careerbot.storage.database import default_url, migrate, open_engine, sessions
from tests.botapi.server import BotApiDouble, Call
from tests.conftest import FIXTURES
from tests.telegram_harness import payload, running_bot
from tests.telegram_harness import press as press_data

ADMIN = 42
AHEAD = str(24 * 365 * 10)  # hours: every 2030 event counts as "tomorrow" for these tests
EVENTS = """
  - id: rennes-2030
    title: Forum de Rennes
    start: 2030-03-14T18:00:00+01:00
    end: 2030-03-14T20:00:00+01:00
    place: Rennes
    region: bretagne
    url: https://fp21.fr/
    tags: [fp21]
    description: Rencontre en Bretagne.
  - id: webinaire-2030
    title: Webinaire des concours
    start: 2030-03-15T12:30:00+01:00
    end: 2030-03-15T13:30:00+01:00
    place: En ligne
    region: en-ligne
    url: https://fp21.fr/
    tags: [fp21]
    description: Une heure pour tout savoir.
"""
# Who follows the events, and from where, before the bot starts.
FOLLOWERS: dict[int, list[str]] = {
    4001: [],  # no region: everything, as before regions existed
    4002: ["bretagne"],
    4003: ["occitanie"],
    4004: [ONLINE],  # online events only
}
_users = itertools.count(4100)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bot's working directory (its database lives in data/ under it) and its FAQ."""
    root = tmp_path_factory.mktemp("regions")
    faq = root / "faq"
    faq.mkdir()
    for source in (FIXTURES / "faq").iterdir():
        (faq / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    with (faq / "events.yaml").open("a", encoding="utf-8") as events:
        events.write(EVENTS)
    return root


def subscribe(data: Path, double: BotApiDouble) -> None:
    """FOLLOWERS, written to the bot's database; their chats made known to the double."""
    async def write() -> None:
        engine = open_engine(default_url(data))
        await migrate(engine)
        for chat, regions in FOLLOWERS.items():
            await subscribers.subscribe(sessions(engine), chat, "fr", ["evenements"], regions)
        await engine.dispose()
    asyncio.run(write())
    for chat in FOLLOWERS:
        double.my_chat_member(chat, "member")


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, workdir: Path) -> Iterator[Path]:
    """The bot with organiser ADMIN, reminders due for every 2030 event; its log file."""
    subscribe(workdir / "data", double)
    with running_bot(double, workdir / "faq", workdir,
                     {"CAREERBOT_REMINDER_HOURS": AHEAD,
                      "CAREERBOT_ADMIN_IDS": str(ADMIN)}) as running:
        yield running.log


@pytest.fixture(autouse=True)
def no_violation(double: BotApiDouble) -> Iterator[None]:
    """After each test, nothing the bot sent broke the Bot API spec."""
    yield
    double.assert_no_violations()


def rows(workdir: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the bot's database file directly."""
    with sqlite3.connect(workdir / "data" / "careerbot.db") as connection:
        return list(connection.execute(sql))


def reminders(double: BotApiDouble, chat: int) -> list[str]:
    """The titles of the reminders a chat received, in order."""
    return [(m.text or "").removeprefix("⏰ Rappel : ").split("\n")[0]
            for m in double.messages_to(chat) if (m.text or "").startswith("⏰ Rappel")]


def copies(double: BotApiDouble, chat: int, start: str) -> int:
    """How many messages starting with `start` a chat received."""
    return sum(1 for m in double.messages_to(chat) if (m.text or "").startswith(start))


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Poll a condition until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def say(double: BotApiDouble, user: int, text: str, **options: object) -> Call:
    """Send a private message and wait for the reply."""
    return double.wait_reply(user, double.send_text(user, text, **options))  # type: ignore[arg-type]


def organiser_says(double: BotApiDouble, text: str, answer: str, **options: object) -> Call:
    """The organiser writes; the bot's new message starting with `answer` (the live report of
    an earlier announcement may be edited in the same chat meanwhile).
    """
    mark = len(double.calls)
    double.send_text(ADMIN, text, **options)  # type: ignore[arg-type]
    return double.wait_for(lambda c: c.method == "sendMessage" and c.params["chat_id"] == ADMIN
                           and c.params["text"].startswith(answer), since=mark)


def press(double: BotApiDouble, user: int, message_id: int, kind: type[cb.Action],
          **fields: object) -> Call:
    """Press the message's button of this kind (and arguments); wait for the query's answer."""
    return press_data(double, user, message_id,
                      payload(double, user, message_id, kind, **fields))


FORUM, WEBINAR, EVENING = "Forum de Rennes", "Webinaire des concours", "Soirée des futurs agents"


EXPECTED = {4001: {FORUM, WEBINAR, EVENING}, 4002: {FORUM, WEBINAR}, 4003: {WEBINAR},
            4004: {WEBINAR}}


def first_reminders_sent(double: BotApiDouble) -> None:
    """Wait until the reminders queued at start reached the FOLLOWERS."""
    wait_until(lambda: all(set(reminders(double, c)) == want for c, want in EXPECTED.items()))


def test_reminders_reach_their_region_and_online_ones_everybody(double: BotApiDouble,
                                                                bot: Path) -> None:
    """The Breton event's reminder reaches Brittany and those without regions; the online one
    reaches every follower, those with regions included; the Paris one, no region holder.
    """
    first_reminders_sent(double)
    time.sleep(1.5)  # the reminder loop runs again meanwhile: still one each
    assert {chat: sorted(reminders(double, chat)) for chat in FOLLOWERS} == {
        chat: sorted(want) for chat, want in EXPECTED.items()}


def test_a_late_subscriber_gets_the_missed_reminders_once(double: BotApiDouble, bot: Path,
                                                          workdir: Path) -> None:
    """Subscribing through /abonner after the reminders went out (events in Brittany and online)
    brings them at once, one each; unsubscribing and subscribing to everything brings only the
    one that now matches too (Paris), never a second copy.
    """
    first_reminders_sent(double)  # then the newcomer comes
    user = next(_users)
    menu = say(double, user, "/abonner")
    message_id = menu.result["message_id"]
    press(double, user, message_id, cb.ToggleTopic, topic="evenements")
    press(double, user, message_id, cb.OpenRegions)
    screen = next(m for m in double.messages_to(user) if m.message_id == message_id)
    assert (screen.text or "").startswith("📍 Les événements près de chez vous")
    assert [len(row) for row in screen.payload["reply_markup"]["inline_keyboard"]] == (
        [2] * 10 + [1, 2])
    press(double, user, message_id, cb.ToggleRegion, region="bretagne")
    press(double, user, message_id, cb.SaveRegions)
    saved = next(m for m in double.messages_to(user) if m.message_id == message_id)
    assert (saved.text or "") == ("C'est noté ✅ Vous recevrez : Événements FP21.\n"
                                  "📍 Événements : Bretagne et en ligne.\n"
                                  "/desabonner pour arrêter.")
    wait_until(lambda: sorted(reminders(double, user)) == sorted([FORUM, WEBINAR]))
    assert rows(workdir, f"select region from subscriber_regions where chat_id={user}") == [
        ("bretagne",)]

    assert say(double, user, "/desabonner").params["text"].startswith("Vous êtes désabonné")
    menu = say(double, user, "/abonner")
    press(double, user, menu.result["message_id"], cb.ToggleTopic, topic="all")
    press(double, user, menu.result["message_id"], cb.SaveTopics)
    wait_until(lambda: EVENING in reminders(double, user))
    time.sleep(1.5)
    assert sorted(reminders(double, user)) == sorted([FORUM, WEBINAR, EVENING])


def announce_event(double: BotApiDouble, *, lift: type[cb.Action] | None = None,
                   **fields: object) -> str:
    """/annonce evenement rennes-2030 through preview and confirmation, pressing `lift` (and
    its arguments) at the audience step if given; the preview's control text.
    """
    start = organiser_says(double, "/annonce evenement rennes-2030", "À qui l'envoyer ?")
    message_id = start.result["message_id"]
    assert "📍 Lieu de l'événement : Bretagne." in start.params["text"]
    labels = [b["text"] for row in start.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ 📍 Bretagne seulement" in labels and "⬜ 🌍 Toutes les régions" in labels
    if lift is not None:
        press(double, ADMIN, message_id, lift, **fields)
    if lift is cb.AudienceEveryone:
        press(double, ADMIN, message_id, cb.AudienceTopic, topic="evenements")
    press(double, ADMIN, message_id, cb.AudienceDone)
    mark = len(double.calls)
    press(double, ADMIN, message_id, cb.SendTime, choice="now")
    controls = [c for c in double.calls[mark:] if c.method == "sendMessage" and c.ok][-1]
    press(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
    return str(controls.params["text"])


def test_a_regional_announcement_goes_to_its_region_unless_everyone_is_chosen(
        double: BotApiDouble, bot: Path) -> None:
    """/annonce evenement of a Breton event reaches Brittany and those without regions; with
    "Toutes les régions", or "Tout le monde", every follower gets it.
    """
    forum = "📣 Forum de Rennes"
    before = {chat: copies(double, chat, forum) for chat in FOLLOWERS}
    controls = announce_event(double)
    assert "📍 Bretagne seulement)" in controls
    wait_until(lambda: all(copies(double, c, forum) == before[c] + 1 for c in (4001, 4002)))
    controls = announce_event(double, lift=cb.AudienceRegion, regional=False)
    assert "📍" not in controls.split("Destinataires")[1]
    wait_until(lambda: all(copies(double, c, forum) == before[c] + (2 if c in (4001, 4002) else 1)
                           for c in FOLLOWERS))
    announce_event(double, lift=cb.AudienceEveryone)
    wait_until(lambda: all(copies(double, c, forum) == before[c] + (3 if c in (4001, 4002) else 2)
                           for c in FOLLOWERS))
    time.sleep(1)
    assert {c: copies(double, c, forum) - before[c] for c in FOLLOWERS} == {
        4001: 3, 4002: 3, 4003: 2, 4004: 2}


@pytest.mark.parametrize("command", ["/annonce", "/annonce@careerbot_test_bot"])
def test_annonce_on_one_line_keeps_bold_and_line_breaks(double: BotApiDouble, bot: Path,
                                                       workdir: Path, command: str) -> None:
    """`/annonce <text>` in one message keeps its bold and line breaks, as a text sent apart
    does, with or without the bot's name after the command.
    """
    body = "Soirée jeudi & vendredi\nInscrivez-vous vite"
    text = f"{command} {body}"
    bold = text.index("jeudi")
    entities = [{"type": "bot_command", "offset": 0, "length": len(command)},
                {"type": "bold", "offset": bold, "length": len("jeudi")}]
    organiser_says(double, text, "À qui l'envoyer ?", entities=entities)
    [(stored,)] = rows(workdir, "select text from broadcasts where state='draft' "
                                "order by id desc limit 1")
    assert stored == "Soirée <b>jeudi</b> &amp; vendredi\nInscrivez-vous vite"
    organiser_says(double, "/annuler", "Annonce abandonnée")


def test_monid_answers_anyone_with_their_id_and_never_logs_it(double: BotApiDouble,
                                                              bot: Path) -> None:
    """/monid gives a non-organiser their Telegram id and how to become an organiser; the id is
    in no log line.
    """
    user = 987654321
    reply = say(double, user, "/monid")
    assert reply.params["text"] == (
        "🪪 Votre identifiant Telegram : <code>987654321</code>\nPour devenir organisateur FP21, "
        "envoyez-le à l'administrateur de l'association : il l'ajoutera à la liste des "
        "organisateurs (CAREERBOT_ADMIN_IDS).")
    assert "987654321" not in bot.read_text()
    commands = [c for c in double.calls if c.method == "setMyCommands"]
    assert any("monid" in str(c.params["commands"]) for c in commands)


def test_organisers_get_a_menu_with_their_commands(double: BotApiDouble, bot: Path) -> None:
    """At start, each organiser's chat gets a menu with the organisers' commands; the public
    menu has none of them.
    """
    def field(call: Any, name: str) -> Any:
        value = call.params.get(name)
        return json.loads(value) if isinstance(value, str) else value

    commands = [c for c in double.calls if c.method == "setMyCommands" and c.ok]
    own = [c for c in commands if (field(c, "scope") or {}).get("chat_id") == ADMIN]
    public = [c for c in commands if (field(c, "scope") or {}).get("type") == "default"]
    assert own and public
    names = {entry["command"] for entry in field(own[0], "commands")}
    assert {"evenement", "annonce", "annonces", "stats", "monid", "start"} <= names
    for call in public:
        listed = {entry["command"] for entry in field(call, "commands")}
        assert not listed & {"evenement", "annonce", "annonces", "stats"}
