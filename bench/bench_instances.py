"""The acceptance probe of issue #10, "several instances act as one": two (then three) web
instances in webhook mode, a worker and a standby worker, all real `careerbot run --role ...` processes on one
fresh PostgreSQL database and one Bot API double, judged from what the double recorded, what the
instances' /metrics say and what they wrote in the database.

Run from the project root:

    .venv/bin/python bench/bench_instances.py [--users N] [--subscribers N] [--keep]

Phases (web-a is SIGKILLed in phase 2 and started again; web-c joins in phase 3):

1. forged: a webhook call with a wrong secret: 403, and never answered;
2. chat: N users (default 2,000) each ask one question of tests/eval/test.yaml, POSTed round-robin
   to the two web instances at ``--rate`` updates/s, 5% pushed twice (to the same instance or to
   the other one, 0-0.5 s later); web-a is SIGKILLed half-way: a POST that fails or times out on
   it is redelivered to web-b at once (as Telegram would) and the load balancer then sends
   everything to web-b. Every update must be answered exactly once (counted per user at the
   double: one user, one update); reply latency = POST to the reply reaching the double;
3. broadcast: web-a is started again and a third web instance, web-c, joins the balancer (the
   issue's "3 web instances at full load while a broadcast runs"); ``--subscribers`` (default
   300) subscribers are written to the database, ``double.rate_limit(30)``, a broadcast is
   queued with ``careerbot broadcast`` while users keep asking (``--busy-rate``/s, default 24:
   full load, what the 30/s budget leaves after a small margin, round-robin over the three web
   instances); the sending worker is
   SIGKILLed at 40% and the standby must take over within 10 s, with no duplicate, no silent
   loss and no `unknown` recipient that never got a request; 429s among all sends < 1%;
4. metrics: each live instance's /readyz is 200; careerbot_updates_total on web-b matches what it
   handled in phase 2 (kind="duplicate": the second copies it skipped); the standby's
   careerbot_deliveries_total matches its sends and the database;
5. reload: the instances run on a writable copy of faq/; one file is broken (a `related:` to an
   unknown id) and `careerbot reload` run: during the next 5 s every question is answered, the
   same as before; then the file is fixed with a changed answer, reloaded, and the new text seen.

Exit status: 0 when every criterion holds, 1 when one fails, 2 when the probe could not run.
``--keep`` keeps the database, the work dir (logs, FAQ copy) and prints where they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from careerbot.budget import MIN_BROADCAST  # noqa: E402
from careerbot.evaluation import load_cases  # noqa: E402
from careerbot.storage.database import open_engine  # noqa: E402
from tests import databases  # noqa: E402
from tests.botapi.server import SEND_METHODS, BotApiDouble, Call  # noqa: E402
from tests.telegram_harness import CAREERBOT, bot_environment, free_port, http_get, stop_all, subscribe_all  # noqa: E402  # noqa: E402

SECRET = "bench-instances_secret-0123456789"
HOOK = "/telegram/hook"
ADMIN = 42
WEB_A, WEB_B, WEB_C, WORKER, STANDBY = "web-a", "web-b", "web-c", "worker-1", "worker-2"
WORKERS = (WORKER, STANDBY)
LIMIT = 30.0  # Telegram's overall pace (the double's rate_limit in phase 3)
SEED = 2025
DUPLICATE_SHARE = 0.05
POST_TIMEOUT = 5.0  # a webhook call not answered within this is redelivered elsewhere
MAX_P99_MS = 150.0
MAX_TAKEOVER = 10.0
MAX_429_SHARE = 0.01
KILL_WORKER_AT = 0.4
RELOAD_WINDOW = 5.0
CHAT_USERS, BUSY_USERS, RELOAD_USERS, FORGED_USER = 800_000_000, 810_000_000, 820_000_000, 830_000_000
FIRST_SUBSCRIBER = 850_000_000
RELOAD_QUESTION = "c koi un concours de la fonction publik"  # an alternative of concours-definition
CHANGED = "Sonde-issue-10 :"  # prefixed to that entry's answer by the fixed FAQ
BROKEN_FILE, BROKEN_FROM, BROKEN_TO = ("metiers-securite.yaml", "related: [gendarme,",
                                       "related: [entree-qui-n-existe-pas, gendarme,")


# --- the cluster ----------------------------------------------------------------------------------

@dataclass
class Instance:
    """One `careerbot run --role ...` process and where its endpoints answer."""

    name: str
    role: str
    port: int
    workdir: Path
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Cluster:
    double: BotApiDouble
    database: str
    faq: Path
    instances: dict[str, Instance]

    def env(self, instance: Instance | None = None) -> dict[str, str]:
        """The environment of an instance (or of a CLI command, without one)."""
        env = {"CAREERBOT_DATABASE_URL": self.database, "CAREERBOT_ADMIN_IDS": str(ADMIN)}
        if instance is not None:
            env |= {"TELEGRAM_API_BASE_URL": self.double.api_root_for(instance.name),
                    "CAREERBOT_DATA_DIR": str(instance.workdir / "data"),
                    "CAREERBOT_LISTEN": f"127.0.0.1:{instance.port}"}
            if instance.role == "web":
                env |= {"CAREERBOT_WEBHOOK_URL": f"https://bot.example.org{HOOK}",
                        "CAREERBOT_WEBHOOK_SECRET": SECRET}
        return bot_environment(self.double, self.faq, env)

    def start(self, name: str) -> None:
        """Start (or restart) an instance; do not wait."""
        instance = self.instances[name]
        instance.workdir.mkdir(parents=True, exist_ok=True)
        with (instance.workdir / "bot.log").open("a") as sink:
            instance.process = subprocess.Popen(
                [str(CAREERBOT), "run", "--role", instance.role], env=self.env(instance),
                cwd=instance.workdir, stdout=sink, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self, name: str, since: int = 0, timeout: float = 60) -> None:
        """Until /readyz says 200 (and a web instance has set its webhook since `since`)."""
        instance = self.instances[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert instance.process is not None
            if instance.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {instance.process.returncode}; see "
                                   f"{instance.workdir / 'bot.log'}")
            try:
                ready = http_get(instance.url + "/readyz")[0] == 200
            except OSError:
                ready = False
            if ready and (instance.role == "worker" or any(
                    c.client == name and c.method == "setWebhook"
                    for c in self.double.calls[since:])):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready in {timeout:.0f} s")

    def kill(self, name: str) -> float:
        """SIGKILL an instance; the moment it is dead."""
        process = self.instances[name].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        return time.monotonic()

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every live instance at once (SIGKILL after 15 s); their exit codes."""
        return stop_all({n: i.process for n, i in self.instances.items()
                         if i.process is not None})


