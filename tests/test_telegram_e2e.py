"""careerbot on Telegram, end to end, against the spec-checking Bot API double.

The real `careerbot run` process and python-telegram-bot do real HTTP to the double on 127.0.0.1.

One bot process serves the whole module; each test speaks as its own users, so tests stay
independent. Every test ends by checking that the bot sent nothing the real Bot API would refuse.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from careerbot.announcements import with_feedback
from careerbot.callbacks import decode
from careerbot.conversation import Conversation
from careerbot.evaluation import load_cases
from careerbot.faq_loader import load_faq
from careerbot.matching import Matcher, Settings
from tests.botapi.server import NOT_MODIFIED, QUERY_TOO_OLD, BotApiDouble, Call
from tests.conftest import REPO
from tests.telegram_harness import running_bot

ADMIN_CHAT = -100777
SECRETS = ("xkcd zorglub wobble", "c koi le pacte")  # texts users send below; never logged
_users = itertools.count(1000)


def new_user() -> int:
    """A user id no other test uses."""
    return next(_users)


@pytest.fixture(scope="module")
def bot(double: BotApiDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`careerbot run` on the shipped FAQ, pointed at the double; yields its log file."""
    with running_bot(double, REPO / "faq", tmp_path_factory.mktemp("bot"),
                     {"CAREERBOT_ADMIN_CHAT_ID": str(ADMIN_CHAT)}) as running:
        yield running.log
    logs = running.log.read_text()
    for said in SECRETS:
        assert said not in logs, f"a user's message reached the logs: {said!r}"


@pytest.fixture(autouse=True)
def no_violation(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, nothing the bot sent broke the Bot API spec."""
    yield
    if "double" in request.fixturenames:
        request.getfixturevalue("double").assert_no_violations()


def ask(double: BotApiDouble, user: int, text: str, *, chat_id: int | None = None,
        chat_type: str = "private", language_code: str = "fr",
        reply_to_message_id: int | None = None) -> Call:
    """Send a message as a user and wait for the bot's reply in that chat."""
    update = double.send_text(user, text, chat_id=chat_id, chat_type=chat_type,
                              language_code=language_code,
                              reply_to_message_id=reply_to_message_id)
    chat = chat_id or (-user if chat_type in ("group", "supergroup") else user)
    return double.wait_reply(chat, update)


def buttons(call: Call) -> list[dict[str, str]]:
    """The inline buttons of a sent message."""
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def press(double: BotApiDouble, user: int, message_id: int, data: str) -> None:
    """Press a button and wait until the bot has handled it (it answers the query last)."""
    mark = len(double.calls)
    double.press_button(user, message_id, data)
    double.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


def test_start_registers_commands_in_french_and_english(double: BotApiDouble, bot: object) -> None:
    """At start the bot registers its commands and descriptions, in French and English."""
    languages = {lang for (_, lang) in double.commands}
    assert {None, "en"} <= languages or {"", "en"} <= languages
    names = {c["command"] for commands in double.commands.values() for c in commands}
    assert {"start", "themes", "parcours", "evenements", "aide", "help"} <= names
    assert double.calls_to("setMyDescription")


def test_start_welcome_and_menu(double: BotApiDouble, bot: object) -> None:
    """/start greets and offers themes, route, events and help."""
    reply = ask(double, new_user(), "/start")
    assert reply.params["text"].startswith("Bonjour ! 👋 Je suis <b>careerbot</b>")
    assert [b.get("callback_data") for b in buttons(reply)] == ["1l", "1r:0", "1v", "1h"]


@pytest.mark.parametrize(("payload", "start"), [
    ("pacte", "Le <b>PACTE</b>"),
    ("theme-concours", "📝 <b>Les concours</b>"),
    ("parcours", "💡 <b>Étape 1/3 : Je m'inspire</b>"),
])
def test_deep_links(double: BotApiDouble, bot: object, payload: str, start: str) -> None:
    """t.me/<bot>?start=<payload> opens an entry, a theme or the route."""
    reply = ask(double, new_user(), f"/start {payload}")
    assert reply.params["text"].startswith(start)


def test_free_text_answer_with_links_and_related(double: BotApiDouble, bot: object) -> None:
    """A clear question gets the answer, its links as URL buttons and related entries."""
    reply = ask(double, new_user(), "c koi un concours")
    assert "concours" in reply.params["text"]
    kinds = [("url" in b, "callback_data" in b) for b in buttons(reply)]
    assert (True, False) in kinds and (False, True) in kinds


def test_suggestions_then_pick_one(double: BotApiDouble, bot: object) -> None:
    """An ambiguous question offers choices; picking one edits the message into the answer."""
    user = new_user()
    reply = ask(double, user, "what is a civil service exam")
    assert reply.params["text"].startswith("I'm not sure I understood")
    choice = next(b["callback_data"] for b in buttons(reply) if b.get("callback_data", "").startswith("1e:"))
    message_id = reply.result["message_id"]
    press(double, user, message_id, choice)
    (shown,) = double.messages_to(user)
    assert shown.edits == 1 and "concours" in (shown.text or "")
    assert double.unanswered_callback_queries == []


def test_fallback_can_send_the_question_to_the_team(double: BotApiDouble, bot: object) -> None:
    """A question the bot cannot answer can be sent to the organisers' chat, without identity."""
    organiser = new_user()
    double.send_text(organiser, "salut l'équipe", chat_id=ADMIN_CHAT, chat_type="supergroup")
    user = new_user()
    reply = ask(double, user, "xkcd zorglub wobble")
    assert reply.params["text"].startswith("Désolé, je n'ai pas trouvé")
    assert buttons(reply)[0]["callback_data"] == "1q"
    double.press_button(user, reply.result["message_id"], "1q")
    sent = double.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == ADMIN_CHAT)
    assert "xkcd zorglub wobble" in sent.params["text"]
    assert str(user) not in sent.params["text"]
    thanks = double.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == user
                             and "transmise" in c.params["text"])
    assert thanks.ok


