"""The acceptance probe of issue #9, "Broadcasts an organiser can trust": one broadcast to N
subscribers through the real bot, under Telegram's pace, with faults, a SIGKILL and a restart,
judged from what the Bot API double recorded and what the bot wrote in its database.

Run from the project root:

    .venv/bin/python bench/bench_broadcast.py [--subscribers N] [--no-faults] [--kill-at F]

What it does:

1. starts the Bot API test double (tests/botapi) with ``rate_limit(30)``: a token bucket over all
   sends that answers 429 beyond 30 messages/s, like Telegram;
2. creates N subscribers (default 1,500, topic "all") in a fresh data dir and makes their chats
   known to the double;
3. with ``--faults`` (the default; ``--no-faults`` turns them off), plans seeded faults in the
   double, chosen per chat or per request so the probe knows who got what: a 403 "bot was
   blocked by the user" to 1 recipient in 20 (every send to that chat), a 502 to 1 send in 100
   (the n-th send to a chat, so a retry may pass), and two flood waits (every send answered 429
   for 2 s, retry_after counting down) after 25% and 70% of the sends;
4. starts ``careerbot run`` (a subprocess, real HTTP to the double) and queues a broadcast with
   ``careerbot broadcast --text ...``; a candidate asks a question every ~2 s meanwhile;
5. with ``--kill-at F`` (default 0.4; 0 turns it off) SIGKILLs the bot once a fraction F of the
   subscribers have an outcome, and starts it again at once;
6. waits until the broadcast is finished, stops the bot, and prints the figures and the verdict
   of each acceptance criterion (see ``CRITERIA``).

The fault model: an error answer delivers nothing (the double changes no chat when it answers a
502, a 403 or a 429), so a copy is a sendMessage the double answered 200.

Two kinds of time are not the engine's to use, and are left out of the rate and the candidates'
latency (and shown apart): the kill/restart downtime (from the SIGKILL to the first broadcast
send of the new process) and the flood waits the double imposed (each 429 it chose to give,
for its retry_after). A 429 the engine earned by sending too fast is not left out.

Exit status: 0 when every criterion holds, 1 when one fails, 2 when the probe itself could not
run or its own bookkeeping disagrees with the double's (then the figures are not to be trusted).
``--keep`` keeps the data dir (database and bot.log) for inspection.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
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
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from careerbot.evaluation import load_cases  # noqa: E402
from careerbot.storage.database import default_url  # noqa: E402
from tests.botapi.server import BotApiDouble, Call, chosen  # noqa: E402
from tests.telegram_harness import CAREERBOT, bot_environment, start_bot, stop_bot, subscribe_all  # noqa: E402

LIMIT = 30.0  # Telegram's overall pace, messages per second (the double's rate_limit)
ADMIN = 42
FIRST_SUBSCRIBER = 10_000_000
CANDIDATES = [900_000_001 + i for i in range(4)]  # each asks every 8 s: far under its throttle
ASK_EVERY = 2.0  # seconds between two questions (all candidates together)
REPLY_TIMEOUT = 60.0
SEED = 2024
BLOCKED_SHARE = 0.05  # recipients who blocked the bot: every send to them gets 403
BAD_GATEWAY_SHARE = 0.01  # sends answered 502
FLOODS = (0.25, 0.70)  # a flood wait after this share of the sends...
FLOOD_SECONDS = 2  # ...lasting this long
MIN_RATE_SHARE = 0.97  # of the configured rate, over the middle 80% of the outcomes
MAX_P99 = 1.0  # seconds, candidates' replies during the broadcast
IN_FLIGHT = 0.05  # a request this soon after a 429 may have left before the 429 was read
FINAL_BROADCAST_STATES = ("done", "stopped", "cancelled")
# States that tell the organiser a recipient has no copy (or may have none: unknown).
SAYS_NO_COPY = frozenset({"blocked", "gone", "failed", "unknown"})


# --- setup ----------------------------------------------------------------------------------------

def bot_env(data: Path, rate: float) -> dict[str, str]:
    """Settings beside the double's: the data directory, an organiser, the broadcast rate."""
    return {"CAREERBOT_DATA_DIR": str(data), "CAREERBOT_ADMIN_IDS": str(ADMIN),
            "CAREERBOT_BROADCAST_RATE": f"{rate:g}"}


