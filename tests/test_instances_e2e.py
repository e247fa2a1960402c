"""Several instances on one PostgreSQL database, end to end: two web instances behind one webhook
URL, a worker and a standby worker, all real `careerbot run --role ...` processes against one Bot
API double (each through its own API root, so every call says which instance made it).

Updates are made by the double, taken off its queue and POSTed to a web instance of the test's
choosing, as a load balancer in front of them would. One web instance reaches PostgreSQL through
a TCP proxy the test can cut, so the database "stops answering" for it alone.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from careerbot import callbacks as cb
from careerbot.callbacks import decode
from careerbot.storage.database import open_engine
from tests import databases
from tests.botapi.server import BotApiDouble, Call
from tests.conftest import REPO
from tests.tcp_proxy import TcpProxy
from tests.telegram_harness import (
    RunningBot,
    free_port,
    http_get,
    launch_bot,
    payload,
    post_update,
    stop_all,
    subscribe_all,
)

SECRET = "several-instances_secret-0123456789"
HOOK = "/telegram/hook"
ADMIN = 42
WEB_A, WEB_B, WORKER, STANDBY = "web-a", "web-b", "worker-1", "worker-2"
WORKERS = (WORKER, STANDBY)
_users = itertools.count(7_000_000)


@dataclass(frozen=True)
class Instance:
    """One `careerbot run` process and where its web endpoints answer."""

    name: str
    bot: RunningBot
    url: str


@dataclass(frozen=True)
class Cluster:
    """The instances, their database and the proxy in front of web-b's database."""

    instances: dict[str, Instance]
    database: str
    proxy: TcpProxy

    def url(self, name: str) -> str:
        """The base URL of an instance's web endpoints."""
        return self.instances[name].url


@pytest.fixture(scope="module")
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end (skipped, saying why, without a server;
    failed under CI).
    """
    databases.require_postgresql(request.node.nodeid)
    name = f"t_instances_{os.getpid()}"
    yield asyncio.run(databases.fresh_database(name))
    asyncio.run(databases.drop_database(name))


@pytest.fixture(scope="module")
def cluster(double: BotApiDouble, database: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two web instances in webhook mode, a worker and a standby, started at once as a
    container platform would; yields once each is ready.
    """
    server = make_url(database)
    with TcpProxy((server.host or "127.0.0.1", server.port or 5432)) as proxy:
        behind_proxy = server.set(host="127.0.0.1", port=proxy.port)
        launched: dict[str, Instance] = {}
        try:
            for name in (WEB_A, WEB_B, WORKER, STANDBY):
                url = behind_proxy if name == WEB_B else server
                launched[name] = launch(double, name, url.render_as_string(hide_password=False),
                                        tmp_path_factory.mktemp(name))
            for instance in launched.values():
                wait_ready(double, instance)
            yield Cluster(launched, database, proxy)
        finally:
            stopped = stop_all({name: i.bot.process for name, i in launched.items()})
    assert all(code == 0 for code in stopped.values()), stopped  # SIGTERM: a clean exit
    for instance in launched.values():
        logs = instance.bot.log.read_text()
        assert double.token not in logs, f"the token leaked into the logs of {instance.name}"
        assert "Traceback" not in logs, f"{instance.name}:\n{logs}"


def launch(double: BotApiDouble, name: str, database_url: str, workdir: Path) -> Instance:
    """Start one instance: a web one in webhook mode, or a worker; each serves its endpoints."""
    port = free_port()
    env = {"TELEGRAM_API_BASE_URL": double.api_root_for(name),
           "CAREERBOT_DATABASE_URL": database_url, "CAREERBOT_DATA_DIR": str(workdir / "data"),
           "CAREERBOT_ADMIN_IDS": str(ADMIN), "CAREERBOT_LISTEN": f"127.0.0.1:{port}"}
    role = "worker" if name in WORKERS else "web"
    if role == "web":
        env |= {"CAREERBOT_WEBHOOK_URL": f"https://bot.example.org{HOOK}",
                "CAREERBOT_WEBHOOK_SECRET": SECRET}
    bot = launch_bot(double, REPO / "faq", workdir, env, args=("--role", role))
    return Instance(name, bot, f"http://127.0.0.1:{port}")