def test_questions_sent_to_the_team_are_capped_per_day(double: BotApiDouble, bot: object) -> None:
    """A user sends at most 3 questions a day to the organisers; the 4th is politely declined."""
    user = new_user()
    mark = len(double.calls)
    for attempt in range(4):
        reply = ask(double, user, f"xkcd zorglub wobble qzx{user}{attempt}")
        press(double, user, reply.result["message_id"], "1q")
        double.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == user
                        and "transmi" in c.params["text"], since=mark)
        mark = len(double.calls)
    to_team = [c.params["text"] for c in double.calls if c.method == "sendMessage"
               and c.params.get("chat_id") == ADMIN_CHAT and f"qzx{user}" in c.params["text"]]
    assert [text[-1] for text in to_team] == ["0", "1", "2"]
    last = [c for c in double.calls if c.method == "sendMessage"
            and c.params.get("chat_id") == user][-1]
    assert last.params["text"].startswith("Vous avez déjà transmis plusieurs questions aujourd'hui")


def test_themes_browse_in_place_and_back(double: BotApiDouble, bot: object) -> None:
    """/themes, a theme, an entry and back: each step edits the same message."""
    user = new_user()
    reply = ask(double, user, "/themes")
    message_id = reply.result["message_id"]
    double.wait_reply(user, double.press_button(user, message_id, "1t:concours"))
    theme = double.messages_to(user)[-1]
    first_entry = next(d for d in theme.callback_data if d.startswith("1e:"))
    double.wait_reply(user, double.press_button(user, message_id, first_entry))
    entry = double.messages_to(user)[-1]
    assert "1t:concours" in entry.callback_data
    double.wait_reply(user, double.press_button(user, message_id, "1t:concours"))
    double.wait_reply(user, double.press_button(user, message_id, "1l"))
    assert double.messages_to(user)[-1].text == "Choisissez un thème :"
    assert len(double.messages_to(user)) == 1  # all edits of one message


