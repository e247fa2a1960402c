"""Events near me, on a real database (SQLite file, then PostgreSQL): the region rule, regional
reminders, late subscribers, and the migration that brings regions to existing subscribers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import text, update

from careerbot import callbacks as cb
from careerbot.agenda import Agenda
from careerbot.announcing import (
    Announcing,
    create_reminders,
    event_audience,
    late_reminders,
    my_subscriptions,
    subscribe_start,
    subscription_button,
)
from careerbot.conversation import Reply
from careerbot.drafting import Draft, Everyone, Outcome, Region, Step, step
from careerbot.faq import Event, Faq
from careerbot.regions import ABROAD, ONLINE
from careerbot.storage import drafts, outbox, subscribers
from careerbot.storage.database import current_revision, migrate, open_engine, sessions
from careerbot.storage.models import Broadcast, Delivery
from tests.databases import database_url
from tests.test_storage import fresh, run

pytestmark = pytest.mark.usefixtures("backend")

NOW = datetime(2030, 3, 11, 20, 0, tzinfo=UTC)
AHEAD = timedelta(hours=24)


def event(event_id: str, region: str | None, *, hours: float = 20,
          tags: tuple[str, ...] = ()) -> Event:
    """An event starting `hours` after NOW, in a region."""
    start = NOW + timedelta(hours=hours)
    return Event(event_id, event_id.title(), start, start + timedelta(hours=2), "Quelque part",
                 "https://fp21.fr/", tags, "Rencontre.", region=region)


# Who follows what: (topics, regions).
PEOPLE: dict[int, tuple[list[str], list[str] | None]] = {
    1: (["all"], None),  # subscribed before regions existed: everything
    2: (["evenements"], ["bretagne"]),
    3: (["evenements"], ["occitanie", "bretagne"]),
    4: (["evenements"], ["occitanie"]),
    5: (["evenements"], [ONLINE]),  # online events only
    6: (["evenements"], [ABROAD]),
    7: (["concours"], ["bretagne"]),  # the right region, another topic
}


async def populate(db: object) -> None:
    """Subscribe PEOPLE."""
    for chat, (topics, regions) in PEOPLE.items():
        await subscribers.subscribe(db, chat, "fr", topics, regions)  # type: ignore[arg-type]


@pytest.mark.parametrize(("region", "reached"), [
    ("bretagne", [1, 2, 3]),
    ("occitanie", [1, 3, 4]),
    ("grand-est", [1]),
    (ONLINE, [1, 2, 3, 4, 5, 6]),
    (None, [1, 2, 3, 4, 5, 6]),
    (ABROAD, [1, 6]),
])
def test_the_region_rule(tmp_path: Path, region: str | None, reached: list[int]) -> None:
    """An event in region R reaches those who chose R or no region; an online event or one
    tied to no place reaches every region; abroad is a region like the others.
    """
    async def scenario() -> list[int]:
        engine, db = await fresh(tmp_path)
        await populate(db)
        found = sorted(await event_audience(db, event("x", region)))
        await engine.dispose()
        return found

    assert run(scenario) == reached


def test_regions_are_kept_replaced_and_erased(tmp_path: Path) -> None:
    """Saving topics alone keeps the regions; saving regions replaces them; unsubscribing and
    forgetting erase them.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await subscribers.subscribe(db, 9, "fr", ["concours"], ["bretagne", ONLINE])
        await subscribers.subscribe(db, 9, "fr", ["alternance"])
        assert await subscribers.regions_of(db, 9) == {"bretagne", ONLINE}
        await subscribers.subscribe(db, 9, "fr", ["alternance"], ["corse"])
        assert await subscribers.regions_of(db, 9) == {"corse"}
        await subscribers.subscribe(db, 9, "fr", ["alternance"], [])
        assert await subscribers.regions_of(db, 9) == set()
        await subscribers.subscribe(db, 9, "fr", ["alternance"], ["corse"])
        await subscribers.unsubscribe(db, 9)
        assert await subscribers.regions_of(db, 9) == set()
        await subscribers.subscribe(db, 9, "fr", ["alternance"], ["corse"])
        await subscribers.forget(db, 9)
        async with db() as session:
            left = await session.scalar(text("select count(*) from subscriber_regions"))
        assert left == 0
        await engine.dispose()
    run(scenario)