@dataclass(frozen=True)
class FaultPlan:
    """The faults planned in the double, and who they hit (known before the run)."""

    enabled: bool
    seed: int
    blocked: frozenset[int]  # chats whose every send gets 403
    flood_at: tuple[int, ...]  # the n-th send (from queueing) that starts a flood wait

    def install(self, double: BotApiDouble, chats: list[int]) -> None:
        """Plan the faults in the double, just before the broadcast is queued."""
        if not self.enabled:
            return
        double.fail_fraction("sendMessage", 403, BLOCKED_SHARE, seed=self.seed, per="chat",
                             chats=chats)
        double.fail_fraction("sendMessage", 502, BAD_GATEWAY_SHARE, seed=self.seed + 1,
                             per="request", chats=chats)
        for at in self.flood_at:
            double.flood_wait(at, FLOOD_SECONDS)


def plan_faults(enabled: bool, seed: int, chats: list[int]) -> FaultPlan:
    """Who will be blocked and when the floods come, as the double will decide it."""
    if not enabled:
        return FaultPlan(False, seed, frozenset(), ())
    blocked = frozenset(chat for chat in chats if chosen(seed, BLOCKED_SHARE, chat))
    return FaultPlan(True, seed, blocked, tuple(max(1, int(share * len(chats))) for share in FLOODS))


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

    def answers(self) -> list[tuple[Question, Call | None]]:
        """Each question with its reply (None: no reply within REPLY_TIMEOUT)."""
        found: list[tuple[Question, Call | None]] = []
        for question in self.asked:
            try:
                found.append((question, question.reply.result()))
            except AssertionError:
                found.append((question, None))
        self.pool.shutdown()
        return found


# --- reading the bot's database ---------------------------------------------------------------------

def _query(data: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "careerbot.db", timeout=5) as connection:
        return list(connection.execute(sql, args))


def broadcast_state(data: Path) -> tuple[int, str] | None:
    """The id and state of the latest broadcast."""
    try:
        rows = _query(data, "select id, state from broadcasts order by id desc limit 1")
    except sqlite3.Error:
        return None
    return (int(str(rows[0][0])), str(rows[0][1])) if rows else None


def delivery_states(data: Path, broadcast_id: int) -> dict[int, str]:
    """chat -> state of each delivery of the broadcast."""
    return {int(str(chat)): str(state) for chat, state in _query(
        data, "select chat_id, state from deliveries where broadcast_id = ?", broadcast_id)}


# --- running ----------------------------------------------------------------------------------------

def copies_of(calls: Iterable[Call], marker: str) -> list[Call]:
    """The broadcast's sendMessage requests (the text carries a unique marker)."""
    return [c for c in calls if c.method == "sendMessage" and marker in str(c.params.get("text", ""))]


def is_outcome(call: Call) -> bool:
    """An answer that settles a recipient: delivered (200) or refused by the chat (403)."""
    return call.status in (200, 403)


