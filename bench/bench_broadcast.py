"""Benchmark one broadcast to N subscribers through the real bot, at Telegram's ~30 messages/s.

Run from the project root:

    .venv/bin/python bench/bench_broadcast.py [--subscribers N]   (default: 10000)

What it does:

1. starts the Bot API test double (tests/botapi) with ``rate_limit(30)``: a token bucket over all
   sends that answers 429 beyond 30 messages/s, like Telegram;
2. creates N subscribers (topic "all") in a fresh data dir, in one transaction after the
   migrations, and makes their chats known to the double (``my_chat_member(chat, "member")``);
3. starts ``careerbot run`` (a subprocess, real HTTP to the double) and queues a broadcast to
   everyone with ``careerbot broadcast --text ...`` (the running bot picks it up within a second);
4. while it is sent, a candidate asks a question (from tests/eval/test.yaml) every ~2 s, rotating
   among a few candidate chats so the per-user flood throttle is never what is measured, and the
   reply latency is recorded (question pushed -> the bot's sendMessage reaching the double);
5. prints a summary: total time, sustained send rate (middle 80% of the copies) and overall rate
   against the 30/s limit, 429 answers, duplicates (must be 0), missing copies, delivery states in
   the database, and the candidates' reply latency (n, p50, p99, max).

Exit status: 0 when every subscriber got exactly one copy and the double saw no Bot API
violation, 1 otherwise. ``--keep`` keeps the data dir (database and bot.log) for inspection.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from careerbot.evaluation import load_cases  # noqa: E402
from careerbot.storage.database import default_url, migrate, open_engine  # noqa: E402
from careerbot.storage.models import Subscriber, Subscription  # noqa: E402
from tests.botapi.server import BotApiDouble, Call  # noqa: E402
from tests.telegram_harness import CAREERBOT, bot_environment, start_bot, stop_bot  # noqa: E402

LIMIT = 30.0  # Telegram's overall pace, messages per second
ADMIN = 42
FIRST_SUBSCRIBER = 10_000_000
CANDIDATES = [900_000_001 + i for i in range(4)]  # each asks every 8 s: far under its throttle
ASK_EVERY = 2.0  # seconds between two questions (all candidates together)
REPLY_TIMEOUT = 60.0
SEED = 2024


# --- setup ----------------------------------------------------------------------------------------

async def _create_subscribers(data: Path, chats: list[int]) -> None:
    engine = open_engine(default_url(data))
    try:
        await migrate(engine)
        now = datetime.now(UTC)
        async with engine.begin() as connection:  # one transaction for all of them
            await connection.execute(insert(Subscriber), [
                {"chat_id": chat, "language": "fr", "created_at": now} for chat in chats])
            await connection.execute(insert(Subscription), [
                {"chat_id": chat, "topic": "all"} for chat in chats])
    finally:
        await engine.dispose()


def bot_env(data: Path) -> dict[str, str]:
    """Settings beside the double's: the data directory and an organiser."""
    return {"CAREERBOT_DATA_DIR": str(data), "CAREERBOT_ADMIN_IDS": "42"}


# --- the candidate --------------------------------------------------------------------------------

@dataclass
class Question:
    chat: int
    text: str
    pushed: float
    reply: Future[Call]


class Candidate(threading.Thread):
    """Asks a question every ASK_EVERY seconds until stopped; each reply is awaited in a pool."""

    def __init__(self, double: BotApiDouble, questions: list[str]) -> None:
        super().__init__(name="candidate", daemon=True)
        self.double = double
        self.questions = itertools.cycle(questions)
        self.chats = itertools.cycle(CANDIDATES)
        self.asked: list[Question] = []
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="reply")
        self.halt = threading.Event()

    def ask(self) -> Question:
        chat, text = next(self.chats), next(self.questions)
        pushed = time.monotonic()
        update_id = self.double.send_text(chat, text)
        reply = self.pool.submit(self.double.wait_reply, chat, update_id, REPLY_TIMEOUT)
        return Question(chat, text, pushed, reply)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.halt.is_set():
            self.asked.append(self.ask())
            next_at += ASK_EVERY
            self.halt.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def latencies(self) -> tuple[list[float], int]:
        """Reply latencies in seconds, and how many questions got no reply in time."""
        found, lost = [], 0
        for question in self.asked:
            try:
                found.append(question.reply.result().at - question.pushed)
            except AssertionError:
                lost += 1
        self.pool.shutdown()
        return found, lost


# --- measuring ------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def broadcast_state(data: Path) -> str | None:
    """The state of the (only) broadcast, read from the bot's database."""
    try:
        with sqlite3.connect(data / "careerbot.db", timeout=5) as connection:
            row = connection.execute("select state from broadcasts order by id desc").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def delivery_states(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "careerbot.db", timeout=5) as connection:
        return {str(s): int(n) for s, n in connection.execute(
            "select state, count(*) from deliveries group by state")}