def wait_ready(double: BotApiDouble, instance: Instance, timeout: float = 45) -> None:
    """Wait until /readyz says ready (and a web instance has set its webhook)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.bot.process.poll() is not None:
            raise AssertionError(f"{instance.name} exited with {instance.bot.process.returncode}:"
                                 f"\n{instance.bot.log.read_text()}")
        try:
            ready = http_get(instance.url + "/readyz")[0] == 200
        except OSError:  # not listening yet
            ready = False
        if ready and (instance.name in WORKERS or any(
                c.client == instance.name and c.method == "setWebhook" for c in double.calls)):
            return
        time.sleep(0.1)
    raise AssertionError(f"{instance.name} not ready in {timeout} s:\n{instance.bot.log.read_text()}")


@pytest.fixture(autouse=True)
def no_violation(double: BotApiDouble) -> Iterator[None]:
    """After each test, nothing any instance sent broke the Bot API spec."""
    yield
    double.assert_no_violations()


# --- Talking to the instances --------------------------------------------------------------------

def push(double: BotApiDouble, cluster: Cluster, name: str, update_id: int) -> dict[str, Any]:
    """Hand a queued update to one web instance, as Telegram pushes it; the update."""
    update = double.take_update(update_id)
    assert post_update(cluster.url(name) + HOOK, update, SECRET) == 200
    return update


def say(double: BotApiDouble, cluster: Cluster, name: str, user: int, text_: str) -> Call:
    """A private message pushed to one web instance; its reply."""
    update_id = double.send_text(user, text_)
    push(double, cluster, name, update_id)
    return double.wait_reply(user, update_id, timeout=10)


def press(double: BotApiDouble, cluster: Cluster, name: str, user: int, message_id: int,
          kind: type[cb.Action], **fields: object) -> Call:
    """Press a message's button of this kind through one web instance; the query's answer."""
    data = payload(double, user, message_id, kind, **fields)
    mark = len(double.calls)
    query = push(double, cluster, name, double.press_button(user, message_id, data))
    query_id = query["callback_query"]["id"]
    return double.wait_for(lambda c: c.method == "answerCallbackQuery"
                           and c.params["callback_query_id"] == query_id, timeout=10, since=mark)



def announce(double: BotApiDouble, cluster: Cluster, text_: str) -> tuple[int, int]:
    """/annonce to everyone, now, each step through the other web instance than the last:
    the broadcast and the message showing its report.
    """
    here = itertools.cycle((WEB_A, WEB_B))
    start = say(double, cluster, next(here), ADMIN, "/annonce")
    assert start.params["text"].startswith("📣 <b>Nouvelle annonce</b>")
    audience = say(double, cluster, next(here), ADMIN, text_)
    message_id = audience.result["message_id"]
    press(double, cluster, next(here), ADMIN, message_id, cb.AudienceEveryone)
    press(double, cluster, next(here), ADMIN, message_id, cb.AudienceDone)
    mark = len(double.calls)
    press(double, cluster, next(here), ADMIN, message_id, cb.SendTime, choice="now")
    controls = [c for c in double.calls[mark:] if c.method == "sendMessage" and c.ok
                and c.params["chat_id"] == ADMIN][-1]
    assert "tout le monde (tous les abonnés)" in controls.params["text"]
    confirm = payload(double, ADMIN, controls.result["message_id"], cb.ConfirmDraft)
    press(double, cluster, next(here), ADMIN, controls.result["message_id"], cb.ConfirmDraft)
    action = decode(confirm)
    assert isinstance(action, cb.ConfirmDraft)
    return action.draft, controls.result["message_id"]


def rows(cluster: Cluster, sql: str) -> list[tuple[Any, ...]]:
    """Read the shared database directly."""
    async def fetch() -> list[tuple[Any, ...]]:
        engine = open_engine(cluster.database)
        try:
            async with engine.connect() as connection:
                return [tuple(row) for row in await connection.execute(text(sql))]
        finally:
            await engine.dispose()
    return asyncio.run(fetch())


def subscribe_directly(double: BotApiDouble, cluster: Cluster, chats: list[int]) -> None:
    """Many subscribers at once, written to the shared database; the double learns their chats
    (as if each had talked to the bot) from updates no instance needs to see.
    """
    subscribe_all(cluster.database, chats)
    for chat in chats:
        double.take_update(double.my_chat_member(chat, "member"))


def metric(cluster: Cluster, name: str, sample: str) -> float:
    """One sample of an instance's /metrics (0 when absent)."""
    status, page = http_get(cluster.url(name) + "/metrics")
    assert status == 200
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in page.splitlines() if line and not line.startswith("#")}
    return values.get(sample, 0.0)


def copies(double: BotApiDouble, chat: int, text_: str) -> int:
    """How many copies of a broadcast text a chat received."""
    return sum(1 for m in double.messages_to(chat) if m.text == text_)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll a condition until true; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


# --- The tests ----------------------------------------------------------------------------------