@dataclass
class Run:
    """The bot process(es) and the moments the probe acted."""

    double: BotApiDouble
    data: Path
    env: dict[str, str]
    bot: subprocess.Popen[str]
    queued: float = 0.0
    killed_at: float | None = None  # the SIGKILL
    restarted_at: float | None = None  # the new process polls again
    finished_at: float | None = None  # the probe saw the broadcast in a final state
    state: str | None = None
    broadcast_id: int | None = None
    restart_seconds: float = 0.0

    def kill_and_restart(self) -> None:
        """SIGKILL the bot (no chance to record anything) and start it again."""
        self.killed_at = time.monotonic()
        self.bot.send_signal(signal.SIGKILL)
        self.bot.wait()
        self.bot = start_bot(self.double, ROOT / "faq", self.data, self.env).process
        self.restarted_at = time.monotonic()
        self.restart_seconds = self.restarted_at - self.killed_at

    def wait(self, marker: str, total: int, kill_at: float | None, deadline: float) -> bool:
        """Until the broadcast is in a final state (True), or stalled or late (False)."""
        scanned, settled, last_activity = 0, set[int](), time.monotonic()
        next_report = self.queued + 10
        while True:
            time.sleep(0.25)
            calls = self.double.calls
            for call in copies_of(calls[scanned:], marker):
                last_activity = max(last_activity, call.at)
                if is_outcome(call):
                    settled.add(int(call.params["chat_id"]))
            while scanned < len(calls) and calls[scanned].status is not None:
                scanned += 1  # unanswered calls are read again next time
            found = broadcast_state(self.data)
            if found is not None:
                self.broadcast_id, self.state = found
            now = time.monotonic()
            if kill_at and self.killed_at is None and len(settled) >= kill_at * total:
                print(f"  {now - self.queued:6.1f} s  {len(settled)}/{total} settled: SIGKILL, "
                      "restart", flush=True)
                self.kill_and_restart()
                print(f"  {time.monotonic() - self.queued:6.1f} s  bot polling again after "
                      f"{self.restart_seconds:.1f} s", flush=True)
                last_activity = time.monotonic()
            if now >= next_report:
                print(f"  {now - self.queued:6.1f} s  {len(settled):>6}/{total} settled  "
                      f"broadcast {self.state}", flush=True)
                next_report += 10
            if self.state in FINAL_BROADCAST_STATES:
                self.finished_at = now
                time.sleep(2)  # a last report edit may follow the final state
                return True
            if now - last_activity > 60 or now > deadline:
                return False


# --- judging ----------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def union_length(intervals: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] covered by the intervals."""
    covered, reach = 0.0, start
    for lo, hi in sorted((max(a, start), min(b, end)) for a, b in intervals):
        if hi <= max(lo, reach):  # outside [start, end], or already counted
            continue
        covered += hi - max(lo, reach)
        reach = hi
    return covered


def overlaps(a: tuple[float, float], intervals: Iterable[tuple[float, float]]) -> bool:
    """Whether interval a meets any of the intervals."""
    return any(a[0] < hi and lo < a[1] for lo, hi in intervals)


@dataclass
class Verdict:
    """The report being written: lines, criteria that failed, and the probe's own doubts."""

    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)

    def say(self, label: str, text: str) -> None:
        self.lines.append(f"{label:<17}: {text}")

    def check(self, label: str, ok: bool | None, text: str) -> None:
        """A criterion: PASS, FAIL, or n/a (None: cannot be checked here)."""
        mark = "n/a " if ok is None else "PASS" if ok else "FAIL"
        self.lines.append(f"[{mark}] {label:<11}: {text}")
        if ok is False:
            self.failed.append(label)

    def doubt(self, text: str) -> None:
        self.doubts.append(text)