def test_reminders_follow_the_region_of_their_event(tmp_path: Path) -> None:
    """A reminder of a Breton event goes to Brittany and to those without regions; one of an
    online event to every follower, regions or not; the region is stored on the broadcast.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne"),
                                                 event("webinaire", ONLINE, hours=10)))
        created = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        reached = {}
        for broadcast in created:
            summary = await outbox.summary(db, broadcast)
            assert summary is not None
            async with db() as session:
                chats = await session.scalars(text(
                    f"select chat_id from deliveries where broadcast_id = {broadcast}"))
                reached[summary.event_id] = (summary.region, sorted(chats))
        assert reached == {"rennes": ("bretagne", [1, 2, 3]),
                           "webinaire": (ONLINE, [1, 2, 3, 4, 5, 6])}
        await engine.dispose()
    run(scenario)


async def finish(db: object, broadcast: int) -> None:
    """As the sender does: every delivery sent, the broadcast done."""
    async with db.begin() as session:  # type: ignore[attr-defined]
        await session.execute(update(Delivery).where(Delivery.broadcast_id == broadcast)
                              .values(state=outbox.SENT))
    assert await outbox.finish_if_complete(db, broadcast)  # type: ignore[arg-type]


async def deliveries_of(db: object, chat: int) -> list[tuple[int, str]]:
    """A chat's deliveries: (broadcast, state)."""
    async with db() as session:  # type: ignore[operator]
        rows = await session.execute(text(
            f"select broadcast_id, state from deliveries where chat_id = {chat} "
            "order by broadcast_id"))
        return [(int(b), str(s)) for b, s in rows]


def test_a_late_subscriber_gets_the_reminder_once(tmp_path: Path) -> None:
    """Subscribing after a reminder was sent queues it once for the newcomer (the finished
    reminder runs again for them alone); asking again, unsubscribing and subscribing again, or a
    chat the event does not concern add nothing; a region change that matches adds it; once the
    event has started, nobody is added.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne", tags=("concours",)),))
        [reminder] = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        await finish(db, reminder)
        later = NOW + timedelta(hours=8)  # 12 hours before the event

        await subscribers.subscribe(db, 20, "fr", ["evenements"], ["bretagne"])
        assert await late_reminders(db, faq.events, 20, later) == [reminder]
        assert await deliveries_of(db, 20) == [(reminder, outbox.PENDING)]
        summary = await outbox.summary(db, reminder)
        assert summary is not None and summary.state == outbox.RUNNING
        assert await outbox.due(db, later) == [reminder]
        assert await outbox.claim_one(db, reminder) == 20  # the only one to send
        await outbox.record(db, reminder, 20, outbox.SENT, message_id=1)
        assert await outbox.claim_one(db, reminder) is None
        assert await outbox.finish_if_complete(db, reminder)

        assert await late_reminders(db, faq.events, 20, later) == []  # saved twice
        await subscribers.unsubscribe(db, 20)
        await subscribers.subscribe(db, 20, "fr", ["all"])
        assert await late_reminders(db, faq.events, 20, later) == []  # came back
        assert await deliveries_of(db, 20) == [(reminder, outbox.SENT)]
        assert await late_reminders(db, faq.events, 2, later) == []  # had it from the start

        await subscribers.subscribe(db, 21, "fr", ["evenements"], ["occitanie"])
        assert await late_reminders(db, faq.events, 21, later) == []  # not their region
        await subscribers.subscribe(db, 21, "fr", ["alternance"], ["bretagne"])
        assert await late_reminders(db, faq.events, 21, later) == []  # not their topic
        await subscribers.subscribe(db, 21, "fr", ["concours"], ["bretagne"])  # the event's tag
        assert await late_reminders(db, faq.events, 21, later) == [reminder]

        await subscribers.subscribe(db, 22, "fr", ["all"])
        started = faq.events[0].start + timedelta(minutes=1)
        assert await late_reminders(db, faq.events, 22, started) == []
        assert await deliveries_of(db, 22) == []
        await engine.dispose()
    run(scenario)


def test_a_cancelled_reminder_takes_no_late_subscriber(tmp_path: Path) -> None:
    """A reminder an organiser cancelled stays cancelled: a newcomer is not added to it; one
    still being sent takes them without changing its state.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne"),
                                                 event("webinaire", ONLINE, hours=10)))
        rennes, webinaire = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        assert await outbox.change(db, rennes, "cancel")
        await subscribers.subscribe(db, 30, "fr", ["evenements"])
        assert await late_reminders(db, faq.events, 30, NOW) == [webinaire]
        async with db() as session:
            states = dict((await session.execute(
                text("select id, state from broadcasts order by id"))).all())
        assert states == {rennes: outbox.CANCELLED, webinaire: outbox.RUNNING}
        await engine.dispose()
    run(scenario)