def test_every_button_leads_somewhere(double: BotApiDouble, bot: object) -> None:
    """Every callback button reachable from /start leads to a valid view with a way on."""
    user = new_user()
    seen: dict[str, list[str]] = {}  # action -> path of actions from /start that shows it
    frontier: list[list[str]] = [[]]
    while frontier:
        path = frontier.pop(0)
        start = ask(double, user, "/start")
        message_id = start.result["message_id"]
        for data in path:
            press(double, user, message_id, data)
        view = next(m for m in double.messages_to(user) if m.message_id == message_id)
        assert view.text and view.buttons, f"dead end after {path}"
        for data in view.callback_data:
            if data not in seen and data not in {"1q"} and not data.startswith("1c:"):
                seen[data] = path
                frontier.append([*path, data])
    kinds = {type(decode(data)).__name__ for data in seen}
    assert {"Themes", "Events", "Help", "Menu", "OpenTheme", "OpenEntry", "RouteStep"} <= kinds
    faq, _ = load_faq(REPO / "faq")
    reached = {data.removeprefix("1e:") for data in seen if data.startswith("1e:")}
    assert reached == set(faq.by_id)  # every entry is reachable
    assert double.unanswered_callback_queries == []


def test_route_next_and_back(double: BotApiDouble, bot: object) -> None:
    """/parcours walks the three steps with next and back."""
    user = new_user()
    reply = ask(double, user, "/parcours")
    message_id = reply.result["message_id"]
    double.wait_reply(user, double.press_button(user, message_id, "1r:1"))
    assert (double.messages_to(user)[-1].text or "").startswith("🔎 Étape 2/3 : Je découvre")
    double.wait_reply(user, double.press_button(user, message_id, "1r:0"))
    assert (double.messages_to(user)[-1].text or "").startswith("💡 Étape 1/3 : Je m'inspire")


def test_events_without_upcoming_show_the_latest(double: BotApiDouble, bot: object) -> None:
    """/evenements says when nothing is announced and shows the latest events with links."""
    reply = ask(double, new_user(), "/evenements")
    assert reply.params["text"].startswith("Aucun événement FP21 n'est annoncé")
    assert any("url" in b for b in buttons(reply))


def test_english_user_gets_english(double: BotApiDouble, bot: object) -> None:
    """A user whose Telegram is English gets the English UI; /help is English."""
    reply = ask(double, new_user(), "/start", language_code="en")
    assert reply.params["text"].startswith("Hello! 👋")
    assert ask(double, new_user(), "/help").params["text"].startswith("<b>How to use me</b>")


def test_inline_mode(double: BotApiDouble, bot: object) -> None:
    """@bot question in any chat offers answers to share."""
    double.inline_query(new_user(), "apprentissage fonction publique")
    answer = double.wait_for(lambda c: c.method == "answerInlineQuery")
    results = answer.params["results"]
    assert results and results[0]["id"] == "apprentissage"


def test_groups_answer_only_when_addressed(double: BotApiDouble, bot: object) -> None:
    """In a group the bot answers commands, mentions and replies to it, and stays quiet otherwise."""
    user = new_user()
    group = -500000 - user
    double.send_text(user, "c koi un concours", chat_id=group, chat_type="supergroup")
    double.send_sticker(user, chat_id=group, chat_type="supergroup")
    mention = ask(double, user, f"@{double.bot_user['username']} c koi un concours",
                  chat_id=group, chat_type="supergroup")
    assert "concours" in mention.params["text"]
    assert double.messages_to(group)[0].message_id == mention.result["message_id"]
    assert mention.params.get("reply_parameters") or mention.params.get("reply_to_message_id")
    command = ask(double, user, f"/themes@{double.bot_user['username']}", chat_id=group,
                  chat_type="supergroup")
    assert command.params["text"] == "Choisissez un thème :"
    reply_to = ask(double, user, "et le pacte ?", reply_to_message_id=mention.result["message_id"],
                   chat_id=group, chat_type="supergroup")
    assert "PACTE" in reply_to.params["text"]
    texts = [m.text for m in double.messages_to(group)]
    assert len(texts) == 3  # the unaddressed message and the sticker got nothing


