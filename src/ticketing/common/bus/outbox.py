"""The transactional outbox (guarantee 2): stage inside the caller's transaction, relay after.

A crash between commit and publish only delays the event: the row stays unsent and
the next relay run publishes it, with the same Nats-Msg-Id so JetStream drops a copy
that had in fact gone out before the crash.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy import CTE, String, Uuid, any_, bindparam, cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.common import faults, metrics
from ticketing.common.bus.connection import BusNames, cancel_requested
from ticketing.common.bus.tables import outbox
from ticketing.common.events import Envelope, Event
from ticketing.common.prepared import Prepared, driver_under
from ticketing.common.wakeups import Bell

log = logging.getLogger(__name__)
# This process's relays: every staging rings it once its transaction has committed.
RELAY = Bell()
# And a writer outside the services (a script, the benchmark) can wake every relay of the
# database with NOTIFY on this channel once it has committed events of its own.
CHANNEL = "ticketing_outbox"
Unsent: TypeAlias = asyncpg.Record  # id, subject, envelope (its JSON text), created_at
BATCH = 100
ACK_TIMEOUT = 5.0


# An event's row as bound parameters (`_row_values`): the same for every way to stage one,
# so each statement is built once and the envelope serialised once, as JSON text.
_ROW = {
    "id": bindparam("event_id", type_=Uuid),
    "subject": bindparam("event_subject", type_=String),
    "envelope": cast(bindparam("event_envelope", type_=String), JSONB),
}
_STAGE = outbox.insert().values(_ROW)
# Every event a listener or route stages, in its transaction (common/prepared.py)
_STAGE_ONE = Prepared(_STAGE)


async def stage(db: AsyncConnection, event: Event) -> Envelope:
    """Write the event in the caller's transaction; the relay is woken once it commits."""
    return (await stage_many(db, [event]))[0]


async def stage_many(db: AsyncConnection, events: list[Event]) -> list[Envelope]:
    """The rows in one round trip: one event is one statement, several one executemany."""
    envelopes = [Envelope.wrap(event) for event in events]
    rows = [_row_values(envelope) for envelope in envelopes]
    if len(rows) == 1:  # the common case
        await _STAGE_ONE.fetchrow_in(db, rows[0])
    elif rows:
        await db.execute(_STAGE, rows)
    if rows:
        RELAY.after_commit(driver_under(db))
    return envelopes


class StagedAfter:
    """One statement for a write and its event, compiled once (common/prepared.py): the
    event (`staged_values`) is staged only if `written`, a data-modifying CTE with
    RETURNING, produced a row. A statement is atomic on its own, so the busiest writes need
    no BEGIN/COMMIT around them: one round trip. True if it wrote; the relay is woken once
    that is committed."""

    def __init__(self, written: CTE) -> None:
        row = select(*_ROW.values()).select_from(written).limit(1)
        staged = outbox.insert().from_select(list(_ROW), row).returning(outbox.c.id).cte("staged")
        self._prepared = Prepared(select(staged.c.id))

    async def run(self, driver: asyncpg.Connection, values: dict[str, Any]) -> bool:
        """On a plain asyncpg connection (db.Driver): standing alone, or in its transaction."""
        if await self._prepared.fetchrow(driver, values) is None:
            return False
        RELAY.after_commit(driver)
        return True

    async def run_in(self, db: AsyncConnection, values: dict[str, Any]) -> bool:
        """In `db`'s transaction."""
        if await self._prepared.fetchrow_in(db, values) is None:
            return False
        RELAY.after_commit(driver_under(db))
        return True


def staged_values(event: Event) -> dict[str, Any]:
    """The parameters of a `StagedAfter` for `event`."""
    return _row_values(Envelope.wrap(event))


def _row_values(envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "event_subject": str(envelope.subject),
        "event_envelope": envelope.model_dump_json(by_alias=True),
    }


async def pending_count(db: AsyncConnection) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    count: int = (await db.execute(query)).scalar_one()
    return count


async def measure_pending(engine: AsyncEngine, service: str) -> None:
    """The outbox_pending gauge, from the table: rows wait there while NATS is down, when
    no relay is running to count them."""
    async with engine.connect() as db:
        metrics.OUTBOX_PENDING.labels(service).set(await pending_count(db))


# The relay's two statements, compiled once (common/prepared.py): they run for every event
# of every service.
_UNSENT = Prepared(
    select(outbox.c.id, outbox.c.subject, outbox.c.envelope, outbox.c.created_at)
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(BATCH)
    .with_for_update(skip_locked=True)
)
_MARK_SENT = Prepared(
    update(outbox)
    .where(outbox.c.id == any_(bindparam("ids", type_=ARRAY(Uuid))))
    .values(published_at=func.now())
)


