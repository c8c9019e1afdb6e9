"""Guarantee 2: an event is published if and only if its transaction committed, once."""

import asyncio
from uuid import uuid4

import pytest

from tests.common.bus_support import jetstream, sessions, settle, stream_messages
from tests.support import bus_prefix, eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.outbox import OutboxRelay, pending_count, stage
from ticketing.common.db import plain_dsn
from ticketing.common.events import Envelope, TicketCreated


def an_event(title: str = "Show") -> TicketCreated:
    return TicketCreated(id=uuid4(), version=0, title=title, price=1000, user_id=uuid4())


@pytest.fixture
def names() -> BusNames:
    return BusNames(bus_prefix())


async def run_relay(sessionmaker, js, names, url, **options) -> tuple[OutboxRelay, asyncio.Task]:
    relay = OutboxRelay(sessionmaker, js, names, listen_dsn=plain_dsn(url), **options)
    return relay, asyncio.create_task(relay.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_event_in_a_rolled_back_transaction_is_never_published(probe_db, nats, names):
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        relay, task = await run_relay(sm, js, names, probe_db)
        with pytest.raises(RuntimeError):
            async with sm() as db, db.begin():
                await stage(db, an_event("rolled back"))
                raise RuntimeError("use case failed")
        async with sm() as db, db.begin():
            await stage(db, an_event("committed"))
        await eventually(lambda: relay.published == 1)
        await settle()
        await stop(task)
        titles = [m["data"]["title"] for m in await stream_messages(js, names)]
    assert titles == ["committed"]


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(probe_db, nats, names):
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        relay, task = await run_relay(sm, js, names, probe_db, poll_seconds=30)
        await settle()  # LISTEN is up
        async with sm() as db, db.begin():
            await stage(db, an_event())
        await eventually(lambda: relay.published == 1, timeout=3)
        await stop(task)


async def test_an_event_committed_while_the_relay_is_stopped_is_published_once_on_restart(
    probe_db, nats, names
):
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        async with sm() as db, db.begin():
            envelope = await stage(db, an_event("waited"))
        async with sm() as db:
            assert await pending_count(db) == 1
        relay, task = await run_relay(sm, js, names, probe_db)
        await eventually(lambda: relay.published == 1)
        await settle()
        await stop(task)
        async with sm() as db:
            assert await pending_count(db) == 0
        messages = await stream_messages(js, names)
    assert [m["id"] for m in messages] == [str(envelope.id)]


async def test_a_crash_after_publish_before_marking_sent_does_not_duplicate(probe_db, nats, names):
    """The relay dies after JetStream acked but before the row is marked: the retry's
    Nats-Msg-Id is the same, so the server drops the copy."""
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        async with sm() as db, db.begin():
            await stage(db, an_event("once"))

        crashing = OutboxRelay(sm, js, names, listen_dsn=None)
        original = crashing._publish_in_order

        async def publish_then_crash(rows):
            sent, _ = await original(rows)
            assert len(sent) == 1  # JetStream has it
            raise ConnectionError("process died before marking the row sent")

        crashing._publish_in_order = publish_then_crash
        with pytest.raises(ConnectionError):
            await crashing.drain_once()
        async with sm() as db:
            assert await pending_count(db) == 1

        relay, task = await run_relay(sm, js, names, probe_db)
        await eventually(lambda: relay.published == 1)
        await stop(task)
        messages = await stream_messages(js, names)
    assert [m["data"]["title"] for m in messages] == ["once"]


async def test_two_relays_publish_every_event_exactly_once_in_all(probe_db, nats, names):
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        first, task1 = await run_relay(sm, js, names, probe_db)
        second, task2 = await run_relay(sm, js, names, probe_db)
        staged = []
        for batch in range(20):
            async with sm() as db, db.begin():
                for i in range(10):
                    staged.append(str((await stage(db, an_event(f"{batch}-{i}"))).id))
        await eventually(lambda: first.published + second.published == 200, timeout=15)
        await settle()
        await stop(task1)
        await stop(task2)
        messages = await stream_messages(js, names)
    assert sorted(m["id"] for m in messages) == sorted(staged)
    assert first.published + second.published == 200


async def test_events_go_out_in_commit_order(probe_db, nats, names):
    async with sessions(probe_db) as sm, jetstream(nats.url, names) as js:
        for i in range(30):
            async with sm() as db, db.begin():
                await stage(db, an_event(str(i)))
        relay, task = await run_relay(sm, js, names, probe_db)
        await eventually(lambda: relay.published == 30)
        await stop(task)
        titles = [m["data"]["title"] for m in await stream_messages(js, names)]
    assert titles == [str(i) for i in range(30)]


async def test_the_relay_keeps_events_while_nats_is_unreachable(probe_db, names):
    """No JetStream at all: the row stays pending, nothing is lost."""
    async with sessions(probe_db) as sm:
        async with sm() as db, db.begin():
            await stage(db, an_event())

        class DownJetStream:
            async def publish_async(self, *args, **kwargs):
                raise ConnectionError("no servers available")

        relay = OutboxRelay(sm, DownJetStream(), names, listen_dsn=None)
        with pytest.raises(ConnectionError):
            await relay.drain_once()
        async with sm() as db:
            assert await pending_count(db) == 1


async def test_an_event_carries_the_correlation_id_of_the_request_that_made_it(
    probe_db, nats, names
):
    from ticketing.common import correlation

    token = correlation.bind("req-123")
    try:
        async with sessions(probe_db) as sm, sm() as db, db.begin():
            envelope = await stage(db, an_event())
    finally:
        correlation.reset(token)
    assert envelope.correlation_id == "req-123"
    assert Envelope.from_bytes(envelope.to_bytes()).correlation_id == "req-123"