def test_forum_topics_are_answered_in_their_topic(double: BotApiDouble, bot: object) -> None:
    """In a forum, a question asked in a topic is answered in that topic, quoting it."""
    user = new_user()
    forum = -700000 - user
    mention = f"@{double.bot_user['username']}"
    text = f"{mention} c koi un concours"
    update = double.push_update({"message": {
        "message_id": 41, "date": int(time.time()), "message_thread_id": 7,
        "is_topic_message": True, "text": text,
        "entities": [{"type": "mention", "offset": 0, "length": len(mention)}],
        "chat": {"id": forum, "type": "supergroup", "title": "FP21", "is_forum": True},
        "from": {"id": user, "is_bot": False, "first_name": "Test", "language_code": "fr"}}})
    reply = double.wait_reply(forum, update)
    assert "concours" in reply.params["text"]
    assert reply.params["message_thread_id"] == 7
    assert reply.params["reply_parameters"] == {"message_id": 41}


@pytest.mark.parametrize("send", ["send_sticker", "send_photo", "send_voice", "send_document"])
def test_non_text_gets_a_polite_reply(double: BotApiDouble, bot: object, send: str) -> None:
    """Stickers, photos, voice and files get a short polite reply."""
    user = new_user()
    update = getattr(double, send)(user)
    reply = double.wait_reply(user, update)
    assert reply.params["text"].startswith("Je ne lis que les messages écrits")


@pytest.mark.parametrize("text", ["<b>gras</b> & <script>alert(1)</script>", "x" * 4096,
                                  "  ", "🤔🤔🤔", "Что такое конкурс?", "&amp; &lt;"])
def test_strange_text_is_answered_safely(double: BotApiDouble, bot: object, text: str) -> None:
    """HTML, huge, blank, emoji-only and other-script texts get a valid, polite reply."""
    reply = ask(double, new_user(), text)
    assert reply.ok


def test_edited_messages_are_ignored(double: BotApiDouble, bot: object) -> None:
    """Editing a message does not trigger a second answer."""
    user = new_user()
    first = ask(double, user, "c koi un concours")
    before = len(double.messages_to(user))
    double.edit_text(user, first.params.get("reply_parameters", {}).get("message_id", 1), "pacte ?")
    marker = ask(double, user, "bonjour")  # the bot handles updates in order of arrival
    assert len(double.messages_to(user)) == before + 1
    assert marker.ok


def test_flooding_user_is_slowed_not_others(double: BotApiDouble, bot: object) -> None:
    """A user sending a burst gets one 'slow down' and then silence; another user is served."""
    user = new_user()
    for _ in range(12):
        double.send_text(user, "concours ?")
    other = ask(double, new_user(), "bonjour")
    assert other.ok
    double.wait_for(lambda c: c.method == "sendMessage" and c.params.get("chat_id") == user
                    and c.params["text"].startswith("Doucement"))
    texts = [m.text for m in double.messages_to(user)]
    assert sum(t.startswith("Doucement") for t in texts if t) == 1
    assert len(texts) <= 8


def test_api_faults_are_retried(double: BotApiDouble, bot: object) -> None:
    """429 with retry_after and a 5xx on sendMessage are retried; the user still gets the answer."""
    user = new_user()
    double.fail_next("sendMessage", 429, retry_after=1, chat_id=user)
    assert ask(double, user, "c koi le pacte").ok
    user = new_user()
    double.fail_next("sendMessage", 502, chat_id=user)
    assert ask(double, user, "c koi le pacte").ok