def rows(database: str, sql: str) -> list[tuple[Any, ...]]:
    """Read the shared database."""
    async def fetch() -> list[tuple[Any, ...]]:
        engine = open_engine(database)
        try:
            async with engine.connect() as connection:
                return [tuple(row) for row in await connection.execute(text(sql))]
        finally:
            await engine.dispose()
    return asyncio.run(fetch())


def metrics(instance: Instance) -> dict[str, float]:
    """An instance's /metrics samples."""
    status, page = http_get(instance.url + "/metrics")
    if status != 200:
        raise RuntimeError(f"{instance.name} /metrics answered {status}")
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in page.splitlines() if line and not line.startswith("#")}


def post(url: str, body: bytes, secret: str | None, timeout: float = POST_TIMEOUT) -> int | None:
    """POST an update as Telegram does; the HTTP status, or None when it failed or timed out."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


# --- load -----------------------------------------------------------------------------------------

@dataclass
class Asked:
    """One user's update and what became of its deliveries."""

    user: int
    update_id: int
    body: bytes
    first_post: float = 0.0
    posts: list[tuple[str, int | None, float]] = field(default_factory=list)  # (to, status, at)
    redelivered: bool = False  # a POST failed or timed out on a dead instance


class Balancer:
    """Round-robin over the live web instances; a call failing on a dead one goes to the other,
    and the dead one gets no more calls (its health check failed).
    """

    def __init__(self, cluster: Cluster, names: Iterable[str]) -> None:
        self.cluster = cluster
        self.names = list(names)
        self.down: set[str] = set()
        self.turn = 0
        self.lock = threading.Lock()

    def next(self) -> str:
        with self.lock:
            live = [n for n in self.names if n not in self.down] or self.names
            self.turn += 1
            return live[self.turn % len(live)]

    def other(self, name: str) -> str:
        """Another instance, a live one when there is one."""
        others = [n for n in self.names if n != name]
        return next((n for n in others if n not in self.down), others[0])

    def deliver(self, asked: Asked, to: str) -> None:
        """POST until an instance takes it (200), as Telegram keeps retrying."""
        for _ in range(4):
            at = time.monotonic()
            status = post(self.cluster.instances[to].url + HOOK, asked.body, SECRET)
            asked.posts.append((to, status, at))
            if status == 200:
                return
            if not self.cluster.instances[to].alive:
                with self.lock:
                    self.down.add(to)
                asked.redelivered = True
            to = self.other(to)