def judge(run: Run, plan: FaultPlan, marker: str, chats: list[int], rate: float,
          answers: list[tuple[Question, Call | None]], baseline: list[float],
          setup: dict[str, float], finished: bool) -> Verdict:
    """Every figure and criterion, from the double's records and the bot's database."""
    double, v = run.double, Verdict()
    calls = double.calls
    subscribers = set(chats)
    copies = copies_of(calls, marker)
    delivered = Counter(int(c.params["chat_id"]) for c in copies if c.ok)
    requested = Counter(int(c.params["chat_id"]) for c in copies)
    answered_403 = {int(c.params["chat_id"]) for c in copies if c.status == 403}
    states = delivery_states(run.data, run.broadcast_id) if run.broadcast_id is not None else {}

    # The windows that are not the engine's to use.
    flood_windows = [(c.answered_at, c.answered_at + c.retry_after) for c in calls
                     if c.fault == "flood_wait" and c.answered_at is not None
                     and c.retry_after is not None]
    restart_sends = [c.at for c in copies if run.restarted_at is not None and c.at >= run.restarted_at]
    downtime: list[tuple[float, float]] = []
    if run.killed_at is not None:
        downtime = [(run.killed_at, restart_sends[0] if restart_sends else time.monotonic())]
    excluded = downtime + flood_windows

    v.lines += ["", "=" * 78,
                f"BROADCAST ACCEPTANCE PROBE (issue #9): {len(chats)} subscribers, double "
                f"rate_limit({LIMIT:.0f}/s), engine rate {rate:g}/s",
                "=" * 78]
    v.say("setup", f"subscribers in DB {setup['db']:.2f} s, registered with double "
                   f"{setup['double']:.2f} s, bot start {setup['bot']:.2f} s, queue (CLI) "
                   f"{setup['cli']:.2f} s")
    if plan.enabled:
        v.say("faults", f"seed {plan.seed}: 403 for {len(plan.blocked)} chats "
                        f"({BLOCKED_SHARE:.0%}, every send), 502 for {BAD_GATEWAY_SHARE:.0%} of "
                        f"sends, {len(plan.flood_at)} flood waits of {FLOOD_SECONDS} s at sends "
                        f"{', '.join(map(str, plan.flood_at))}")
        v.say("fault model", "an error answer delivers nothing: a 502 (or 403, 429) left no copy; "
                             "a copy = a sendMessage answered 200")
    else:
        v.say("faults", "none injected (--no-faults); only the double's rate limit")
    if run.killed_at is not None:
        first_after = restart_sends[0] - run.killed_at if restart_sends else float("nan")
        v.say("kill/restart", f"SIGKILL at {run.killed_at - run.queued:.1f} s; polling again "
                              f"after {run.restart_seconds:.1f} s; first broadcast send "
                              f"{first_after:.1f} s after the kill (the downtime)")
    else:
        v.say("kill/restart", "none (--kill-at 0)")

    settled_at: dict[int, float] = {}  # chat -> when its first outcome was answered
    for call in copies:
        if is_outcome(call) and call.answered_at is not None:
            chat = int(call.params["chat_id"])
            settled_at[chat] = min(settled_at.get(chat, call.answered_at), call.answered_at)
    outcomes = sorted(settled_at.values())
    end = outcomes[-1] if outcomes else run.queued
    v.say("total time", f"{end - run.queued:.1f} s from queueing to the last outcome; broadcast "
                        f"{run.state or '?'}" + (f" {run.finished_at - run.queued:.1f} s after "
                                                 "queueing (seen by the probe)"
                                                 if run.finished_at else " (NOT FINISHED)"))
    if len(outcomes) > 1:
        overall = len(outcomes) / (end - run.queued)
        sending = (len(outcomes) - 1) / (outcomes[-1] - outcomes[0])
        v.say("overall rate", f"{overall:.2f} outcomes/s from queueing ({overall / rate:.1%} of "
                              f"{rate:g}/s); {sending:.2f}/s first->last outcome, every pause "
                              "included")
    status_counts = Counter(c.status for c in copies)
    v.say("copy requests", f"{len(copies)} sendMessage of the broadcast: "
                           + ", ".join(f"{s}: {n}" for s, n in sorted(status_counts.items(),
                                                                     key=lambda i: i[0] or 0)))
    v.say("copies", f"{sum(delivered.values())} delivered to {len(delivered)} chats")
    missing = [chat for chat in chats if not delivered[chat]]
    v.say("missing", f"{len(missing)} subscribers without a copy: "
                     f"{sum(1 for chat in missing if chat in plan.blocked)} planned 403s; recorded "
                     + (", ".join(f"{s} {n}" for s, n in Counter(
                         states.get(chat, "no row") for chat in missing).most_common()) or "-"))
    db_counts = Counter(states.values())
    v.say("DB deliveries", f"broadcast #{run.broadcast_id}: "
                           + (", ".join(f"{s} {n}" for s, n in db_counts.most_common()) or "none")
                           + f" (total {len(states)})")
    if plan.enabled:
        v.say("  expected", f"blocked {len(plan.blocked)} (the chats given 403; fewer if some "
                            f"ended unknown), sent {len(chats) - len(plan.blocked)} minus unknowns")
    too_many = [c for c in calls if c.status == 429]
    v.say("429 answers", f"{len(too_many)}" + (": " if too_many else "") + ", ".join(
        f"{fault or 'other'} {n}" for fault, n in Counter(c.fault for c in too_many).most_common())
        + f"; to broadcast sends {sum(1 for c in copies if c.status == 429)}")

    # 1. duplicates
    duplicated = {chat: n for chat, n in delivered.items() if n > 1}
    v.check("duplicates", not duplicated,
            f"{len(duplicated)} chats got 2+ copies (copies = answered 200)"
            + (f"  e.g. {dict(list(duplicated.items())[:5])}" if duplicated else ""))
    # 2. unknown without a request
    unknown = [chat for chat, state in states.items() if state == "unknown"]
    unsent_unknown = [chat for chat in unknown if not requested[chat]]
    v.check("unknown", not unsent_unknown,
            f"{len(unsent_unknown)} of {len(unknown)} recipients reported unknown were never sent "
            "a request (must be 0; an unknown one may have 0 or 1 copy)"
            + (f"  e.g. {sorted(unsent_unknown)[:5]}" if unsent_unknown else ""))
    # 3. silent losses
    lost = {chat: states.get(chat, "no row") for chat in chats
            if not delivered[chat] and states.get(chat) not in SAYS_NO_COPY}
    v.check("losses", not lost,
            f"{len(lost)} chats have no copy and a state that hides it: "
            + (", ".join(f"{s} {n}" for s, n in Counter(lost.values()).most_common()) or "none"))
    false_blocked = [chat for chat, state in states.items()
                     if state == "blocked" and chat not in answered_403]
    delivered_not_sent = [chat for chat in delivered if states.get(chat) not in ("sent", "unknown")]
    if false_blocked or delivered_not_sent:
        v.say("  states", f"{len(false_blocked)} recorded blocked without a 403; "
                          f"{len(delivered_not_sent)} delivered but recorded "
                          + str(dict(Counter(states.get(c, "no row") for c in delivered_not_sent))))
    # 4. requests inside a retry_after window
    pairs = double.requests_in_retry_windows()
    offenders = {call.index: (told, call) for told, call in pairs}
    in_flight = sum(1 for told, call in offenders.values()
                    if told.answered_at is not None and call.at - told.answered_at < IN_FLIGHT)
    v.check("retry_after", not offenders,
            f"{len(offenders)} requests reached the double inside a retry_after window it gave"
            + (f": {dict(Counter(call.method for _, call in offenders.values()))}, "
               f"{in_flight} within {IN_FLIGHT * 1000:.0f} ms of the 429 (maybe in flight)"
               if offenders else ""))
    # 5. sustained rate
    n = len(outcomes)
    if n >= 10:
        lo, hi = int(0.1 * n), int(0.9 * n) - 1
        span = outcomes[hi] - outcomes[lo]
        gone = union_length(excluded, outcomes[lo], outcomes[hi])
        down = union_length(downtime, outcomes[lo], outcomes[hi])
        sustained = (hi - lo) / (span - gone) if span > gone else float("nan")
        raw = (hi - lo) / span if span > 0 else float("nan")
        v.check("rate", sustained >= MIN_RATE_SHARE * rate,
                f"{sustained:.2f} outcomes/s over the middle 80% = {sustained / rate:.1%} of "
                f"{rate:g}/s (needs {MIN_RATE_SHARE:.0%}); {span:.1f} s less {gone:.1f} s left "
                f"out (downtime {down:.1f} s, flood waits {gone - down:.1f} s); "
                f"{raw:.2f}/s counting them")
        for name, lo_t, hi_t in _segments(run, outcomes):
            inside = [t for t in outcomes if lo_t <= t <= hi_t]
            if len(inside) > 1:
                seconds = inside[-1] - inside[0] - union_length(flood_windows, inside[0], inside[-1])
                v.say(f"  {name}", f"{len(inside)} outcomes, {(len(inside) - 1) / seconds:.2f}/s "
                                   "first to last (flood waits left out)")
    else:
        v.check("rate", False, f"only {n} outcomes: no rate to measure")
    # 6. candidates' latency
    measured = [(q, reply) for q, reply in answers
                if not overlaps((q.pushed, reply.at if reply else q.pushed + REPLY_TIMEOUT), excluded)]
    left_out = len(answers) - len(measured)
    latencies = [(reply.at - q.pushed) * 1000 for q, reply in measured if reply is not None]
    unanswered = sum(1 for _, reply in measured if reply is None)
    if latencies:
        p99 = percentile(latencies, 99)
        v.check("latency", p99 < MAX_P99 * 1000 and not unanswered,
                f"candidates n={len(latencies)}: p50 {percentile(latencies, 50):.0f} ms, p99 "
                f"{p99:.0f} ms, max {max(latencies):.0f} ms (p99 < {MAX_P99 * 1000:.0f} ms)"
                + (f"; {unanswered} got NO reply within {REPLY_TIMEOUT:.0f} s" if unanswered else "")
                + (f"; {left_out} asked during downtime/flood waits left out" if left_out else ""))
    else:
        v.check("latency", False, f"no candidate reply measured ({unanswered} unanswered)")
    if baseline:
        ms = [x * 1000 for x in baseline]
        v.say("  idle baseline", f"n={len(ms)}, p50 {percentile(ms, 50):.0f} ms, max {max(ms):.0f} ms, "
                                 "before the broadcast")
    # 7. the organiser's live report
    report = [c for c in calls if c.ok and c.at >= run.queued and c.params.get("chat_id") == ADMIN
              and c.method in ("sendMessage", "editMessageText")]
    if report:
        last = str(report[-1].params.get("text", ""))
        v.check("report", "terminée" in last,
                f"last of {len(report)} report messages/edits to the organiser: {last[:90]!r}")
    else:
        v.check("report", None, "no report message: a broadcast queued by the CLI has none "
                                "(its target moves to the database in another change)")
    # 8. the broadcast finished, and nothing broke the Bot API
    v.check("finished", finished and run.state == "done",
            f"broadcast state {run.state}" + ("" if finished else " (NOT FINISHED: stalled or timed out)"))
    v.check("API", not double.violations, f"{len(double.violations)} violations"
            + (f"  first: {double.violations[0]}" if double.violations else ""))

    _self_check(v, plan, copies, delivered, subscribers, double)
    return v