class OutboxRelay:
    """Publishes unsent rows in order, marks each sent only after JetStream's ack.

    Replicas share the table: FOR UPDATE SKIP LOCKED hands each batch to one of them. The
    relay keeps one plain asyncpg connection of its own for it: a drain is one short
    transaction after another, for every event, and through SQLAlchemy's pool and
    execution each cost more CPU than publishing the event did.

    Woken (`woken`) by every commit of this process that staged events (`RELAY`), by a
    NOTIFY on `CHANNEL`, and by its connection's end, so that it opens another at once.
    The slow poll finds the rest: events a process staged and did not get to relay (it
    stopped), and whatever was committed while the relay was busy or away.
    """

    def __init__(
        self,
        service: str,
        dsn: str,
        js: JetStreamContext,
        names: BusNames,
        *,
        woken: bool = True,
        poll_seconds: float = 2.0,
        connected: Callable[[], bool] = lambda: True,
    ) -> None:
        self.service = service
        self._dsn = dsn
        self._js = js
        self._names = names
        self._woken = woken
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._connected = connected
        self._db: asyncpg.Connection | None = None

    async def run(self) -> None:
        woken = RELAY.wakes(self._wake) if self._woken else contextlib.nullcontext()
        try:
            with woken:
                await self._relay()
        finally:
            await asyncio.shield(self.close())

    async def _relay(self) -> None:
        while not cancel_requested():
            self._wake.clear()
            try:
                while await self.drain_once() == BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("outbox relay: %s; retrying", error)
                await asyncio.sleep(min(self._poll, 1.0))
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands
            # as the wake-up does, and the relay would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
        raise asyncio.CancelledError

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close(timeout=2)

    async def _connection(self) -> asyncpg.Connection:
        """Its own, opened again if the database dropped it."""
        if self._db is None or self._db.is_closed():
            db = await asyncpg.connect(self._dsn, timeout=5, command_timeout=30)
            if self._woken:
                db.add_termination_listener(lambda _db: self._wake.set())
                await db.add_listener(CHANNEL, lambda *_: self._wake.set())
            self._db = db
        return self._db

    async def drain_once(self) -> int:
        """Publish one batch; returns how many rows went out."""
        if not self._connected():
            # Fail fast rather than queue a request in the client's reconnect buffer and wait
            # out its timeout with the rows locked; the rows simply wait here until NATS is back.
            raise ConnectionError("NATS is not connected; events wait in the outbox")
        db = await self._connection()
        async with db.transaction():
            rows = await _UNSENT.fetch(db, {})
            sent, failure = await self._publish_in_order(rows)
            if sent:
                faults.crash_point("crash_after_publish")
                await _MARK_SENT.fetch(db, {"ids": [row["id"] for row in sent]})
        self._count(sent)
        if failure:
            raise failure
        return len(sent)

    async def _publish_in_order(
        self, rows: Sequence[Unsent]
    ) -> tuple[list[Unsent], Exception | None]:
        """Send the whole batch, then wait for the acks together: one round trip per batch,
        not one per event. The sends leave in seq order, so the stream keeps commit order.
        Rows JetStream acked are sent even if an earlier one failed; the rest wait."""
        waiting: list[tuple[Unsent, asyncio.Future[PubAck]]] = []
        failure: Exception | None = None
        for row in rows:
            try:
                waiting.append((row, await self._send(row)))
            except Exception as error:
                failure = error
                break
        sent: list[Unsent] = []
        for row, ack in waiting:
            try:
                async with asyncio.timeout(ACK_TIMEOUT):
                    await ack
            except asyncio.CancelledError:
                raise
            except Exception as error:  # TimeoutError cancels the future, freeing its slot
                failure = failure or error
                continue
            sent.append(row)
        return sent, failure

    async def _send(self, row: Unsent) -> asyncio.Future[PubAck]:
        faults.crash_point("crash_before_publish")
        subject = row["subject"]
        return await self._js.publish_async(
            self._names.subject(subject),
            row["envelope"].encode(),  # JSONB as its text: asyncpg's own codec
            stream=self._names.stream_for(subject),
            headers={"Nats-Msg-Id": str(row["id"])},
        )

    def _count(self, sent: list[Unsent]) -> None:
        now = datetime.now(UTC)
        for row in sent:
            metrics.PUBLISHED.labels(self.service, row["subject"]).inc()
            lag = (now - row["created_at"]).total_seconds()
            metrics.PUBLISH_LAG.labels(self.service).observe(max(lag, 0))