def test_a_wrong_secret_is_refused_by_a_web_instance(double: BotApiDouble, cluster: Cluster) -> None:
    """A push without the right secret token gets 403 and is never handled, by any instance."""
    user = next(_users)
    update = double.take_update(double.send_text(user, "c'est quoi un concours ?"))
    assert post_update(cluster.url(WEB_B) + HOOK, update, "not-the-secret-0123456789") == 403
    assert post_update(cluster.url(WEB_B) + HOOK, update, None) == 403
    say(double, cluster, WEB_B, next(_users), "bonjour")  # handled after them, so they had their turn
    assert not [c for c in double.calls if c.params.get("chat_id") == user]


QUESTIONS = ("c'est quoi un concours ?", "comment devenir prof ?", "c'est quoi la catégorie B ?",
             "c'est quoi le PACTE ?", "ou trouver les offres d'emploi public ?")


def test_updates_round_robin_with_duplicates_are_answered_once(double: BotApiDouble,
                                                               cluster: Cluster) -> None:
    """Sixty updates spread over both web instances, 5% of them pushed twice (again to the same
    instance, to the other one at the same moment, or to the other one after the answer, as
    Telegram redelivers): each update gets exactly one answer, from a web instance.
    """
    users = [next(_users) for _ in range(60)]
    updates = [double.send_text(user, QUESTIONS[i % len(QUESTIONS)]) for i, user in enumerate(users)]
    bodies = {update_id: double.take_update(update_id) for update_id in updates}
    first = {update_id: (WEB_A, WEB_B)[i % 2] for i, update_id in enumerate(updates)}
    other = {WEB_A: WEB_B, WEB_B: WEB_A}
    same, racing, redelivered = updates[7], updates[24], updates[41]
    pushes = [(first[u], u) for u in updates] + [(first[same], same)]
    barrier = threading.Barrier(2)

    def deliver(target: tuple[str, int]) -> int:
        name, update_id = target
        if update_id == racing:  # both copies leave together, one to each instance
            barrier.wait(timeout=10)
        return post_update(cluster.url(name) + HOOK, bodies[update_id], SECRET)

    with ThreadPoolExecutor(max_workers=4) as pool:
        racer = pool.submit(deliver, (other[first[racing]], racing))
        assert all(status == 200 for status in pool.map(deliver, pushes))
        assert racer.result() == 200
    double.wait_reply(users[updates.index(redelivered)], redelivered, timeout=10)
    assert post_update(cluster.url(other[first[redelivered]]) + HOOK, bodies[redelivered],
                       SECRET) == 200
    for user, update_id in zip(users, updates, strict=True):
        double.wait_reply(user, update_id, timeout=15)
    for name in (WEB_A, WEB_B):  # a last update through each: what came before was handled
        say(double, cluster, name, next(_users), "merci")
    time.sleep(0.5)  # handlers run concurrently: give a late duplicate its chance to show

    replies = [c for c in double.calls if c.method == "sendMessage" and c.ok
               and c.params["chat_id"] in set(users)]
    per_user = Counter(c.params["chat_id"] for c in replies)
    assert {user: per_user[user] for user in users} == {user: 1 for user in users}
    by = Counter(c.client for c in replies)
    assert set(by) == {WEB_A, WEB_B} and min(by.values()) >= 25, by  # both served their share
    assert sum(metric(cluster, name, 'careerbot_updates_total{kind="duplicate"}')
               for name in (WEB_A, WEB_B)) == 3  # and each instance counts what it skipped


def test_a_draft_started_on_one_instance_is_confirmed_on_the_other(double: BotApiDouble,
                                                                   cluster: Cluster) -> None:
    """An organiser's draft lives in the database: each step can reach either web instance; the
    worker alone sends the broadcast, one copy each, and the report says it is over.
    """
    chats = [next(_users) for _ in range(5)]
    subscribe_directly(double, cluster, chats)
    text_ = "Atelier CV samedi à 10 h, venez nombreux"
    mark = len(double.calls)
    broadcast, report = announce(double, cluster, text_)
    wait_until(lambda: rows(cluster, f"select state from broadcasts where id={broadcast}")
               == [("done",)], 20, "the broadcast is done")
    assert [copies(double, chat, text_) for chat in chats] == [1] * len(chats)
    senders = {c.client for c in double.calls[mark:] if c.method == "sendMessage"
               and c.params["chat_id"] in chats}
    assert len(senders) == 1 and senders <= set(WORKERS), senders
    double.wait_for(lambda c: c.method == "editMessageText" and c.ok
                    and c.params.get("message_id") == report
                    and f"Annonce #{broadcast}</b> : terminée" in c.params["text"],
                    timeout=10, since=mark)