def _segments(run: Run, outcomes: list[float]) -> list[tuple[str, float, float]]:
    if run.killed_at is None or not outcomes:
        return []
    return [("before kill", outcomes[0], run.killed_at), ("after restart", run.killed_at, outcomes[-1])]


def _self_check(v: Verdict, plan: FaultPlan, copies: list[Call], delivered: Counter[int],
                subscribers: set[int], double: BotApiDouble) -> None:
    """Does the probe's reading agree with the double's own state and with the fault plan?"""
    for call in copies:
        chat = int(call.params["chat_id"])
        if chat not in subscribers:
            v.doubt(f"a copy went to {chat}, not a subscriber")
        if call.status == 403 and chat not in plan.blocked:
            v.doubt(f"chat {chat} got a 403 the plan did not foresee")
        if call.status == 200 and chat in plan.blocked:
            v.doubt(f"chat {chat} was to be blocked, yet got a copy")
        if call.status not in (200, 403, 429, 502, None):
            v.doubt(f"unexpected answer {call.status} to a copy: {call.result}")
        if call.status == 502 and call.fault != "fail_fraction":
            v.doubt(f"a 502 the double did not inject: {call.result}")
    marker_chats = {chat for chat in subscribers if delivered[chat]}
    for chat in marker_chats:
        shown = len(double.messages_to(chat))
        if shown != delivered[chat]:
            v.doubt(f"chat {chat}: {delivered[chat]} copies answered 200, the double shows {shown}")
            break