def ask_many(cluster: Cluster, balancer: Balancer, users: list[int], questions: list[str],
             rate: float, duplicates: float, rng: random.Random,
             at_half: Callable[[], object] | None = None) -> list[Asked]:
    """Every user asks one question, at `rate` updates/s, a share pushed twice."""
    double = cluster.double
    asked: list[Asked] = []
    with ThreadPoolExecutor(max_workers=48, thread_name_prefix="post") as pool:
        start = time.monotonic()
        for i, user in enumerate(users):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            if at_half is not None and i == len(users) // 2:
                at_half()
            update_id = double.send_text(user, questions[i % len(questions)])
            body = json.dumps(double.take_update(update_id)).encode()
            one = Asked(user, update_id, body, first_post=time.monotonic())
            asked.append(one)
            to = balancer.next()
            pool.submit(balancer.deliver, one, to)
            if rng.random() < duplicates:
                again = to if rng.random() < 0.5 else balancer.other(to)
                delay = rng.uniform(0, 0.5)

                def twice(one: Asked = one, again: str = again, delay: float = delay) -> None:
                    time.sleep(delay)
                    if again in balancer.down:
                        again = balancer.other(again)
                    balancer.deliver(one, again)
                pool.submit(twice)
    return asked


def replies_by_chat(calls: list[Call], chats: set[int]) -> dict[int, list[Call]]:
    """The successful messages sent to each of these chats."""
    found: dict[int, list[Call]] = {chat: [] for chat in chats}
    for call in calls:
        if call.method == "sendMessage" and call.ok and call.params.get("chat_id") in chats:
            found[int(call.params["chat_id"])].append(call)
    return found


def wait_answered(double: BotApiDouble, asked: list[Asked], timeout: float) -> None:
    """Until every user has a reply (or timeout), then a second for late duplicates."""
    chats = {a.user for a in asked}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(replies_by_chat(double.calls, chats).values()):
            break
        time.sleep(0.25)
    time.sleep(1.0)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_text(ms: list[float]) -> str:
    if not ms:
        return "no reply measured"
    return (f"n={len(ms)} p50 {percentile(ms, 50):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
            f"max {max(ms):.0f} ms")


class Busy(threading.Thread):
    """Users asking questions at a steady rate until stopped (one question per user)."""

    def __init__(self, cluster: Cluster, balancer: Balancer, questions: list[str], rate: float,
                 first_user: int) -> None:
        super().__init__(name="busy", daemon=True)
        self.cluster, self.balancer, self.questions, self.rate = cluster, balancer, questions, rate
        self.next_user = first_user
        self.asked: list[Asked] = []
        self.halt = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="busy")

    def run(self) -> None:
        start, i = time.monotonic(), 0
        double = self.cluster.double
        while not self.halt.is_set():
            user = self.next_user + i
            update_id = double.send_text(user, self.questions[i % len(self.questions)])
            body = json.dumps(double.take_update(update_id)).encode()
            one = Asked(user, update_id, body, first_post=time.monotonic())
            self.asked.append(one)
            self.pool.submit(self.balancer.deliver, one, self.balancer.next())
            i += 1
            self.halt.wait(max(0.0, start + i / self.rate - time.monotonic()))

    def stop(self) -> list[Asked]:
        self.halt.set()
        self.join()
        self.pool.shutdown()
        return self.asked


