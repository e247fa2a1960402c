"""The candidates' side of the bot, for any channel: questions answered, flood control, ratings,
and questions handed to the organisers.

It knows no Telegram type: a channel passes user ids and texts, and renders the `Reply` it gets.
With a database, what spans two messages is stored there (the unanswered question a user may
send on, the ratings), so that any instance can take the next message; without one, this
process's memory holds it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import InitVar, dataclass, field

from careerbot import announcements as ui
from careerbot.conversation import Conversation, Lang, Reply
from careerbot.privacy import user_tag
from careerbot.stats import Tally
from careerbot.storage import feedback
from careerbot.storage.flood import SharedThrottle
from careerbot.storage.outbox import Sessions
from careerbot.throttle import Throttle

MAX_QUESTION = 1000  # characters matched; beyond that a message is rambling, not more precise
MAX_PENDING = 10_000  # users whose last unanswered question is kept in memory (no database)


@dataclass
class Assistant:
    """Answers candidates; `conversation` is swapped in one assignment when the FAQ reloads."""

    conversation: Conversation
    db: Sessions | None = None
    tag_key: str = ""  # secret that keys the users' one-way tags (the bot token)
    throttle: Throttle = field(default_factory=Throttle)
    shared_throttle: SharedThrottle | None = None  # on PostgreSQL: instances count together
    # Questions a user may send to the organisers: 3 a day (a bucket refilled over 24 hours).
    handoffs: Throttle = field(default_factory=lambda: Throttle(burst=3, rate=3 / 86_400))
    pending: OrderedDict[int, str] = field(default_factory=OrderedDict)  # without a database
    # Messages per day and outcome, counted in memory and flushed every 15 s by the channel
    # (storage.stats.flush_forever): one increment per message, no write per message.
    tally: Tally = field(default_factory=Tally)
    kept: feedback.UnansweredLog | None = field(init=False, default=None)  # with a database
    write_after: InitVar[float] = feedback.WRITE_AFTER

    def __post_init__(self, write_after: float) -> None:
        if self.db is not None:
            self.kept = feedback.UnansweredLog(self.db, write_after)

    def tag(self, user: int) -> str:
        """The one-way tag that links a user's recent questions and ratings to them."""
        return user_tag(user, self.tag_key)

    async def allowed(self, user: int) -> str:
        """Flood control: 'ok' to serve a message, 'warn' to say "slow down" once, 'drop'."""
        if self.shared_throttle is not None:
            return await self.shared_throttle.check(self.tag(user))
        return self.throttle.check(user)

    async def answer(self, user: int, text: str, lang: Lang) -> Reply:
        """The reply to a question. An unanswered one is kept (without identity) for the
        maintainers and for "send it to the team"; an answer asks whether it helped.
        """
        question = text[:MAX_QUESTION]
        reply = self.conversation.ask(question, lang)
        status = reply.match.status if reply.match else "empty"
        if self.db is not None:
            self.tally.add(status, reply.match.entry_id if reply.match and status == "answer"
                           else None)
        if status in ("fallback", "suggest"):
            self._keep_unanswered(user, question, status)
        elif status == "answer" and self.db is not None and reply.match and reply.match.entry_id:
            reply = ui.with_feedback(reply, reply.match.entry_id, lang)
        return reply

    async def rate(self, user: int, entry_id: str, helpful: bool, message_id: int) -> None:
        """A "did this help?" tap: the user's last tap on a message wins."""
        if self.db is not None:
            await feedback.record_feedback(self.db, entry_id, helpful, self.tag(user), message_id)

    async def question_for_team(self, user: int) -> tuple[str, str | None]:
        """The user's last unanswered question, to forward to the organisers, taken once:
        ("sent", text), ("nothing", None) or ("capped", None) after 3 in a day.
        """
        if self.db is not None:
            if self.kept is not None:
                await self.kept.flush()  # the question may still be waiting to be written
            return await feedback.hand_to_team(self.db, self.tag(user))
        question = self.pending.pop(user, None)
        if not question:
            return "nothing", None
        if self.handoffs.check(user) != "ok":
            return "capped", None
        return "sent", question

    async def forget_waiting(self, user: int) -> None:
        """Before /oublier erases a user's stored questions: drop those not written yet."""
        self.pending.pop(user, None)
        if self.kept is not None:
            await self.kept.forget(self.tag(user))

    async def close(self) -> None:
        """At a clean stop: write the questions still waiting."""
        if self.kept is not None:
            await self.kept.close()

    def _keep_unanswered(self, user: int, question: str, status: str) -> None:
        if self.kept is not None:  # written behind the reply (see feedback.UnansweredLog)
            self.kept.add(question, status, self.tag(user))
            return
        self.pending[user] = question
        self.pending.move_to_end(user)
        while len(self.pending) > MAX_PENDING:
            self.pending.popitem(last=False)