class Progress:
    """Follows the double's calls incrementally: which chats have their copy, and when."""

    def __init__(self, double: BotApiDouble, text: str) -> None:
        self.double = double
        self.text = text
        self.scanned = 0  # calls before this index are answered and counted
        self.delivered: set[int] = set()
        self.last_copy_at = 0.0

    def update(self) -> int:
        calls = self.double.calls
        while self.scanned < len(calls) and calls[self.scanned].status is not None:
            call = calls[self.scanned]
            if call.ok and call.method == "sendMessage" and call.params.get("text") == self.text:
                self.delivered.add(int(call.params["chat_id"]))
                self.last_copy_at = max(self.last_copy_at, call.at)
            self.scanned += 1
        return len(self.delivered)


def wait_for_broadcast(double: BotApiDouble, data: Path, text: str, total: int,
                       started: float) -> tuple[bool, str | None]:
    """Until every subscriber has its copy and the bot marked the broadcast done (or a timeout)."""
    progress = Progress(double, text)
    deadline = started + total / LIMIT * 2 + 120
    next_report = started + 30
    while True:
        time.sleep(0.5)
        count = progress.update()
        now = time.monotonic()
        state = broadcast_state(data)
        if now >= next_report:
            elapsed = now - started
            print(f"  {elapsed:6.0f} s  {count:>6}/{total} copies  ({count / elapsed:5.1f}/s)  "
                  f"broadcast {state}", flush=True)
            next_report += 30
        if count >= total and state in ("done", "stopped", "cancelled"):
            return True, state
        if count >= total and now - progress.last_copy_at > 15:
            return True, state  # all delivered, but the bot never marked it done
        if state in ("done", "stopped", "cancelled") and now - progress.last_copy_at > 5:
            return False, state  # finished without reaching everyone
        if now > deadline:
            return False, state


def report(double: BotApiDouble, data: Path, text: str, chats: list[int], queued: float,
           setup: dict[str, float], latencies: list[float], lost: int, baseline: list[float],
           finished: bool, state: str | None) -> bool:
    calls = double.calls
    copies = [c for c in calls if c.method == "sendMessage" and c.params.get("text") == text]
    sent = sorted((c for c in copies if c.ok), key=lambda c: c.at)
    per_chat = Counter(int(c.params["chat_id"]) for c in sent)
    subscribers = set(chats)
    duplicated = {chat: n for chat, n in per_chat.items() if n > 1}
    missing = [chat for chat in chats if chat not in per_chat]
    strays = [chat for chat in per_chat if chat not in subscribers]
    too_many = [c for c in calls if c.status == 429]
    broadcast_429 = sum(1 for c in copies if c.status == 429)
    other_failures = Counter(c.status for c in copies if c.status not in (200, 429))

    n = len(sent)
    times = [c.at for c in sent]
    lines = ["", "=" * 72, f"BROADCAST BENCHMARK: {len(chats)} subscribers, double rate_limit({LIMIT:.0f}/s)",
             "=" * 72]
    lines.append(f"setup            : subscribers in DB {setup['db']:.2f} s, registered with double "
                 f"{setup['double']:.2f} s, bot start {setup['bot']:.2f} s, "
                 f"queue (CLI) {setup['cli']:.2f} s")
    if n:
        total_time = times[-1] - queued
        lines.append(f"total time       : {total_time:.1f} s from queueing to the last copy "
                     f"(first copy after {times[0] - queued:.2f} s)")
        if n >= 10:
            lo, hi = int(0.1 * n), int(0.9 * n) - 1
            sustained = (hi - lo) / (times[hi] - times[lo]) if times[hi] > times[lo] else float("nan")
            lines.append(f"sustained rate   : {sustained:.2f} msg/s over the middle 80% of copies "
                         f"= {sustained / LIMIT:.1%} of the {LIMIT:.0f}/s limit")
        overall = n / total_time if total_time > 0 else float("nan")
        sending = (n - 1) / (times[-1] - times[0]) if n > 1 and times[-1] > times[0] else float("nan")
        lines.append(f"overall rate     : {overall:.2f} msg/s from queueing ({overall / LIMIT:.1%}); "
                     f"{sending:.2f} msg/s first->last copy ({sending / LIMIT:.1%})")
    else:
        lines.append("total time       : no copy was delivered")
    lines.append(f"copies delivered : {n} to {len(per_chat)} chats "
                 f"({len(copies)} broadcast sendMessage attempts)")
    lines.append(f"duplicates       : {len(duplicated)} chats with >1 copy"
                 + (f"  e.g. {dict(list(duplicated.items())[:5])}" if duplicated else ""))
    lines.append(f"missing          : {len(missing)} subscribers without a copy"
                 + (f"  e.g. {missing[:5]}" if missing else ""))
    if strays:
        lines.append(f"strays           : {len(strays)} copies to chats that are not subscribers")
    lines.append(f"429 answers      : {len(too_many)} in all ({broadcast_429} to broadcast sends, "
                 f"{len(too_many) - broadcast_429} to other sends)")
    if other_failures:
        lines.append(f"other failures   : {dict(other_failures)} (HTTP status -> broadcast sends)")
    lines.append(f"broadcast state  : {state}; deliveries in DB {delivery_states(data)}"
                 + ("" if finished else "  (NOT FINISHED before the timeout)"))
    if latencies:
        ms = [x * 1000 for x in latencies]
        lines.append(f"candidate replies: n={len(ms)} during the broadcast, p50 {percentile(ms, 50):.0f} ms, "
                     f"p99 {percentile(ms, 99):.0f} ms, max {max(ms):.0f} ms"
                     + (f"; {lost} got NO reply within {REPLY_TIMEOUT:.0f} s" if lost else ""))
    else:
        lines.append(f"candidate replies: none measured ({lost} unanswered)")
    if baseline:
        ms = [x * 1000 for x in baseline]
        lines.append(f"  (idle baseline : n={len(ms)}, p50 {percentile(ms, 50):.0f} ms, "
                     f"max {max(ms):.0f} ms, before the broadcast)")
    lines.append(f"API violations   : {len(double.violations)}"
                 + (f"  first: {double.violations[0]}" if double.violations else ""))
    ok = finished and not duplicated and not missing and not strays and not double.violations
    if n >= 10 and not sustained >= 0.9 * LIMIT:
        lines.append(f"NOTE: sustained rate is BELOW 90% of the {LIMIT:.0f}/s limit")
    lines.append(f"verdict          : {'OK' if ok else 'FAILED'} "
                 "(exactly one copy per subscriber, no violation)")
    lines.append("=" * 72)
    print("\n".join(lines), flush=True)
    return ok