# --- the report -----------------------------------------------------------------------------------

@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def say(self, label: str, text_: str) -> None:
        self.lines.append(f"  {label:<22}: {text_}")
        print(self.lines[-1], flush=True)

    def check(self, label: str, ok: bool, text_: str) -> None:
        self.lines.append(f"[{'PASS' if ok else 'FAIL'}] {label:<19}: {text_}")
        print(self.lines[-1], flush=True)
        if not ok:
            self.failed.append(label)


def log(started: float, message: str) -> None:
    print(f"{time.monotonic() - started:7.1f} s  {message}", flush=True)


# --- phases ---------------------------------------------------------------------------------------

def phase_forged(cluster: Cluster, v: Verdict) -> None:
    double = cluster.double
    update = double.take_update(double.send_text(FORGED_USER, "c'est quoi un concours ?"))
    body = json.dumps(update).encode()
    statuses = [post(cluster.instances[name].url + HOOK, body, secret)
                for name in (WEB_A, WEB_B) for secret in ("not-the-secret-0123456789", None)]
    # an update answered through each instance after them: the forged ones had their turn
    for name, user in ((WEB_A, FORGED_USER + 1), (WEB_B, FORGED_USER + 2)):
        uid = double.send_text(user, "bonjour")
        post(cluster.instances[name].url + HOOK, json.dumps(double.take_update(uid)).encode(), SECRET)
        double.wait_reply(user, uid, timeout=10)
    answered = [c for c in double.calls if c.params.get("chat_id") == FORGED_USER]
    v.check("3 forged webhook", statuses == [403] * 4 and not answered,
            f"statuses {statuses} (wrong secret, none; web-a, web-b), {len(answered)} Bot API "
            "calls to the forger's chat")


def judge_chat(cluster: Cluster, asked: list[Asked], killed_at: float, v: Verdict) -> None:
    double = cluster.double
    replies = replies_by_chat(double.calls, {a.user for a in asked})
    counts = Counter(len(replies[a.user]) for a in asked)
    redelivered = [a for a in asked if a.redelivered]
    unanswered = [a for a in asked if not replies[a.user]]
    twice = [a for a in asked if len(replies[a.user]) > 1]
    posts = sum(len(a.posts) for a in asked)
    dup_sent = sum(1 for a in asked if sum(1 for _, s, _ in a.posts if s == 200) > 1)
    v.say("updates", f"{len(asked)} users, one question each; {posts} POSTs, {dup_sent} updates "
                     f"accepted (200) twice; {len(redelivered)} redelivered after failing on the "
                     "killed instance")
    v.say("replies per update", ", ".join(f"{n} repl{'y' if n == 1 else 'ies'}: {c}"
                                          for n, c in sorted(counts.items())))
    if unanswered:
        lost = unanswered
        where = Counter((p[0], p[1]) for a in lost for p in a.posts)
        near_kill = sum(1 for a in lost if any(abs(at - killed_at) < 1 for _, _, at in a.posts))
        v.say("unanswered", f"{len(lost)}: POSTs {dict(where)}; {near_kill} posted within 1 s "
                            f"of the SIGKILL; e.g. update {lost[0].update_id} posts "
                            f"{[(t, s, round(at - killed_at, 3)) for t, s, at in lost[0].posts]} "
                            "(times from the kill)")
    by = Counter(str(c.client) for a in asked for c in replies[a.user])
    v.say("replies by instance", ", ".join(f"{n} {c}" for n, c in sorted(by.items())))
    measured = [(r[0].at - a.first_post) * 1000 for a in asked if (r := replies[a.user])
                and not a.redelivered]
    timed = sorted(((r[0].at - a.first_post) * 1000, a.first_post - killed_at, str(r[0].client))
                   for a in asked if (r := replies[a.user]) and not a.redelivered)
    v.say("latency by time", f"before the kill {latency_text([t for t, k, _ in timed if k < 0])}; "
                             f"after {latency_text([t for t, k, _ in timed if k >= 0])}")
    per_second = Counter(int(c.at - killed_at) for a in asked for c in replies[a.user]
                         if c.client == WEB_B and 0 <= c.at - killed_at < 14)
    v.say("web-b replies/s", "after the kill, second by second: "
                             + " ".join(str(per_second[s]) for s in range(14)))
    v.say("slowest", ", ".join(f"{t:.0f} ms (posted {k:+.2f} s from the kill, answered by {c})"
                               for t, k, c in timed[-3:]))
    v.check("1 exactly once", not unanswered and not twice,
            f"{len(unanswered)} updates unanswered, {len(twice)} answered twice or more")
    ok = bool(measured) and percentile(measured, 99) < MAX_P99_MS
    v.check("1 reply latency", ok, latency_text(measured) + f" (p99 < {MAX_P99_MS:.0f} ms); "
            f"{len(redelivered)} left out (their first POST hit the killed instance)")