def test_blocked_user_does_not_stop_the_bot(double: BotApiDouble, bot: object) -> None:
    """A 403 (user blocked the bot) is logged; the bot keeps serving others."""
    user = new_user()
    double.fail_next("sendMessage", 403, chat_id=user)
    double.send_text(user, "bonjour")
    assert ask(double, new_user(), "bonjour").ok


def test_held_out_questions_get_the_core_answers(double: BotApiDouble, bot: object) -> None:
    """Every test.yaml question gets, over Telegram, exactly the reply the core decides."""
    faq, _ = load_faq(REPO / "faq")
    talk = Conversation(faq, Matcher(faq, Settings.from_mapping(faq.matching)))
    cases = load_cases(REPO / "tests" / "eval" / "test.yaml")
    sent = [(case.q, new_user()) for case in cases]
    updates = [(q, user, double.send_text(user, q)) for q, user in sent]
    for question, user, update in updates:
        reply = double.wait_reply(user, update, timeout=20)
        expected = talk.ask(question[:1000], "fr")
        if expected.match and expected.match.status == "answer" and expected.match.entry_id:
            expected = with_feedback(expected, expected.match.entry_id, "fr")
        assert reply.params["text"] == expected.html, question


def test_one_slow_chat_does_not_stall_the_others(double: BotApiDouble, bot: object) -> None:
    """While the reply to one user hangs, other users are answered at once."""
    slow, fast = new_user(), new_user()
    double.delay_next("sendMessage", 2.0)
    slow_update = double.send_text(slow, "bonjour")
    time.sleep(0.2)
    started = time.monotonic()
    fast_reply = ask(double, fast, "bonjour")
    assert fast_reply.at - started < 1.0
    assert double.wait_reply(slow, slow_update).ok


def test_timed_out_send_is_not_sent_twice(double: BotApiDouble, bot: object) -> None:
    """A sendMessage that times out (but reached Telegram) is not retried: no duplicate reply."""
    user = new_user()
    double.delay_next("sendMessage", 6.0)  # beyond python-telegram-bot's 5 s read timeout
    double.send_text(user, "bonjour")
    time.sleep(7.5)
    assert len(double.messages_to(user)) == 1


