"""Guarantee 2: an event is published if and only if its transaction committed, once."""

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import bindparam, insert, text

from tests.common.bus_support import (
    counted,
    engine,
    envelope_bytes,
    jetstream,
    settle,
    stream_messages,
)
from tests.common.probe import replicas
from tests.support import bus_prefix, eventually
from ticketing.common import metrics
from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.outbox import (
    CHANNEL,
    OutboxRelay,
    StagedAfter,
    pending_count,
    stage,
    staged_values,
)
from ticketing.common.database_url import libpq_dsn
from ticketing.common.events import Envelope, TicketCreated

SERVICE = "probe"


def an_event(title: str = "Show") -> TicketCreated:
    return TicketCreated(id=uuid4(), version=0, title=title, price=1000, user_id=uuid4())


@pytest.fixture
def names() -> BusNames:
    return BusNames(bus_prefix())


def published():
    """How many events the relays have published since the call."""
    return counted(metrics.PUBLISHED, service=SERVICE)


async def run_relay(js, names, url, **options) -> asyncio.Task:
    relay = OutboxRelay(SERVICE, libpq_dsn(url), js, names, **options)
    return asyncio.create_task(relay.run())


async def pending(db_engine) -> int:
    async with db_engine.connect() as db:
        return await pending_count(db)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_event_in_a_rolled_back_transaction_is_never_published(probe_db, nats, names):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        task = await run_relay(js, names, probe_db)
        with pytest.raises(RuntimeError):
            async with db_engine.begin() as db:
                await stage(db, an_event("rolled back"))
                raise RuntimeError("use case failed")
        async with db_engine.begin() as db:
            await stage(db, an_event("committed"))
        await eventually(lambda: sent() == 1)
        await settle()
        await stop(task)
        titles = [m["data"]["title"] for m in await stream_messages(js, names)]
    assert titles == ["committed"]


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(probe_db, nats, names):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        task = await run_relay(js, names, probe_db, poll_seconds=30)
        await settle()  # LISTEN is up
        async with db_engine.begin() as db:
            await stage(db, an_event())
        await eventually(lambda: sent() == 1, timeout=3)
        await stop(task)


async def test_a_write_and_its_event_standing_alone_wake_the_relay(probe_db, nats, names):
    """A route's one-statement write (orders' reservation, a listing) on a plain driver."""
    written = (
        insert(replicas)
        .values(id=bindparam("id"), title=bindparam("title"), version=0, applied=0)
        .returning(replicas.c.id)
        .cte("written")
    )
    staged = StagedAfter(written)
    event = an_event("standing alone")
    async with jetstream(nats.url, names) as js:
        sent = published()
        task = await run_relay(js, names, probe_db, poll_seconds=30)
        await settle()
        driver = await asyncpg.connect(libpq_dsn(probe_db))
        try:
            values = {"id": event.id, "title": event.title} | staged_values(event)
            assert await staged.run(driver, values)
        finally:
            await driver.close()
        await eventually(lambda: sent() == 1, timeout=3)
        await stop(task)


async def test_a_notify_from_a_writer_outside_the_process_wakes_the_relay(probe_db, nats, names):
    """A script that commits an event row itself has it sent at once by NOTIFYing."""
    async with jetstream(nats.url, names) as js:
        sent = published()
        task = await run_relay(js, names, probe_db, poll_seconds=30)
        await settle()  # LISTEN is up
        envelope = Envelope.wrap(an_event("from a script"))
        script = await asyncpg.connect(libpq_dsn(probe_db))
        try:
            async with script.transaction():
                await script.execute(
                    "INSERT INTO outbox (id, subject, envelope) VALUES ($1, $2, $3::jsonb)",
                    envelope.id,
                    str(envelope.subject),
                    envelope.model_dump_json(by_alias=True),
                )
                await script.execute(f"NOTIFY {CHANNEL}")
        finally:
            await script.close()
        await eventually(lambda: sent() == 1, timeout=3)
        await stop(task)


async def test_an_event_committed_while_the_relay_is_stopped_is_published_once_on_restart(
    probe_db, nats, names
):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        async with db_engine.begin() as db:
            envelope = await stage(db, an_event("waited"))
        assert await pending(db_engine) == 1
        task = await run_relay(js, names, probe_db)
        await eventually(lambda: sent() == 1)
        await settle()
        await stop(task)
        assert await pending(db_engine) == 0
        messages = await stream_messages(js, names)
    assert [m["id"] for m in messages] == [str(envelope.id)]