def phase_broadcast(cluster: Cluster, balancer: Balancer, questions: list[str], subscribers: int,
                    busy_rate: float, started: float, v: Verdict) -> None:
    double = cluster.double
    chats = [FIRST_SUBSCRIBER + i for i in range(subscribers)]
    recipients = set(chats)
    subscribe_all(cluster.database, chats)
    for chat in chats:
        double.take_update(double.my_chat_member(chat, "member"))
    marker = f"Sonde FP21 {random.Random().getrandbits(32):08x}"
    message = f"📣 {marker} : les inscriptions au forum sont ouvertes !"
    busy = Busy(cluster, balancer, questions, busy_rate, BUSY_USERS)
    double.rate_limit(LIMIT)
    mark = len(double.calls)
    busy.start()
    time.sleep(3)  # the heartbeats see the reply traffic before the broadcast starts
    queued_at = time.monotonic()
    cli = subprocess.run([str(CAREERBOT), "broadcast", "--text", message], env=cluster.env(),
                         cwd=cluster.instances[WORKER].workdir, capture_output=True, text=True,
                         check=False)
    if cli.returncode != 0:
        busy.stop()
        raise RuntimeError(f"careerbot broadcast failed:\n{cli.stdout}{cli.stderr}")
    log(started, f"broadcast queued to {subscribers} subscribers, users asking {busy_rate:g}/s")

    def copies(calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method == "sendMessage" and c.params.get("chat_id") in recipients]

    sender = killed_at = None
    # the broadcast gets what replies leave (budget.split), down to a trickle
    deadline = queued_at + subscribers / max(MIN_BROADCAST, LIMIT - 1.2 * busy_rate) + 90
    state = None
    while time.monotonic() < deadline:
        time.sleep(0.2)
        sent = copies(double.calls[mark:])
        if sender is None and len([c for c in sent if c.ok]) >= KILL_WORKER_AT * subscribers:
            [sender] = {str(c.client) for c in sent}
            killed_at = cluster.kill(sender)
            log(started, f"{len(sent)} copies sent: SIGKILL {sender}")
        found = rows(cluster.database, "select id, state from broadcasts order by id desc limit 1")
        state = found[0][1] if found else None
        if state == "done":
            break
    time.sleep(1.5)
    asked = busy.stop()
    wait_answered(double, asked, 20)
    double.rate_limit(None)
    log(started, f"broadcast {state}")
    calls = double.calls[mark:]
    sent = copies(calls)
    [(broadcast_id,)] = rows(cluster.database, "select max(id) from broadcasts")
    states = {int(chat): str(s) for chat, s in rows(
        cluster.database, f"select chat_id, state from deliveries where broadcast_id={broadcast_id}")}
    delivered = Counter(int(c.params["chat_id"]) for c in sent if c.ok)
    requested = {int(c.params["chat_id"]) for c in sent}
    v.say("broadcast", f"#{broadcast_id} {state}; DB states "
          + ", ".join(f"{s} {n}" for s, n in Counter(states.values()).most_common())
          + f"; {len(sent)} sendMessage to subscribers, {sum(delivered.values())} delivered "
            f"to {len(delivered)} chats; by " + ", ".join(
                f"{n} {c}" for n, c in sorted(Counter(str(c.client) for c in sent).items())))
    # 2. takeover
    if sender is None or killed_at is None:
        v.check("2 standby takeover", False, "the worker was never killed (broadcast too short?)")
        return
    survivor = next(n for n in WORKERS if n != sender)
    last_killed = max((c.at for c in calls if c.client == sender), default=float("nan"))
    first_standby = min((c.at for c in sent if c.client == survivor), default=float("nan"))
    takeover = first_standby - last_killed
    late = [c for c in calls if c.client == sender and c.at > killed_at]
    v.check("2 standby takeover", takeover < MAX_TAKEOVER and not late,
            f"{takeover:.2f} s from {sender}'s last Bot API call to {survivor}'s first copy "
            f"(< {MAX_TAKEOVER:.0f} s); SIGKILL to first copy {first_standby - killed_at:.2f} s; "
            f"{len(late)} calls from {sender} after its death")
    duplicated = {chat: n for chat, n in delivered.items() if n > 1}
    v.check("2 duplicates", not duplicated, f"{len(duplicated)} chats got 2+ copies"
            + (f" e.g. {dict(list(duplicated.items())[:5])}" if duplicated else ""))
    lost = {chat: states.get(chat, "no row") for chat in chats
            if not delivered[chat] and states.get(chat) not in ("unknown", "blocked", "gone")}
    v.check("2 silent losses", not lost and state == "done",
            f"{len(lost)} chats without a copy and a state that hides it "
            + str(dict(Counter(lost.values()))) + f"; broadcast {state}")
    unknown = [chat for chat, s in states.items() if s == "unknown"]
    unsent = [chat for chat in unknown if chat not in requested]
    v.check("2 unknown unrequested", not unsent,
            f"{len(unsent)} of {len(unknown)} recipients `unknown` never got a request "
            f"({sum(1 for chat in unknown if delivered[chat])} of them did get a copy)")
    # 6. 429s
    sends = [c for c in calls if c.method in SEND_METHODS]
    too_many = [c for c in sends if c.status == 429]
    share = len(too_many) / max(1, len(sends))
    replies = replies_by_chat(calls, {a.user for a in asked})
    ms = [(r[0].at - a.first_post) * 1000 for a in asked if (r := replies[a.user])]
    unanswered = sum(1 for a in asked if not replies[a.user])
    span = max(c.at for c in sent) - min(c.at for c in sent) if sent else 0.0
    v.say("during the broadcast", f"{len(asked)} questions at {busy_rate:g}/s: {latency_text(ms)}, "
          f"{unanswered} unanswered; broadcast {len(sent)} sends over {span:.1f} s")
    v.check("6 429 share", share < MAX_429_SHARE,
            f"{len(too_many)} 429 of {len(sends)} sends = {share:.2%} (< {MAX_429_SHARE:.0%}); by "
            + (", ".join(f"{n} {c}" for n, c in sorted(Counter(str(c.client) for c in too_many).items()))
               or "-") + "; windows disregarded: "
            + str(len({told.index for told, _ in double.requests_in_retry_windows()})))
    # 4. the standby's deliveries vs the database and the double
    if cluster.instances[survivor].alive:
        seen = metrics(cluster.instances[survivor])
        counted = {s: seen.get(f'careerbot_deliveries_total{{state="{s}"}}', 0.0)
                   for s in ("sent", "unknown", "blocked", "gone", "failed")}
        by_survivor = sum(1 for c in sent if c.ok and c.client == survivor)
        db_sent = sum(1 for s in states.values() if s == "sent")
        by_killed = sum(1 for c in sent if c.ok and c.client == sender)
        ok = (counted["sent"] == by_survivor and db_sent == by_survivor + by_killed
              - sum(1 for chat in unknown if delivered[chat]))
        v.check("4 deliveries metric", ok,
                f"{survivor}: careerbot_deliveries_total " + ", ".join(
                    f"{s} {n:g}" for s, n in counted.items() if n) + f"; its copies answered 200 "
                f"{by_survivor}; DB sent {db_sent} = {by_killed} ({sender}) + {by_survivor} "
                f"({survivor}) - unknown delivered")


