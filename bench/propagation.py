"""Event propagation: ticket.created committed in tickets → the row in orders' replica,
at a steady 200 events/s; beside a raw JetStream publish → durable pull → ack round trip.

Two ways to commit the events: through the API (POST /api/tickets to the tickets
service: what a burst of listings costs, HTTP included, on the same cores as the relay),
and straight into the tickets database (the very rows and outbox envelope the service's
transaction writes, ticket and ticket.created in one transaction with the NOTIFY), which
leaves only the pipeline: relay → JetStream → orders' listener.

Measured with database timestamps, both from the one PostgreSQL clock: the start is the
outbox row's created_at in the tickets database (now() of the transaction that inserts
the ticket and its event, so a little before its commit); the end is processed_at of the
event in orders' processed_events (now() of the transaction that inserts the replica row,
a little before that commit). No polling adds load or resolution error.
"""

import asyncio
import contextlib
import time
import uuid

import asyncpg
import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from bench.footprint import CpuByProcess
from bench.loadgen import Conn, CpuMeter, paced, percentile
from bench.setup import User
from bench.system import Running
from ticketing.common.bus.outbox import CHANNEL
from ticketing.common.events import Envelope, TicketCreated

CONNECTIONS = 16
RAW_STREAM = "BENCH_RAW"


async def create_tickets_paced(
    running: Running, seller: User, rate: float, count: int
) -> tuple[list[str], float, dict[int, int]]:
    """POST /api/tickets straight to the tickets service, one every 1/rate seconds."""
    conns = [Conn(running.url_of("tickets"), seller.cookie) for _ in range(CONNECTIONS)]
    ids: list[str] = []

    async def create(conn: Conn, i: int) -> int:
        reply = await conn.request("POST", "/api/tickets", {"title": f"Gig {i}", "price": 25})
        if reply.status == 201:
            ids.append(reply.json()["id"])
        return reply.status

    try:
        samples, wall = await paced(conns, create, rate=rate, count=count)
    finally:
        for conn in conns:
            conn.close()
    return ids, len(samples.items) / wall, samples.statuses()


INSERT_TICKET = """
INSERT INTO tickets (id, title, price_cents, user_id, version, status, created_at)
VALUES ($1, $2, $3, $4, 0, 'available', now())
"""
INSERT_EVENT = "INSERT INTO outbox (id, subject, envelope) VALUES ($1, $2, $3::jsonb)"


async def commit_tickets_paced(
    running: Running, seller_id: uuid.UUID, rate: float, count: int
) -> tuple[list[str], float]:
    """What tickets' create_ticket transaction commits, without its HTTP request."""
    pool = await asyncpg.create_pool(running.dsn("tickets"), min_size=4, max_size=4)
    ids: list[str] = []

    async def commit(i: int) -> None:
        ticket_id = uuid.uuid4()
        envelope = Envelope.wrap(
            TicketCreated(id=ticket_id, version=0, title=f"Gig {i}", price=2500, user_id=seller_id)
        )
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT_TICKET, ticket_id, f"Gig {i}", 2500, seller_id)
            body = envelope.model_dump_json(by_alias=True)
            await conn.execute(INSERT_EVENT, envelope.id, str(envelope.subject), body)
            await conn.execute(f"NOTIFY {CHANNEL}")
        ids.append(str(ticket_id))

    try:
        start = time.monotonic()
        tasks = []
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(commit(i)))
        await asyncio.gather(*tasks)
        wall = time.monotonic() - start
    finally:
        await pool.close()
    return ids, len(ids) / wall