def test_readiness_follows_the_database(double: BotApiDouble, cluster: Cluster) -> None:
    """When PostgreSQL stops answering web-b, its /readyz says 503 (web-a's stays 200); when it
    answers again, 200, and web-b answers questions again.
    """
    ready = cluster.url(WEB_B) + "/readyz"
    assert http_get(ready) == (200, "ready")
    cluster.proxy.cut()
    try:
        wait_until(lambda: http_get(ready)[0] == 503, 10, "web-b not ready without its database")
        assert http_get(cluster.url(WEB_B) + "/healthz") == (200, "ok")  # alive, just not ready
        assert http_get(cluster.url(WEB_A) + "/readyz") == (200, "ready")
    finally:
        cluster.proxy.restore()
    wait_until(lambda: http_get(ready) == (200, "ready"), 15, "web-b ready again")
    assert "PACTE" in say(double, cluster, WEB_B, next(_users), "c'est quoi le PACTE ?").params["text"]


def test_the_standby_finishes_a_broadcast_when_the_worker_is_killed(double: BotApiDouble,
                                                                    cluster: Cluster) -> None:
    """SIGKILL the worker that is sending: the standby takes over within 10 s and finishes; nobody
    gets two copies, and everyone got one except deliveries reported uncertain (at most one).
    """
    chats = [next(_users) for _ in range(240)]
    recipients = set(chats)
    subscribe_directly(double, cluster, chats)
    double.rate_limit(30)  # Telegram's pace: the broadcast takes ~8 s
    text_ = "Nouvelle session de la Prépa Talents ouverte"
    mark = len(double.calls)
    try:
        broadcast, report = announce(double, cluster, text_)
        wait_until(lambda: sum(copies(double, c, text_) for c in chats) >= 60, 30,
                   "60 copies sent")
        sends = [c for c in double.calls[mark:] if c.method == "sendMessage"
                 and c.params["chat_id"] in recipients]
        [sender] = {str(c.client) for c in sends}  # one sender at a time
        survivor = next(name for name in WORKERS if name != sender)
        killed = cluster.instances[sender].bot.process
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        killed_at = time.monotonic()
        assert sum(copies(double, c, text_) for c in chats) < len(chats)  # killed mid-way
        taken_over = double.wait_for(lambda c: c.client == survivor and c.method == "sendMessage"
                                     and c.params["chat_id"] in recipients, timeout=15,
                                     since=mark).at
        assert taken_over - killed_at <= 10, f"the standby took {taken_over - killed_at:.1f} s"
        wait_until(lambda: rows(cluster, f"select state from broadcasts where id={broadcast}")
                   == [("done",)], 30, "the broadcast is done")
    finally:
        double.rate_limit(None)
    late = [c for c in double.calls[mark:] if c.client == sender and c.at > killed_at]
    assert late == []
    unknown = {chat for (chat,) in rows(cluster, "select chat_id from deliveries where "
                                                 f"broadcast_id={broadcast} and state='unknown'")}
    assert len(unknown) <= 16  # at most the sends in flight when killed
    for chat in chats:
        assert copies(double, chat, text_) in ({0, 1} if chat in unknown else {1}), chat
    double.wait_for(lambda c: c.client == survivor and c.method == "editMessageText" and c.ok
                    and c.params.get("message_id") == report
                    and f"Annonce #{broadcast}</b> : terminée" in c.params["text"],
                    timeout=10, since=mark)


def test_an_update_in_hand_when_its_instance_dies_is_answered_by_another(
        double: BotApiDouble, cluster: Cluster) -> None:
    """A webhook call is answered only once its update is handled: web-a, killed while its reply
    waits out a 429, never said 200, so the copy Telegram sends again to web-b is answered there,
    once web-a's heartbeat has stopped; nothing is lost and nothing doubled. Last in the module,
    since web-a stays dead.
    """
    user = next(_users)
    update_id = double.send_text(user, QUESTIONS[0])
    update = double.take_update(update_id)
    double.fail_next("sendMessage", 429, retry_after=5, chat_id=user)
    mark = len(double.calls)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post_update, cluster.url(WEB_A) + HOOK, update, SECRET)
        double.wait_for(lambda c: c.method == "sendMessage" and c.status == 429
                        and c.params.get("chat_id") == user, timeout=10, since=mark)
        killed = cluster.instances[WEB_A].bot.process
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        with pytest.raises(OSError):  # the call never got its answer
            first.result(timeout=10)
    started = time.monotonic()
    assert post_update(cluster.url(WEB_B) + HOOK, update, SECRET) == 200  # Telegram's retry
    waited = time.monotonic() - started
    replies = [c for c in double.calls[mark:] if c.method == "sendMessage" and c.ok
               and c.params.get("chat_id") == user]
    assert [c.client for c in replies] == [WEB_B]
    assert 1.0 < waited < 10, f"web-b answered after {waited:.1f} s"  # it waited for web-a's end