async def test_a_crash_after_publish_before_marking_sent_does_not_duplicate(probe_db, nats, names):
    """The relay dies after JetStream acked but before the row is marked: the retry's
    Nats-Msg-Id is the same, so the server drops the copy."""
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        async with db_engine.begin() as db:
            await stage(db, an_event("once"))

        crashing = OutboxRelay(SERVICE, libpq_dsn(probe_db), js, names, woken=False)
        original = crashing._publish_in_order

        async def publish_then_crash(rows):
            acked, _ = await original(rows)
            assert len(acked) == 1  # JetStream has it
            raise ConnectionError("process died before marking the row sent")

        crashing._publish_in_order = publish_then_crash
        with pytest.raises(ConnectionError):
            await crashing.drain_once()
        await crashing.close()
        assert await pending(db_engine) == 1

        task = await run_relay(js, names, probe_db)
        await eventually(lambda: sent() == 1)
        await stop(task)
        messages = await stream_messages(js, names)
    assert [m["data"]["title"] for m in messages] == ["once"]


async def test_two_relays_publish_every_event_exactly_once_in_all(probe_db, nats, names):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        task1 = await run_relay(js, names, probe_db)
        task2 = await run_relay(js, names, probe_db)
        staged = []
        for batch in range(20):
            async with db_engine.begin() as db:
                for i in range(10):
                    staged.append(str((await stage(db, an_event(f"{batch}-{i}"))).id))
        await eventually(lambda: sent() == 200, timeout=15)
        await settle()
        await stop(task1)
        await stop(task2)
        messages = await stream_messages(js, names)
    assert sorted(m["id"] for m in messages) == sorted(staged)
    assert sent() == 200


async def test_events_go_out_in_commit_order(probe_db, nats, names):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        for i in range(30):
            async with db_engine.begin() as db:
                await stage(db, an_event(str(i)))
        task = await run_relay(js, names, probe_db)
        await eventually(lambda: sent() == 30)
        await stop(task)
        titles = [m["data"]["title"] for m in await stream_messages(js, names)]
    assert titles == [str(i) for i in range(30)]


async def test_the_relay_connects_and_listens_again_when_the_database_drops_its_connections(
    probe_db, nats, names
):
    async with engine(probe_db) as db_engine, jetstream(nats.url, names) as js:
        sent = published()
        task = await run_relay(js, names, probe_db, poll_seconds=30)
        async with db_engine.begin() as db:
            await stage(db, an_event("before"))
        await eventually(lambda: sent() == 1)
        async with db_engine.connect() as db:  # every connection but this one: the relay's
            await db.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        async with db_engine.begin() as db:
            await stage(db, an_event("after"))
        await eventually(lambda: sent() == 2, timeout=10)
        await stop(task)
        titles = [m["data"]["title"] for m in await stream_messages(js, names)]
    assert titles == ["before", "after"]


async def test_the_relay_keeps_events_while_nats_is_unreachable(probe_db, names):
    """No JetStream at all: the row stays pending, nothing is lost."""
    async with engine(probe_db) as db_engine:
        async with db_engine.begin() as db:
            await stage(db, an_event())

        class DownJetStream:
            async def publish_async(self, *args, **kwargs):
                raise ConnectionError("no servers available")

        relay = OutboxRelay(SERVICE, libpq_dsn(probe_db), DownJetStream(), names, woken=False)
        with pytest.raises(ConnectionError):
            await relay.drain_once()
        await relay.close()
        assert await pending(db_engine) == 1


async def test_an_event_carries_the_correlation_id_of_the_request_that_made_it(
    probe_db, nats, names
):
    from ticketing.common import correlation

    token = correlation.bind("req-123")
    try:
        async with engine(probe_db) as db_engine, db_engine.begin() as db:
            envelope = await stage(db, an_event())
    finally:
        correlation.reset(token)
    assert envelope.correlation_id == "req-123"
    assert Envelope.from_bytes(envelope_bytes(envelope)).correlation_id == "req-123"