async def delays_ms(
    running: Running, ticket_ids: list[str], within: float = 60
) -> dict[str, list[float]]:
    """Commit of ticket.created → applied in orders, per event, from the two databases;
    and the same split where the relay took the event: `to_relay` ends at published_at
    (now() of the relay's transaction that read and sent it), `onward` is the rest (the
    publish, JetStream, orders' listener). A tail in `to_relay` is tickets' process or
    its wake-up; in `onward`, the bus or orders."""
    tickets_db, orders_db = await running.db("tickets"), await running.db("orders")
    rows = await tickets_db.fetch(
        "SELECT id, created_at FROM outbox WHERE subject = 'ticket.created' "
        "AND envelope -> 'data' ->> 'id' = ANY($1::text[])",
        ticket_ids,
    )
    committed = {row["id"]: row["created_at"] for row in rows}
    deadline = time.monotonic() + within
    while True:
        applied = await orders_db.fetch(
            "SELECT event_id, processed_at FROM processed_events WHERE event_id = ANY($1)",
            list(committed),
        )
        if len(applied) == len(committed) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    if len(applied) < len(ticket_ids):
        raise RuntimeError(f"orders applied {len(applied)}/{len(ticket_ids)} ticket.created")
    # Read once all are applied: the relay marks a row only after JetStream's ack, so an
    # event read as it was being sent would have no published_at yet.
    relayed = dict(
        await tickets_db.fetch(
            "SELECT id, published_at FROM outbox WHERE id = ANY($1)", list(committed)
        )
    )
    legs: dict[str, list[float]] = {"total": [], "to_relay": [], "onward": []}
    for event_id, done in applied:
        start, sent = committed[event_id], relayed[event_id]
        legs["total"].append((done - start).total_seconds() * 1000)
        if sent is not None:  # the relay's mark not yet committed: no split for this one
            legs["to_relay"].append((sent - start).total_seconds() * 1000)
            legs["onward"].append((done - sent).total_seconds() * 1000)
    return legs


async def raw_round_trips(nats_url: str, rate: float, count: int) -> list[float]:
    """The ceiling: publish (awaiting the stream's ack, as the outbox relay does) → a
    durable pull consumer fetches (batch 20, as the listeners do) → ack; ms per message."""
    publisher = await nats.connect(nats_url, name="bench-raw-publisher")
    consumer = await nats.connect(nats_url, name="bench-raw-consumer")
    js_pub, js_sub = publisher.jetstream(), consumer.jetstream()
    with contextlib.suppress(Exception):
        await js_pub.delete_stream(RAW_STREAM)
    await js_pub.add_stream(
        StreamConfig(
            name=RAW_STREAM,
            subjects=["bench-raw.>"],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
    )
    sub = await js_sub.pull_subscribe(
        "bench-raw.ping",
        durable="bench-raw",
        stream=RAW_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1000),
    )
    sent: dict[int, float] = {}
    trips: list[float] = []

    async def consume() -> None:
        while len(trips) < count:
            with contextlib.suppress(NatsTimeout, TimeoutError):
                for msg in await sub.fetch(batch=20, timeout=5):
                    await msg.ack()
                    trips.append((time.monotonic() - sent[int(msg.data)]) * 1000)

    reader = asyncio.create_task(consume())
    try:
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[i] = time.monotonic()
            await js_pub.publish(
                "bench-raw.ping", str(i).encode(), headers={"Nats-Msg-Id": uuid.uuid4().hex}
            )
        await asyncio.wait_for(reader, 30)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await js_pub.delete_stream(RAW_STREAM)
        await publisher.close()
        await consumer.close()
    return trips


def _stats(legs: dict[str, list[float]], rate: float) -> dict:
    delays = legs["total"]
    stats = {
        "events": len(delays),
        "rate": rate,
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "max_ms": max(delays),
    }
    for leg in ("to_relay", "onward"):
        if legs[leg]:
            stats[f"{leg}_p99_ms"] = percentile(legs[leg], 99)
    return stats


async def scenario(running: Running, seller: User, *, rate: float, count: int) -> dict:
    with CpuMeter() as cpu, CpuByProcess(running) as parts:
        ids, achieved, statuses = await create_tickets_paced(running, seller, rate, count)
    api = _stats(await delays_ms(running, ids), achieved) | {"statuses": statuses}
    await asyncio.sleep(1.0)  # let the system drain before the next burst
    direct_ids, direct_rate = await commit_tickets_paced(running, seller.id, rate, count)
    direct = _stats(await delays_ms(running, direct_ids), direct_rate)
    raw = await raw_round_trips(running.state["nats_url"], rate, count)
    return {
        "system": api,
        "direct": direct,
        "raw": {"p50_ms": percentile(raw, 50), "p99_ms": percentile(raw, 99)},
        "generator_cores": cpu.cores,
        "cpu_by_process": parts.cores,
    }