def test_migration_keeps_existing_subscribers_getting_everything(tmp_path: Path) -> None:
    """A database at 0006 with subscribers and broadcasts upgrades to regions: everyone gets
    what they got before, a regional reminder included; old broadcasts have no region; and the
    downgrade drops the regions cleanly.
    """
    async def scenario() -> None:
        engine = open_engine(await database_url(tmp_path))
        await migrate(engine, "0006")
        async with engine.begin() as connection:
            await connection.execute(text(
                "insert into subscribers (chat_id, language, created_at) values "
                "(1, 'fr', '2026-01-01T00:00:00+00:00'), (2, 'fr', '2026-01-01T00:00:00+00:00'),"
                " (3, 'en', '2026-01-01T00:00:00+00:00')"))
            await connection.execute(text(
                "insert into subscriptions (chat_id, topic) values (1, 'all'), "
                "(2, 'evenements'), (3, 'concours')"))
            await connection.execute(text(
                "insert into broadcasts (kind, text, topics, state, created_at, version, "
                "everyone) values ('announce', 'avant', '', 'done', "
                "'2026-01-01T00:00:00+00:00', 0, true)"))
        await migrate(engine)
        assert await current_revision(engine) != "0006"
        db = sessions(engine)
        assert sorted(await subscribers.audience(db, [], "bretagne")) == [1, 2, 3]
        assert sorted(await event_audience(db, event("rennes", "bretagne"))) == [1, 2]
        async with db() as session:
            assert await session.scalar(text("select region from broadcasts")) is None
        await subscribers.subscribe(db, 2, "fr", ["evenements"], ["corse"])
        await migrate_down(engine, "0006")
        async with engine.connect() as connection:
            assert (await connection.execute(text("select count(*) from subscriptions"))
                    ).scalar() == 3
        await migrate(engine)
        assert await subscribers.regions_of(db, 2) == set()  # the downgrade dropped them
        await engine.dispose()
    run(scenario)


async def migrate_down(engine: object, revision: str) -> None:
    """Downgrade the schema to `revision`."""
    from alembic import command

    from careerbot.storage.database import _alembic

    async with engine.begin() as connection:  # type: ignore[attr-defined]
        await connection.run_sync(lambda sync: command.downgrade(_alembic(sync), revision))


def test_a_broadcast_with_a_region_reaches_that_region(tmp_path: Path) -> None:
    """outbox.create with a region fixes a regional audience at confirmation."""
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        broadcast = await outbox.create(db, "Forum à Toulouse", ["evenements"], region="occitanie")
        assert await outbox.confirm(db, broadcast) == 3
        async with db() as session:
            row = await session.get(Broadcast, broadcast)
            assert row is not None and row.region == "occitanie"
        await engine.dispose()
    run(scenario)


A = TypeVar("A", bound=cb.Action)


def press(reply: Reply, kind: type[A], **fields: object) -> A:
    """The action of the reply's button of this kind (and these arguments)."""
    for button in reply.actions():
        action = cb.decode(button.action)
        if isinstance(action, kind) and all(getattr(action, k) == v for k, v in fields.items()):
            return action
    raise AssertionError(f"no {kind.__name__} button")


def keyboard(reply: Reply) -> list[tuple[str, str | None]]:
    """A reply's buttons as a chat shows them back: (label, payload)."""
    return [(b.label, b.action) for row in reply.buttons for b in row]


