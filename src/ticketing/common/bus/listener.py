"""Durable pull consumers that apply each event once (guarantee 3), in version order (4).

A handler is `async def on_x(db, event)`, `db` a connection inside the transaction; the
base owns that transaction and the ack:
commit → ack; VersionGap → roll back, nak with a growing delay; StaleEvent → ack;
database unreachable → hold the message and try again until it answers; anything else →
roll back, nak, and past the attempt limit log a dead letter and terminate the message
so the ones behind it flow.

Every outcome is counted in `ticketing.common.metrics` (events_applied_total,
events_dead_letter_total, ...), labelled by service and subject.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import String, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.common import correlation, faults, metrics
from ticketing.common.bus.connection import BusNames, cancel_requested
from ticketing.common.bus.permissions import durable_name
from ticketing.common.bus.tables import processed_events
from ticketing.common.bus.versions import StaleEvent, VersionGap
from ticketing.common.db import ConnectionLost, unreachable
from ticketing.common.events import Envelope, Event, Subject
from ticketing.common.prepared import Prepared

log = logging.getLogger(__name__)

# Each handler takes its own subject's event class (the listener validated it against that
# subject's schema), so the event parameter is typed by the handler, not here.
Handler = Callable[[AsyncConnection, Any], Awaitable[None]]
Subscriptions = Mapping[Subject, Handler]
Decoded = tuple[Envelope, Event]
Delivery = tuple[Msg, Decoded | None]  # a message, and what it held if it could be read
Begin = Callable[[], AbstractAsyncContextManager[AsyncConnection]]  # a transaction's connection

GAP_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
ERROR_DELAY = 0.5
DATABASE_WAIT = (0.2, 5.0)  # first and longest pause while the database is unreachable
BATCH = 64
FETCH_WAIT = 5.0  # how long one pull request waits on an idle stream before asking again
TOP_UP_WAIT = 0.05
WITHDRAW_WAIT = 1.0  # a stopping loop waits no longer for the server to drop its request


def _decode(msg: Msg) -> Decoded:
    """Raises for data that is not an envelope or breaks its subject's schema."""
    envelope = Envelope.from_bytes(msg.data)
    return envelope, envelope.event()


def _try_decode(msg: Msg) -> Decoded | None:
    try:
        return _decode(msg)
    except Exception:
        return None


def _delivery(msg: Msg) -> int:
    return msg.metadata.num_delivered if msg.metadata and msg.metadata.num_delivered else 1


# Every event's record, or a whole batch's, in one statement compiled once: run on the
# driver in the listener's transaction (common/prepared.py).
_RECORD = Prepared(
    insert(processed_events)
    .from_select(
        ["event_id", "subject"],
        select(
            func.unnest(bindparam("ids", type_=ARRAY(Uuid))), bindparam("subject", type_=String)
        ),
    )
    .on_conflict_do_nothing()
    .returning(processed_events.c.event_id)
)


async def _first_deliveries(
    db: AsyncConnection, subject: Subject, ids: Iterable[UUID]
) -> set[UUID]:
    """Record the events as processed; returns those not recorded before. Committed with
    their effects, so an event takes effect once however often it is delivered."""
    recorded = await _RECORD.fetch_in(db, {"ids": list(ids), "subject": str(subject)})
    return {row[0] for row in recorded}


async def _run(handler: Handler, db: AsyncConnection, envelope: Envelope, event: Event) -> None:
    """The handler under the correlation id of the request that caused the event, which
    the events it stages then carry on."""
    token = correlation.bind(envelope.correlation_id or str(envelope.id))
    try:
        await handler(db, event)
    finally:
        correlation.reset(token)


async def _withdraw(sub: JetStreamContext.PullSubscription) -> None:
    """Take back the pull request still waiting as the loop stops, before the connection
    closes. The server keeps one a moment past the close, and an event published in that
    moment goes to it and waits out ack_wait (30 s) unacked before another replica gets it.
    The server takes a connection's messages in order, so once a question sent after the
    unsubscription is answered, the request is gone."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(WITHDRAW_WAIT):
            await sub.unsubscribe()
            await sub.consumer_info()


class Kept:
    """The connection a subject's loop keeps while its events keep coming, for one
    transaction after another: taking one from the engine's pool and giving it back (with
    its reset) cost about a quarter of a one-event transaction's CPU, and SQLAlchemy's own
    BEGIN and COMMIT as much again. So the transaction is asyncpg's, on the driver under
    the kept connection, which SQLAlchemy is told is in autocommit: its statements then
    run in that transaction as they come, and the prepared ones (common/prepared.py) beside
    them. Given back when the stream goes quiet, and after any failure: the next
    transaction starts on one taken anew, as it always did; one the database dropped is
    discarded with the pool it came from, and a failure on it reported as the database's
    (unreachable, waited out)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._db: AsyncConnection | None = None
        self._driver: asyncpg.Connection | None = None

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        if self._db is None or self._driver is None:
            await self._take()
        db, driver = self._db, self._driver
        assert db is not None and driver is not None
        try:
            async with driver.transaction():
                yield db
        except BaseException as error:
            lost = driver.is_closed()
            await self.give_back()
            if lost and isinstance(error, Exception):
                raise ConnectionLost(str(error)) from error
            raise

    async def _take(self) -> None:
        for _ in range(2):
            db = await self._engine.connect()
            driver: asyncpg.Connection = (await db.get_raw_connection()).driver_connection
            if not driver.is_closed():
                break
            await self._discard(db)
        else:
            raise ConnectionLost("the database closed a connection it had just opened")
        await db.execution_options(isolation_level="AUTOCOMMIT")
        self._db, self._driver = db, driver

    async def give_back(self) -> None:
        db, driver, self._db, self._driver = self._db, self._driver, None, None
        if db is None:
            return
        if driver is not None and driver.is_closed():
            await self._discard(db)
            return
        with contextlib.suppress(Exception):
            await db.close()

    async def _discard(self, db: AsyncConnection) -> None:
        """A connection the database closed (a restart) means it closed every other opened
        before it: the engine's pool is renewed, as SQLAlchemy renews it when one of its
        own statements meets a closed connection (the failures here never pass through
        SQLAlchemy). Else the service's next readers would meet the dead ones in turn."""
        with contextlib.suppress(Exception):
            await db.invalidate()
            await db.close()
        with contextlib.suppress(Exception):
            await self._engine.dispose()