# --- main -----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="how many (default 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (DB, bot.log)")
    args = parser.parse_args()
    total = args.subscribers
    chats = [FIRST_SUBSCRIBER + i for i in range(total)]
    questions = [case.q for case in load_cases(ROOT / "tests" / "eval" / "test.yaml")]
    random.Random(SEED).shuffle(questions)
    text = f"📣 Bench FP21 {uuid.uuid4().hex[:8]} : les inscriptions au forum sont ouvertes !"
    data = Path(tempfile.mkdtemp(prefix="careerbot-bench-"))
    setup: dict[str, float] = {}
    ok = False

    with BotApiDouble() as double:
        double.rate_limit(LIMIT)
        print(f"data dir {data}; double at {double.api_root}, rate_limit({LIMIT:.0f})", flush=True)
        started = time.monotonic()
        asyncio.run(_create_subscribers(data, chats))
        setup["db"] = time.monotonic() - started
        started = time.monotonic()
        for chat in chats:
            double.my_chat_member(chat, "member")
        setup["double"] = time.monotonic() - started
        print(f"{total} subscribers created ({setup['db']:.2f} s) and registered "
              f"({setup['double']:.2f} s)", flush=True)

        started = time.monotonic()
        bot = start_bot(double, ROOT / "faq", data, bot_env(data)).process
        setup["bot"] = time.monotonic() - started
        try:
            # Idle baseline, one question per candidate, one at a time (also warms the bot up).
            baseline = []
            for chat, question in zip(CANDIDATES, questions[-len(CANDIDATES):], strict=True):
                pushed = time.monotonic()
                reply = double.wait_reply(chat, double.send_text(chat, question), timeout=30)
                baseline.append(reply.at - pushed)
                time.sleep(ASK_EVERY)  # leaves each candidate's throttle bucket full

            candidate = Candidate(double, questions[:-len(CANDIDATES)])
            queued = time.monotonic()
            cli = subprocess.run([str(CAREERBOT), "broadcast", "--text", text],
                                 env=bot_environment(double, ROOT / "faq", bot_env(data)),
                                 cwd=data, capture_output=True,
                                 text=True, check=False)
            setup["cli"] = time.monotonic() - queued
            if cli.returncode != 0:
                raise SystemExit(f"careerbot broadcast failed:\n{cli.stdout}{cli.stderr}")
            candidate.start()
            print(f"queued: {cli.stdout.strip()}", flush=True)
            finished, state = wait_for_broadcast(double, data, text, total, queued)
            candidate.stop()
            latencies, lost = candidate.latencies()
            ok = report(double, data, text, chats, queued, setup, latencies, lost, baseline,
                        finished, state)
        finally:
            stop_bot(bot)
            if bot.returncode not in (0, -signal.SIGINT):
                print(f"bot exited with {bot.returncode}; see {data / 'bot.log'}", flush=True)
    if args.keep or not ok:
        print(f"data dir kept: {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