def test_topics_and_regions_on_two_screens(tmp_path: Path) -> None:
    """/abonner: the topics screen leads to the regions screen and back, each keeping the
    other's choice in progress; saving from either stores both, and the reminder of a Breton
    event already sent is queued for the newcomer.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne"),))
        await populate(db)
        [reminder] = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        service = Announcing(db, frozenset(), faq)
        chat = 40

        async def tap(reply: Reply, kind: type[cb.Action], **fields: object) -> Reply:
            action = press(reply, kind, **fields)
            return await subscription_button(action, keyboard(reply), chat,  # type: ignore[arg-type]
                                             service, "fr", NOW)

        shown = await subscribe_start(chat, db, "fr")
        assert "📍 Régions : toutes" in [label for label, _ in keyboard(shown)]
        shown = await tap(shown, cb.ToggleTopic, topic="concours")
        shown = await tap(shown, cb.OpenRegions)
        assert shown.html.startswith("📍 <b>Les événements près de chez vous</b>")
        assert len(shown.actions()) == 23 and all(len(row) <= 2 for row in shown.buttons)
        shown = await tap(shown, cb.ToggleRegion, region="bretagne")
        shown = await tap(shown, cb.ToggleRegion, region=ONLINE)
        shown = await tap(shown, cb.ToggleRegion, region="corse")
        shown = await tap(shown, cb.ToggleRegion, region="corse")
        shown = await tap(shown, cb.BackToTopics)
        assert ("✅ Concours" in [label for label, _ in keyboard(shown)]
                and "📍 Régions : Bretagne, En ligne" in [label for label, _ in keyboard(shown)])
        shown = await tap(shown, cb.ToggleTopic, topic="evenements")
        saved = await tap(shown, cb.SaveTopics)
        assert saved.html == ("C'est noté ✅ Vous recevrez : Événements FP21, Concours.\n"
                              "📍 Événements : Bretagne et en ligne.\n/desabonner pour arrêter.")
        assert await subscribers.topics_of(db, chat) == {"evenements", "concours"}
        assert await subscribers.regions_of(db, chat) == {"bretagne", ONLINE}
        assert await deliveries_of(db, chat) == [(reminder, outbox.PENDING)]
        mine = await my_subscriptions(chat, db, "fr")
        assert "📍 Événements : Bretagne et en ligne." in mine.html

        again = await subscribe_start(chat, db, "fr")  # saving from the regions screen
        again = await tap(again, cb.OpenRegions)
        again = await tap(again, cb.ToggleRegion, region="bretagne")
        saved = await tap(again, cb.SaveRegions)
        assert "📍 Événements : en ligne seulement." in saved.html
        assert await subscribers.topics_of(db, chat) == {"evenements", "concours"}
        assert await deliveries_of(db, chat) == [(reminder, outbox.PENDING)]  # still once
        await engine.dispose()
    run(scenario)


def test_regions_without_a_topic_ask_for_one(tmp_path: Path) -> None:
    """Saving regions with no topic ticked goes back to the topics, regions kept, and asks for
    one; a forged region or topic ticks nothing.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        service = Announcing(db, frozenset(), Faq(entries=(), themes=(), events=()))
        shown = await subscribe_start(41, db, "en")
        regions = await subscription_button(press(shown, cb.OpenRegions), keyboard(shown), 41,
                                            service, "en")
        forged = await subscription_button(cb.ToggleRegion("atlantide"), keyboard(regions), 41,
                                           service, "en")
        assert forged == regions
        ticked = await subscription_button(cb.ToggleRegion("corse"), keyboard(regions), 41,
                                           service, "en")
        back = await subscription_button(press(ticked, cb.SaveRegions), keyboard(ticked), 41,
                                         service, "en")
        assert back.html.endswith("☝️ Pick at least one topic, then save.")
        assert "📍 Regions: Corse" in [label for label, _ in keyboard(back)]
        assert await subscribers.topics_of(db, 41) is None
        await engine.dispose()
    run(scenario)


def test_a_regional_draft_defaults_to_its_region_and_everyone_lifts_it() -> None:
    """The region is a choice of the audience step: everyone means every region; the region
    button narrows again; a region button at another step changes nothing.
    """
    draft = Draft(1, 42, Step.AUDIENCE, 3, "x", frozenset({"evenements"}), region="bretagne")
    everyone = step(draft, Everyone(), version=3).draft
    assert (everyone.everyone, everyone.topics, everyone.region) == (True, frozenset(), None)
    narrowed = step(everyone, Region("bretagne"), version=3)
    assert narrowed.outcome is Outcome.AUDIENCE_CHANGED and narrowed.draft.region == "bretagne"
    assert step(draft, Region(None), version=3).draft.region is None
    late = step(Draft(1, 42, Step.WHEN, 4, "x", region="bretagne"), Region(None), version=4)
    assert late.outcome is Outcome.PASSED and late.draft.region == "bretagne"