def phase_reload(cluster: Cluster, started: float, v: Verdict) -> None:
    double = cluster.double
    users = iter(range(RELOAD_USERS, RELOAD_USERS + 10_000))
    names = [n for n in (WEB_A, WEB_B, WEB_C) if cluster.instances[n].alive]

    def ask(name: str) -> tuple[int, int, float]:
        user = next(users)
        uid = double.send_text(user, RELOAD_QUESTION)
        at = time.monotonic()
        post(cluster.instances[name].url + HOOK, json.dumps(double.take_update(uid)).encode(), SECRET)
        return user, uid, at

    def answer(user: int, uid: int) -> str | None:
        try:
            return str(double.wait_reply(user, uid, timeout=10).params["text"])
        except AssertionError:
            return None

    before = {name: answer(*ask(name)[:2]) for name in names}
    path = cluster.faq / BROKEN_FILE
    good = path.read_text(encoding="utf-8")
    assert BROKEN_FROM in good, f"{BROKEN_FILE} no longer holds {BROKEN_FROM!r}"
    path.write_text(good.replace(BROKEN_FROM, BROKEN_TO, 1), encoding="utf-8")
    reload = subprocess.run([str(CAREERBOT), "reload"], env=cluster.env(), capture_output=True,
                            text=True, check=False)
    log(started, f"broken FAQ, `careerbot reload` exit {reload.returncode}: asking for "
                 f"{RELOAD_WINDOW:.0f} s")
    asked: list[tuple[int, int, float]] = []
    end = time.monotonic() + RELOAD_WINDOW
    i = 0
    while time.monotonic() < end:
        asked.append(ask(names[i % len(names)]))
        i += 1
        time.sleep(0.1)
    texts = [answer(user, uid) for user, uid, _ in asked]
    unanswered = sum(1 for t in texts if t is None)
    changed = sum(1 for t in texts if t is not None and t not in before.values())
    v.check("5 broken reload", reload.returncode != 0 and not unanswered and not changed
            and len(set(before.values())) == 1,
            f"reload exit {reload.returncode}; {len(asked)} questions in {RELOAD_WINDOW:.0f} s "
            f"through {'+'.join(names)}: {unanswered} unanswered, {changed} answers changed")
    # fixed, with a changed answer
    comprendre = cluster.faq / "comprendre.yaml"
    content = comprendre.read_text(encoding="utf-8")
    entry = content.index("- id: concours-definition")
    at = content.index("answer: |-\n", entry) + len("answer: |-\n")
    indent = len(content[at:]) - len(content[at:].lstrip(" "))
    comprendre.write_text(content[:at + indent] + CHANGED + " " + content[at + indent:],
                          encoding="utf-8")
    path.write_text(good, encoding="utf-8")
    reload = subprocess.run([str(CAREERBOT), "reload"], env=cluster.env(), capture_output=True,
                            text=True, check=False)
    seen: dict[str, float] = {}
    reloaded_at = time.monotonic()
    while time.monotonic() < reloaded_at + 10 and len(seen) < len(names):
        for name in names:
            if name not in seen:
                user, uid, _ = ask(name)
                if CHANGED in (answer(user, uid) or ""):
                    seen[name] = time.monotonic() - reloaded_at
        time.sleep(0.2)
    v.check("5 fixed reload", reload.returncode == 0 and len(seen) == len(names),
            f"reload exit {reload.returncode}; the changed answer seen on "
            + (", ".join(f"{n} after {s:.1f} s" for n, s in seen.items()) or "no instance"))