def dump(calls: list[Call], run: Run, path: Path) -> None:
    """The double's records, times in seconds from queueing, and the probe's moments."""
    def since(t: float | None) -> float | None:
        return None if t is None else round(t - run.queued, 4)

    with path.open("w") as out:
        out.write(json.dumps({"killed_at": since(run.killed_at),
                              "restarted_at": since(run.restarted_at)}) + "\n")
        for c in calls:
            out.write(json.dumps({"i": c.index, "method": c.method, "chat": c.params.get("chat_id"),
                                  "at": since(c.at), "answered_at": since(c.answered_at),
                                  "status": c.status, "fault": c.fault,
                                  "retry_after": c.retry_after}) + "\n")


def print_verdict(v: Verdict) -> None:
    lines = list(v.lines)
    if v.doubts:
        lines.append(f"PROBE SELF-CHECK FAILED ({len(v.doubts)}): " + "; ".join(v.doubts[:5]))
    verdict = ("PROBE ERROR" if v.doubts else
               f"FAILED: {', '.join(v.failed)}" if v.failed else "OK: every criterion holds")
    lines += [f"verdict          : {verdict}", "=" * 78]
    print("\n".join(lines), flush=True)


# --- main -----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1500, help="how many (default 1500)")
    parser.add_argument("--faults", action=argparse.BooleanOptionalAction, default=True,
                        help="inject 403, 502 and flood waits (default: on)")
    parser.add_argument("--kill-at", type=float, default=0.4, metavar="F",
                        help="SIGKILL and restart the bot when this share is settled (0: never)")
    parser.add_argument("--rate", type=float,
                        default=float(os.environ.get("CAREERBOT_BROADCAST_RATE", "28")),
                        help="the engine's configured rate, passed to the bot as "
                             "CAREERBOT_BROADCAST_RATE (default: that variable, else 28)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the faults")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (DB, bot.log)")
    parser.add_argument("--dump", type=Path, metavar="FILE",
                        help="write the double's records (one JSON call a line) for inspection")
    args = parser.parse_args()
    if not 0 <= args.kill_at < 1:
        parser.error(f"--kill-at {args.kill_at}: must be in [0, 1)")
    total = args.subscribers
    chats = [FIRST_SUBSCRIBER + i for i in range(total)]
    plan = plan_faults(args.faults, args.seed, chats)
    questions = [case.q for case in load_cases(ROOT / "tests" / "eval" / "test.yaml")]
    random.Random(SEED).shuffle(questions)
    marker = f"Bench FP21 {uuid.uuid4().hex[:8]}"
    text = f"📣 {marker} : les inscriptions au forum sont ouvertes !"
    data = Path(tempfile.mkdtemp(prefix="careerbot-bench-"))
    env = bot_env(data, args.rate)
    setup: dict[str, float] = {}
    verdict: Verdict | None = None

    with BotApiDouble() as double:
        double.rate_limit(LIMIT)
        print(f"data dir {data}; double at {double.api_root}, rate_limit({LIMIT:.0f})", flush=True)
        started = time.monotonic()
        subscribe_all(default_url(data), chats)
        setup["db"] = time.monotonic() - started
        started = time.monotonic()
        for chat in chats:
            double.my_chat_member(chat, "member")
        setup["double"] = time.monotonic() - started
        print(f"{total} subscribers created ({setup['db']:.2f} s) and registered "
              f"({setup['double']:.2f} s)", flush=True)

        started = time.monotonic()
        run = Run(double, data, env, start_bot(double, ROOT / "faq", data, env).process)
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
            plan.install(double, chats)
            run.queued = time.monotonic()
            cli = subprocess.run([str(CAREERBOT), "broadcast", "--text", text],
                                 env=bot_environment(double, ROOT / "faq", env), cwd=data,
                                 capture_output=True, text=True, check=False)
            setup["cli"] = time.monotonic() - run.queued
            if cli.returncode != 0:
                print(f"careerbot broadcast failed:\n{cli.stdout}{cli.stderr}", file=sys.stderr)
                return 2
            candidate.start()
            print(f"queued: {cli.stdout.strip()}", flush=True)
            deadline = run.queued + total / args.rate * 2 + 120
            finished = run.wait(marker, total, args.kill_at or None, deadline)
            candidate.stop()
            answers = candidate.answers()
        finally:
            stop_bot(run.bot)
            if run.bot.returncode not in (0, -signal.SIGINT):
                print(f"bot exited with {run.bot.returncode}; see {data / 'bot.log'}", flush=True)
        verdict = judge(run, plan, marker, chats, args.rate, answers, baseline, setup, finished)
        if args.dump:
            dump(double.calls, run, args.dump)
        print_verdict(verdict)
    ok = not verdict.failed and not verdict.doubts
    if args.keep or not ok:
        print(f"data dir kept: {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)
    return 2 if verdict.doubts else 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