class Listener:
    """One pull loop per subject; every replica of a service binds the same durable."""

    def __init__(
        self,
        service: str,
        subscriptions: Subscriptions,
        engine: AsyncEngine,
        js: JetStreamContext,
        names: BusNames,
        *,
        max_attempts: int = 5,
        ack_wait: float = 30.0,
        parallel: int = 8,
    ) -> None:
        self._parallel = parallel
        self.service = service
        self._subscriptions = dict(subscriptions)
        self._engine = engine
        self._js = js
        self._names = names
        self._max_attempts = max_attempts
        self._ack_wait = ack_wait

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for subject in self._subscriptions:
                group.create_task(self._consume(subject))

    async def _consume(self, subject: Subject) -> None:
        config = ConsumerConfig(
            durable_name=durable_name(self.service, subject),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=1000,
            filter_subject=self._names.subject(subject),
        )
        sub = await self._bind(subject, config)
        kept = Kept(self._engine)
        try:
            while not cancel_requested():
                try:
                    messages = await self._next_batch(sub)
                except (NatsTimeout, TimeoutError):
                    await kept.give_back()  # quiet: the connection goes back to the pool
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("%s: fetch %s failed: %s", self.service, subject, error)
                    await kept.give_back()
                    await asyncio.sleep(1)
                    continue
                await self._handle_batch(subject, messages, kept)
        finally:
            await _withdraw(sub)
            await kept.give_back()
        raise asyncio.CancelledError

    @staticmethod
    async def _next_batch(sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Wait for one message, then take at once whatever else is waiting.

        Not fetch(BATCH): once it is waiting, it holds the messages that trickle in until
        BATCH have arrived or it times out, so a steady trickle of events would wait for
        the timeout.
        """
        first = await sub.fetch(1, timeout=FETCH_WAIT)
        waiting = first[-1].metadata.num_pending if first[-1].metadata else 0
        if not waiting:
            return first
        try:  # a replica may take them first: then this returns empty-handed, soon
            return first + await sub.fetch(min(BATCH - 1, waiting), timeout=TOP_UP_WAIT)
        except (NatsTimeout, TimeoutError):
            return first

    async def _bind(
        self, subject: Subject, config: ConsumerConfig
    ) -> JetStreamContext.PullSubscription:
        while not cancel_requested():
            try:
                return await self._js.pull_subscribe(
                    self._names.subject(subject),
                    durable=config.durable_name,
                    stream=self._names.stream,
                    config=config,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s: cannot bind %s yet: %s", self.service, subject, error)
                await asyncio.sleep(1)
        raise asyncio.CancelledError

    async def _handle_batch(self, subject: Subject, messages: list[Msg], kept: Kept) -> None:
        for msg in messages:
            metrics.DELIVERIES.labels(self.service, subject).inc()
            if _delivery(msg) > 1:
                metrics.REDELIVERIES.labels(self.service, subject).inc()
        decoded = [(msg, _try_decode(msg)) for msg in messages]
        together = [(msg, item) for msg, item in decoded if item is not None]
        fresh = len(together) == len(decoded) and all(_delivery(m) == 1 for m, _ in together)
        if len(together) > 1 and fresh and await self._apply_together(subject, together, kept):
            return
        await self._in_lanes(subject, decoded, kept)

    async def _apply_together(
        self, subject: Subject, batch: list[tuple[Msg, Decoded]], kept: Kept
    ) -> bool:
        """A batch of first deliveries in one transaction: one BEGIN, one processed-events
        insert and one COMMIT for all of them, where a burst (many orders expiring together)
        otherwise queues behind a transaction's round trips per event.

        All or nothing: if any event fails (a version gap, a stale event, a deadlock, the
        database), nothing of the batch is kept and it goes through the one-event-per-
        transaction lanes instead, which deal with each case. True if it was applied.
        """
        handler = self._subscriptions[subject]
        applied: set[UUID] = set()
        try:
            async with kept.begin() as db:
                first_time = await _first_deliveries(db, subject, (e.id for _, (e, _) in batch))
                for _, (envelope, event) in batch:
                    if envelope.id in first_time and envelope.id not in applied:
                        await _run(handler, db, envelope, event)
                        applied.add(envelope.id)
        except asyncio.CancelledError:
            for msg, _ in batch:  # hand them back now, not after ack_wait
                with contextlib.suppress(Exception):
                    await msg.nak()
            raise
        except Exception as error:
            log.debug(
                "%s: %s batch of %d goes one by one: %r", self.service, subject, len(batch), error
            )
            return False
        faults.crash_point("crash_before_ack")
        for msg, (envelope, _) in batch:
            await self._ack(subject, msg, applied=envelope.id in applied)
            applied.discard(envelope.id)  # a second copy in the batch is a duplicate
        return True

    async def _in_lanes(self, subject: Subject, decoded: list[Delivery], kept: Kept) -> None:
        """Different entities in parallel, each entity's events in delivery order.

        One at a time, a burst queues behind each transaction's round trips; all at once,
        one ticket's versions would race into needless version gaps. Grouping by entity
        gives the speed without the gaps. A lone lane (one event, the usual case when
        events trickle in) has the kept connection; lanes side by side take their own.
        """
        lanes: dict[str, list[Delivery]] = {}
        for msg, item in decoded:
            # poison gets a lane of its own; _handle reports it
            key = item[1].ordering_key if item else f"undecodable-{id(msg)}"
            lanes.setdefault(key, []).append((msg, item))
        gate = asyncio.Semaphore(self._parallel)
        begin: Begin = kept.begin if len(lanes) == 1 else self._engine.begin

        async def lane(batch: list[Delivery]) -> None:
            async with gate:
                for msg, item in batch:
                    await self._handle(subject, msg, item, begin)

        await asyncio.gather(*(lane(batch) for batch in lanes.values()))

    async def _handle(
        self, subject: Subject, msg: Msg, decoded: Decoded | None, begin: Begin
    ) -> None:
        """One event in a transaction of its own."""
        attempt = _delivery(msg)
        try:
            envelope, event = decoded or _decode(msg)
            applied = await self._apply_when_database_answers(subject, envelope, event, msg, begin)
        except VersionGap as gap:
            delay = GAP_DELAYS[min(attempt, len(GAP_DELAYS)) - 1]
            log.debug("%s: %s version gap (%s), retry in %ss", self.service, subject, gap, delay)
            metrics.NAKS.labels(self.service, subject, "version_gap").inc()
            await msg.nak(delay=delay)
            return
        except StaleEvent:
            await msg.ack()
            return
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()
            raise
        except Exception as error:
            await self._failed(subject, msg, attempt, error)
            return
        faults.crash_point("crash_before_ack")
        await self._ack(subject, msg, applied=applied)

    async def _apply_when_database_answers(
        self, subject: Subject, envelope: Envelope, event: Event, msg: Msg, begin: Begin
    ) -> bool:
        """A database that is down is not the message's fault: keep the message (telling
        JetStream it is in progress, so it is not handed elsewhere) and try again until the
        database answers, rather than spend its attempts and dead-letter a good event."""
        pause, longest = DATABASE_WAIT
        while True:
            try:
                return await self._apply(subject, envelope, event, begin)
            except Exception as error:
                if not unreachable(error):
                    raise
                log.warning("%s: %s waits for the database: %r", self.service, subject, error)
            with contextlib.suppress(Exception):
                await msg.in_progress()
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)

    async def _apply(
        self, subject: Subject, envelope: Envelope, event: Event, begin: Begin
    ) -> bool:
        """Effect and processed-event record commit together, or neither does. False for
        an event already processed."""
        async with begin() as db:
            if not await _first_deliveries(db, subject, [envelope.id]):
                return False
            await _run(self._subscriptions[subject], db, envelope, event)
            return True

    async def _ack(self, subject: Subject, msg: Msg, *, applied: bool) -> None:
        """After the commit: a message acked is never delivered again."""
        await msg.ack()
        (metrics.APPLIED if applied else metrics.DUPLICATES).labels(self.service, subject).inc()

    async def _failed(self, subject: Subject, msg: Msg, attempt: int, error: Exception) -> None:
        if attempt >= self._max_attempts:
            metrics.DEAD_LETTERS.labels(self.service, subject).inc()
            log.error(
                "dead letter: service=%s subject=%s attempt=%s error=%r data=%s",
                self.service,
                subject,
                attempt,
                error,
                msg.data[:2000],
            )
            await msg.term()
            return
        log.warning("%s: %s failed (attempt %s): %r", self.service, subject, attempt, error)
        metrics.NAKS.labels(self.service, subject, "error").inc()
        await msg.nak(delay=ERROR_DELAY * attempt)