def test_a_stored_draft_keeps_its_region_and_confirms_to_it(tmp_path: Path) -> None:
    """drafts.start stores the event's region, save compares and stores it, and the broadcast
    reaches that region's subscribers; "all regions" reaches every follower.
    """
    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        draft = await drafts.start(db, 42, text="Rennes", topics=["evenements"],
                                   event_id="rennes", region="bretagne")
        assert draft.region == "bretagne"
        wide = step(draft, Region(None), version=draft.version).draft
        assert not await drafts.save(db, replace(draft, region="corse"), wide)  # stale read
        assert await drafts.save(db, draft, wide)
        stored = await drafts.get(db, draft.id)
        assert stored is not None and stored.region is None
        assert await drafts.save(db, stored, step(stored, Region("bretagne"),
                                                  version=stored.version).draft)
        assert await outbox.confirm(db, draft.id) == 3  # chats 1, 2 and 3
        other = await drafts.start(db, 42, text="Partout", topics=["evenements"],
                                   event_id="rennes", region="bretagne")
        assert await drafts.save(db, other, step(other, Region(None), version=1).draft)
        assert await outbox.confirm(db, other.id) == 6
        await engine.dispose()
    run(scenario)


def test_the_shell_announces_an_event_to_its_region_and_counts_regions(tmp_path: Path,
                                                                       backend: str) -> None:
    """`careerbot broadcast --event` targets the event's region (abroad here) unless
    --all-regions; `careerbot subscribers` counts each region chosen.
    """
    if backend != "sqlite":
        pytest.skip("the shell runs on the data directory's SQLite file")
    from careerbot.storage.database import default_url
    from tests.test_cli import storage_command

    async def subscribe() -> None:
        engine = open_engine(default_url(tmp_path / "d"))
        await migrate(engine)
        await populate(sessions(engine))
        await engine.dispose()

    run(subscribe)
    regional = storage_command(tmp_path, "broadcast", "--event", "mission-quebec-2019",
                               "--dry-run")
    assert regional.stdout.startswith("dry run: 2 recipient(s)")  # chats 1 and 6
    everywhere = storage_command(tmp_path, "broadcast", "--event", "mission-quebec-2019",
                                 "--all-regions", "--dry-run")
    assert everywhere.stdout.startswith("dry run: 6 recipient(s)")
    counts = storage_command(tmp_path, "subscribers").stdout
    assert "      3  chose the region 'bretagne' (Bretagne)" in counts.splitlines()


def test_two_saves_at_once_queue_the_reminder_once(tmp_path: Path) -> None:
    """A double tap on "Valider" handled at the same moment (or by two instances) adds the
    late subscriber's reminder once.
    """
    import asyncio

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne"),))
        [reminder] = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        await subscribers.subscribe(db, 50, "fr", ["evenements"])
        added = await asyncio.gather(*(late_reminders(db, faq.events, 50, NOW) for _ in range(4)))
        assert sorted(added) == [[], [], [], [reminder]]
        assert await deliveries_of(db, 50) == [(reminder, outbox.PENDING)]
        await engine.dispose()
    run(scenario)


def test_a_late_delivery_is_never_left_under_a_finished_reminder(tmp_path: Path,
                                                                  backend: str) -> None:
    """PostgreSQL: the sender finishing a reminder while a late subscriber is being added waits
    for the addition and then sees it, so the reminder stays running with that delivery to send.
    """
    import asyncio

    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two cannot interleave")

    async def scenario() -> None:
        engine, db = await fresh(tmp_path)
        await populate(db)
        faq = Faq(entries=(), themes=(), events=(event("rennes", "bretagne"),))
        [reminder] = await create_reminders(db, Agenda(faq.events), NOW, AHEAD)
        async with db.begin() as session:
            await session.execute(update(Delivery).where(Delivery.broadcast_id == reminder)
                                  .values(state=outbox.SENT))
        await subscribers.subscribe(db, 60, "fr", ["evenements"])
        async with db.begin() as adding:  # as _add_late does, held open
            await adding.get(Broadcast, reminder, with_for_update=True)
            adding.add(Delivery(broadcast_id=reminder, chat_id=60, state=outbox.PENDING,
                                attempts=0))
            await adding.flush()
            finishing = asyncio.create_task(outbox.finish_if_complete(db, reminder))
            await asyncio.sleep(0.5)
            assert not finishing.done()  # it waits for the row
        assert await finishing is False
        summary = await outbox.summary(db, reminder)
        assert summary is not None and summary.state == outbox.RUNNING
        assert summary.counts.get(outbox.PENDING) == 1
        await engine.dispose()
    run(scenario)
