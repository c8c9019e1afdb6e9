"""Bus helpers for every test: a JetStream context, an engine, the other services' side of
the bus (EventBus), reading a stream back, and counting what a listener did."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import nats
from prometheus_client import Counter
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import eventually
from ticketing.common import metrics
from ticketing.common.bus.connection import BusNames, ensure_stream
from ticketing.common.bus.tables import outbox, processed_events
from ticketing.common.db import make_engine
from ticketing.common.events import Envelope, Event, Subject


@asynccontextmanager
async def jetstream(url: str, names: BusNames):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, names)
    try:
        yield js
    finally:
        await nc.close()


@asynccontextmanager
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on a service's database, to arrange and inspect rows."""
    made = make_engine(url, pool_size=5)
    try:
        yield made
    finally:
        await made.dispose()


async def stream_messages(js, names: BusNames) -> list[dict]:
    """Every message in the stream, in order, decoded."""
    info = await js.stream_info(names.stream)
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        raw = await js.get_msg(names.stream, seq)
        messages.append(json.loads(raw.data))
    return messages


async def settle(seconds: float = 0.3) -> None:
    """Give a background task a chance to do something it must not do."""
    await asyncio.sleep(seconds)


async def publish_event(
    js, names: BusNames, event: Event, envelope_id: UUID | None = None
) -> Envelope:
    """Publish as a service's relay would, but without Nats-Msg-Id: a repeated envelope id
    really reaches the listener twice, as a redelivery does."""
    envelope = Envelope.wrap(event)
    if envelope_id is not None:
        envelope = envelope.model_copy(update={"id": envelope_id})
    subject, stream = names.subject(envelope.subject), names.stream_for(envelope.subject)
    await js.publish(subject, envelope_bytes(envelope), stream=stream)
    return envelope


def envelope_bytes(envelope: Envelope) -> bytes:
    """The envelope as a relay sends it."""
    return json.dumps(envelope.model_dump(mode="json", by_alias=True)).encode()


def counted(metric: Counter, **labels: str) -> Callable[[], float]:
    """How far `metric` has gone up since this call, over its samples with these labels
    (e.g. `counted(metrics.APPLIED, service="orders", subject=Subject.TICKET_CREATED)`).
    Metrics are process-wide and every test adds to them: a test counts from its start."""

    def total() -> float:
        wanted = {name: str(value) for name, value in labels.items()}
        return sum(
            sample.value
            for family in metric.collect()
            for sample in family.samples
            if sample.name == f"{family.name}_total" and wanted.items() <= sample.labels.items()
        )

    start = total()
    return lambda: total() - start


async def published_data(js, names: BusNames, subject: Subject) -> list[dict]:
    """The `data` of every message on `subject`, in stream order."""
    return [m["data"] for m in await stream_messages(js, names) if m["subject"] == subject]


class ListenerCounts:
    """What a service's listeners did from now on, as its Prometheus counters tell it."""

    def __init__(self, service: str) -> None:
        self._applied = {s: counted(metrics.APPLIED, service=service, subject=s) for s in Subject}
        self._dead_letters = counted(metrics.DEAD_LETTERS, service=service)

    def applied(self, subject: Subject) -> int:
        """Events on `subject` that took effect (not counting duplicates)."""
        return int(self._applied[subject]())

    def dead_letters(self) -> int:
        return int(self._dead_letters())


class EventBus:
    """The other services' side of the bus: publish their events, read the app's."""

    def __init__(self, js, names: BusNames) -> None:
        self.js = js
        self.names = names

    async def publish(self, event: Event, envelope_id: UUID | None = None) -> Envelope:
        return await publish_event(self.js, self.names, event, envelope_id)

    async def published(self, subject: Subject) -> list[dict]:
        return await published_data(self.js, self.names, subject)

    async def wait_for(self, subject: Subject, count: int = 1, timeout: float = 5) -> list[dict]:
        """At least `count` messages on `subject`; returns them all."""

        async def enough():
            found = await self.published(subject)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)


async def stamped_outbox_row(
    db, *, sent_days_ago: float | None, created_days_ago: float = 0
) -> UUID:
    """An outbox row created and sent so long ago (None: not sent yet)."""
    event_id, created = uuid4(), max(created_days_ago, sent_days_ago or 0)
    sent = None if sent_days_ago is None else text(f"now() - interval '{sent_days_ago} days'")
    await db.execute(
        insert(outbox).values(
            id=event_id,
            subject="ticket.created",
            envelope={"id": str(event_id)},
            created_at=text(f"now() - interval '{created} days'"),
            published_at=sent,
        )
    )
    return event_id


async def stamped_record(db, *, days_ago: float) -> UUID:
    """A processed event's record, made so long ago."""
    event_id = uuid4()
    await db.execute(
        insert(processed_events).values(
            event_id=event_id,
            subject="ticket.created",
            processed_at=text(f"now() - interval '{days_ago} days'"),
        )
    )
    return event_id


async def bus_rows(db) -> tuple[set[UUID], set[UUID]]:
    """The outbox's event ids, and the processed events'."""
    sent = set((await db.execute(select(outbox.c.id))).scalars())
    processed = set((await db.execute(select(processed_events.c.event_id))).scalars())
    return sent, processed
