"""Tables. Only what the features need: no names, no message texts tied to a user."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored in UTC, read back aware (SQLite keeps no zone; PostgreSQL does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of careerbot's tables."""


class Subscriber(Base):
    """A chat that asked for announcements, with the language of its UI."""

    __tablename__ = "subscribers"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), default="fr")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Subscription(Base):
    """One topic a subscriber follows ("all" for every announcement)."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("subscribers.chat_id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)


class SubscriberRegion(Base):
    """One region a subscriber follows (careerbot/regions.py); none at all means every region."""

    __tablename__ = "subscriber_regions"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("subscribers.chat_id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)


class Broadcast(Base):
    """An announcement (or an event reminder) and where its sending stands."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("uq_reminder_event", "event_id", unique=True,
                            sqlite_where=text("kind = 'reminder'"),
                            postgresql_where=text("kind = 'reminder'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # announce | reminder | old-reminder (its event moved) | cancellation (an event's notice)
    kind: Mapped[str] = mapped_column(String(16), default="announce")
    event_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    topics: Mapped[str] = mapped_column(String(512), default="")  # comma-separated; "" = all
    state: Mapped[str] = mapped_column(String(16), default="draft")
    send_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    # An organiser's announcement is written as a draft row (careerbot.drafting): whose it is,
    # the step it is at and its version, so it survives a restart and old buttons can be told.
    owner_chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    flow_step: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    everyone: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Only subscribers of this region (or of none) get it; None: every region. See
    # storage.subscribers.audience_query for the rule.
    region: Mapped[str | None] = mapped_column(String(32))
    # The organiser's message that shows the live delivery report (set at confirmation).
    report_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    report_message_id: Mapped[int | None] = mapped_column(BigInteger)


class Delivery(Base):
    """One recipient of a broadcast, fixed at confirmation, and what happened to its copy."""

    __tablename__ = "deliveries"

    broadcast_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Unanswered(Base):
    """A question the bot could not answer directly, without who asked it."""

    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16))  # fallback | suggest
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    tag: Mapped[str | None] = mapped_column(String(32), index=True)  # privacy.user_tag, 30 days
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # sent to the organisers


class Feedback(Base):
    """A "did this answer help?" vote on an entry, without who voted.

    For 30 days a vote keeps a one-way tag of its user and its message: a user rates an answer
    once (the last tap wins) and /oublier erases the vote.
    """

    __tablename__ = "feedback"
    __table_args__ = (Index("uq_feedback_tag_message", "tag", "message_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    helpful: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    tag: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(BigInteger)


class UpdateSeen(Base):
    """An update some instance took: a redelivered or duplicated one is answered once."""

    __tablename__ = "updates_seen"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    holder: Mapped[str] = mapped_column(String(64), default="")  # the instance that took it
    done: Mapped[bool] = mapped_column(default=False)  # settled: handled by its holder


class Lease(Base):
    """A job only one instance may do at a time (sending broadcasts), and who does it until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Instance(Base):
    """A running instance, its role, when it was last alive and its recent sends per second."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sends: Mapped[float] = mapped_column(Float, default=0.0)


class Bucket(Base):
    """A user's flood-control token bucket, shared by the instances; keyed by the user's one-way
    tag, never their id, and dropped once full again.
    """

    __tablename__ = "buckets"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float, index=True)  # Unix time of the last refill
    warned: Mapped[bool] = mapped_column(default=False)


class Request(Base):
    """An operator's request to every instance (reload the FAQ), and when it was last made."""

    __tablename__ = "requests"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class DailyCount(Base):
    """Messages of one Paris day with one outcome (and, for answers, one entry): a count only,
    no chat id, no text. Instances add their in-memory tallies to it (careerbot.stats.Tally).
    """

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" for none
    count: Mapped[int] = mapped_column(Integer, default=0)


class SubscriberCount(Base):
    """How many subscribers followed a topic or lived in a region on a day (a daily snapshot)."""

    __tablename__ = "subscriber_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # topic | region
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Digest(Base):
    """The organisers' weekly digest of one ISO week (e.g. "2026-W50"), claimed by the instance
    that sends it; `step` counts the parts already sent, so a retry resumes after them.
    """

    __tablename__ = "digests"

    week: Mapped[str] = mapped_column(String(10), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))  # sending | sent
    step: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StoredEvent(Base):
    """An event an organiser added from Telegram (faq/events.yaml holds the others).

    `number` is what buttons carry; `id` is the slug shown in files, .ics names and
    `/annonce evenement <id>`. `revision` grows at every change, so that a button drawn before
    (edit, cancel) can tell it is out of date. A cancelled event stays, for the record.
    """

    __tablename__ = "events"

    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    place: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(512), default="")  # comma-separated
    state: Mapped[str] = mapped_column(String(16), default="live", index=True)  # live | cancelled
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    draft_id: Mapped[int | None] = mapped_column(Integer, unique=True)  # the draft it came from
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EventDraft(Base):
    """An organiser's event being written or edited (careerbot.event_drafting), step by step."""

    __tablename__ = "event_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    flow_step: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    target: Mapped[str | None] = mapped_column(String(64))  # the event being edited
    title: Mapped[str] = mapped_column(String(100), default="")
    start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    place: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(32), default="")
    url: Mapped[str] = mapped_column(String(512), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