def test_links_command_asks_telegram_for_the_username(double: BotApiDouble, bot: object) -> None:
    """`careerbot links` prints deep links with the bot's username from getMe."""
    done = subprocess.run([str(Path(sys.executable).parent / "careerbot"), "links"],
                          env={"TELEGRAM_BOT_TOKEN": double.token,
                               "TELEGRAM_API_BASE_URL": double.api_root, "PATH": "/usr/bin:/bin",
                               "PTB_TIMEDELTA": "true"},
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "https://t.me/careerbot_test_bot?start=parcours  Parcours" in lines
    faq, _ = load_faq(REPO / "faq")
    assert len(lines) == 1 + len(faq.themes) + len(faq.entries) + len(faq.events)


def test_every_deep_link_opens_its_content(double: BotApiDouble, bot: object) -> None:
    """Each published deep link (`careerbot links`) opens something other than the welcome."""
    faq, _ = load_faq(REPO / "faq")
    talk = Conversation(faq, Matcher(faq))
    welcome = talk.welcome().html
    users = [(url.split("start=")[1], new_user()) for _, url in talk.deep_links("x")]
    updates = [(user, double.send_text(user, f"/start {payload}")) for payload, user in users]
    for user, update in updates:
        text = double.wait_reply(user, update).params["text"]
        assert text != welcome


def test_details_come_as_a_second_message(double: BotApiDouble, bot: object) -> None:
    """"Plus de détails" sends the rest as a new message; the answer stays, without that button."""
    faq, _ = load_faq(REPO / "faq")
    entry = next(e for e in faq.entries if e.details)
    user = new_user()
    answer = ask(double, user, f"/start {entry.id}")
    assert buttons(answer)[0].get("callback_data") == f"1d:{entry.id}"
    mark = len(double.calls)
    press(double, user, answer.result["message_id"], f"1d:{entry.id}")
    sent = [c for c in double.calls[mark:] if c.method == "sendMessage"]
    assert [c.params["text"] for c in sent] == [entry.details]
    original = next(m for m in double.messages_to(user)
                    if m.message_id == answer.result["message_id"])
    assert f"1d:{entry.id}" not in original.callback_data
    assert original.callback_data[-2:] == [f"1t:{entry.theme}", "1m"]


@pytest.mark.parametrize(("method", "description"), [
    ("editMessageText", NOT_MODIFIED),
    ("editMessageText", "Bad Request: message to edit not found"),
    ("answerCallbackQuery", QUERY_TOO_OLD),
])
def test_double_taps_and_stale_buttons_say_no_oups(double: BotApiDouble, bot: object,
                                                   method: str, description: str) -> None:
    """A double tap, a deleted message or a too-old query is not the user's fault: no "Oups"."""
    user = new_user()
    menu = ask(double, user, "/start")
    double.fail_next(method, 400, description=description)
    mark = len(double.calls)
    press(double, user, menu.result["message_id"], "1l")
    time.sleep(0.3)  # an "Oups" would follow the answered query
    sent = [c.params.get("text", "") for c in double.calls[mark:] if c.method == "sendMessage"]
    assert not any("Oups" in text for text in sent), sent


def test_unknown_command_gets_the_help_hint(double: BotApiDouble, bot: object) -> None:
    """/foo in private is answered with how to use the bot, not silence."""
    reply = ask(double, new_user(), "/foo")
    assert reply.params["text"].startswith("Je ne connais pas cette commande.")
    assert "/aide" in reply.params["text"]


UNREADABLE_UPDATES = (
    # A Bot API server older than 9.6 sends poll options without persistent_id.
    {"message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                 "poll": {"id": "77", "question": "Pizza ?", "total_voter_count": 0,
                          "options": [{"text": "oui", "voter_count": 0}], "is_closed": False,
                          "is_anonymous": True, "type": "regular",
                          "allows_multiple_answers": False}}},
    {"inline_query": {"id": "78", "query": "zorglub", "offset": "", "from": {"id": 5}}},
    {"message": {"message_id": 1, "date": "yesterday", "text": "zorglub",
                 "chat": {"id": 5, "type": "private"}}},
)


def test_unreadable_updates_are_skipped(double: BotApiDouble, bot: Path) -> None:
    """Updates python-telegram-bot cannot parse are skipped with one line each; polling goes on."""
    skipped = [double.push_update(update) for update in UNREADABLE_UPDATES]
    reply = ask(double, new_user(), "c koi un concours")
    assert reply.params["text"]
    logs = bot.read_text()
    lines = [line for line in logs.splitlines() if "skipped update" in line]
    for update_id in skipped:
        assert sum(f"skipped update {update_id} " in line for line in lines) == 1, lines
    assert "zorglub" not in logs and "Pizza" not in logs and "CRITICAL" not in logs


@pytest.mark.parametrize(("status", "count"), [(429, 5), (502, 4)])
def test_a_reply_outlasts_limits_and_outages(double: BotApiDouble, bot: object, status: int,
                                             count: int) -> None:
    """Five 429s in a row, or a 5xx outage of several seconds: the reply arrives once, no "Oups"."""
    user = new_user()
    double.fail_next("sendMessage", status, count=count, chat_id=user)
    update = double.send_text(user, "c koi un concours")
    reply = double.wait_reply(user, update, timeout=30)
    assert reply.params["text"].startswith("Le <b>concours</b>")
    time.sleep(0.5)
    delivered = [c for c in double.calls if c.method == "sendMessage" and c.ok
                 and c.params.get("chat_id") == user]
    assert len(delivered) == 1
    assert not any("Oups" in c.params["text"] for c in delivered)