# --- main -----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="users in phase 2 (default 2000)")
    parser.add_argument("--rate", type=float, default=25.0,
                        help="updates/s in phase 2 (default 25: under the 29/s replies may use)")
    parser.add_argument("--subscribers", type=int, default=300,
                        help="broadcast audience (300: at full load it goes at ~1.2/s)")
    parser.add_argument("--busy-rate", type=float, default=24.0,
                        help="questions/s while the broadcast runs (default 24: full load)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work dir")
    args = parser.parse_args()
    if reason := databases.unreachable():
        print(f"PostgreSQL not reachable: {reason}", file=sys.stderr)
        return 2
    questions = [case.q for case in load_cases(ROOT / "tests" / "eval" / "test.yaml")]
    rng = random.Random(SEED)
    rng.shuffle(questions)
    work = Path(tempfile.mkdtemp(prefix="careerbot-instances-"))
    faq = work / "faq"
    shutil.copytree(ROOT / "faq", faq)
    name = f"bench_instances_{os.getpid()}"
    database = asyncio.run(databases.fresh_database(name))
    v = Verdict()
    started = time.monotonic()
    exit_codes: dict[str, int] = {}
    with BotApiDouble() as double:
        cluster = Cluster(double, database, faq, {
            n: Instance(n, "worker" if n in WORKERS else "web", free_port(), work / n)
            for n in (WEB_A, WEB_B, WEB_C, WORKER, STANDBY)})
        first = [n for n in cluster.instances if n != WEB_C]
        try:
            for n in first:
                cluster.start(n)
            for n in first:
                cluster.wait_ready(n)
            log(started, f"4 instances ready; database {name}, work dir {work}")
            print("=" * 100)
            phase_forged(cluster, v)

            balancer = Balancer(cluster, (WEB_A, WEB_B))
            before = metrics(cluster.instances[WEB_B])
            killed: dict[str, float] = {}
            log(started, f"{args.users} users asking at {args.rate:g}/s, web-a SIGKILLed half-way")
            asked = ask_many(cluster, balancer, [CHAT_USERS + i for i in range(args.users)],
                             questions, args.rate, DUPLICATE_SHARE, rng,
                             at_half=lambda: killed.setdefault(WEB_A, cluster.kill(WEB_A)))
            wait_answered(double, asked, 20)
            log(started, "chat phase over")
            judge_chat(cluster, asked, killed[WEB_A], v)
            after = metrics(cluster.instances[WEB_B])

            def delta(sample: str) -> float:
                return after.get(sample, 0.0) - before.get(sample, 0.0)
            replies = replies_by_chat(double.calls, {a.user for a in asked})
            by_b = sum(1 for a in asked for c in replies[a.user] if c.client == WEB_B)
            accepted_b = sum(1 for a in asked for to, s, _ in a.posts if to == WEB_B and s == 200)
            messages, dups = (delta('careerbot_updates_total{kind="message"}'),
                              delta('careerbot_updates_total{kind="duplicate"}'))
            v.check("4 updates metric", messages == by_b and dups == accepted_b - by_b,
                    f"web-b (alive): kind=message +{messages:g} vs {by_b} it answered; "
                    f"kind=duplicate +{dups:g} vs {accepted_b - by_b} copies it accepted and did "
                    f"not answer ({accepted_b} accepted); web-a's counters died with it")

            mark = len(double.calls)
            cluster.start(WEB_A)
            cluster.start(WEB_C)
            cluster.wait_ready(WEB_A, since=mark)
            cluster.wait_ready(WEB_C, since=mark)
            balancer = Balancer(cluster, (WEB_A, WEB_B, WEB_C))
            log(started, "web-a started again, web-c joined")
            phase_broadcast(cluster, balancer, questions, args.subscribers, args.busy_rate,
                            started, v)
            live = [i for i in cluster.instances.values() if i.alive]
            statuses = {i.name: http_get(i.url + "/readyz")[0] for i in live}
            v.check("4 readyz", all(s == 200 for s in statuses.values()), str(statuses))
            phase_reload(cluster, started, v)
            v.check("Bot API spec", not double.violations,
                    f"{len(double.violations)} violations"
                    + (f"; first: {double.violations[0]}" if double.violations else ""))
        finally:
            exit_codes = cluster.stop_all()
    for instance in cluster.instances.values():
        logs = (instance.workdir / "bot.log").read_text()
        if "Traceback" in logs:
            v.say("traceback", f"in {instance.name}'s log ({instance.workdir / 'bot.log'})")
    v.check("clean stop", all(c == 0 for c in exit_codes.values()), f"SIGTERM exit codes {exit_codes}")
    log(started, "done")
    print("=" * 100)
    print("\n".join(v.lines))
    print(f"verdict: {'FAILED: ' + ', '.join(v.failed) if v.failed else 'OK: every criterion holds'}")
    if args.keep:
        print(f"kept: database {name}, work dir {work}")
    else:
        asyncio.run(databases.drop_database(name))
        shutil.rmtree(work, ignore_errors=True)
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())
