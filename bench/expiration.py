"""Expiration accuracy: 500 reservations with a 2 s window; how late each is cancelled.

Run against a system started with EXPIRATION_WINDOW_SECONDS=2. The delay is measured
from the orders database alone: the order's expires_at, and created_at of the
order.cancelled row its cancelling transaction wrote to orders' outbox (now() of that
transaction, which is the one that sets the status to cancelled).
"""

import asyncio
import time
import uuid

from bench.footprint import CpuByProcess
from bench.loadgen import Conn, CpuMeter, percentile
from bench.setup import User, list_tickets, wait_replicated
from bench.system import Running

WINDOW_SECONDS = 2
CONNECTIONS = 10


async def reserve_all(running: Running, buyers: list[User], ticket_ids: list[str]) -> list[str]:
    """One order per ticket, straight to the orders service, buyers taking turns."""
    conns = [
        Conn(running.url_of("orders"), buyers[i % len(buyers)].cookie) for i in range(CONNECTIONS)
    ]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for ticket_id in ticket_ids:
        queue.put_nowait(ticket_id)
    orders: list[str] = []

    async def worker(conn: Conn) -> None:
        while not queue.empty():
            ticket_id = queue.get_nowait()
            reply = await conn.request("POST", "/api/orders", {"ticketId": ticket_id})
            if reply.status != 201:
                raise RuntimeError(f"order failed: {reply.status} {reply.body[:200]!r}")
            orders.append(reply.json()["id"])

    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for conn in conns:
            conn.close()
    return orders


async def lateness_ms(running: Running, order_ids: list[str], within: float = 60) -> list[float]:
    pool = await running.db("orders")
    ids = [uuid.UUID(o) for o in order_ids]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        cancelled = await pool.fetchval(
            "SELECT count(*) FROM orders WHERE status = 'cancelled' AND id = ANY($1)", ids
        )
        if cancelled == len(ids):
            break
        await asyncio.sleep(0.25)
    rows = await pool.fetch(
        "SELECT o.expires_at, x.created_at AS cancelled_at FROM orders o "
        "JOIN outbox x ON x.subject = 'order.cancelled' "
        "AND x.envelope -> 'data' ->> 'id' = o.id::text "
        "WHERE o.id = ANY($1)",
        ids,
    )
    if len(rows) < len(ids):
        raise RuntimeError(f"{len(rows)}/{len(ids)} orders were cancelled within {within:.0f}s")
    return [(r["cancelled_at"] - r["expires_at"]).total_seconds() * 1000 for r in rows]


async def stages_ms(running: Running, order_ids: list[str]) -> dict[str, float]:
    """Where the lateness goes: expiration's timer fired (its fired_at, the scheduler's
    clock) after fire_at, and the rest of the way to orders' cancellation."""
    pool, orders = await running.db("expiration"), await running.db("orders")
    ids = [uuid.UUID(o) for o in order_ids]
    timers = await pool.fetch(
        "SELECT order_id, fire_at, fired_at FROM timers WHERE order_id = ANY($1)", ids
    )
    cancels = await orders.fetch(
        "SELECT (envelope -> 'data' ->> 'id')::uuid AS id, created_at FROM outbox "
        "WHERE subject = 'order.cancelled' AND (envelope -> 'data' ->> 'id')::uuid = ANY($1)",
        ids,
    )
    cancelled = {r["id"]: r["created_at"] for r in cancels}
    fire = [(t["fired_at"] - t["fire_at"]).total_seconds() * 1000 for t in timers if t["fired_at"]]
    rest = [
        (cancelled[t["order_id"]] - t["fired_at"]).total_seconds() * 1000
        for t in timers
        if t["fired_at"] and t["order_id"] in cancelled
    ]
    return {
        "timer_fired_p50_ms": percentile(fire, 50),
        "timer_fired_p99_ms": percentile(fire, 99),
        "fired_to_cancelled_p50_ms": percentile(rest, 50),
        "fired_to_cancelled_p99_ms": percentile(rest, 99),
    }


async def scenario(running: Running, seller: User, buyers: list[User], *, orders: int) -> dict:
    ticket_ids = await list_tickets(running, seller, orders, title="Matinee")
    await wait_replicated(running, ticket_ids)
    with CpuMeter() as cpu, CpuByProcess(running) as parts:
        began = time.monotonic()
        order_ids = await reserve_all(running, buyers, ticket_ids)
        placed = time.monotonic() - began
        late = await lateness_ms(running, order_ids)
    return {
        "system": {
            "orders": len(late),
            "placing_s": placed,
            "p50_ms": percentile(late, 50),
            "p99_ms": percentile(late, 99),
            "max_ms": max(late),
            "min_ms": min(late),
        }
        | await stages_ms(running, order_ids),
        "generator_cores": cpu.cores,
        "cpu_by_process": parts.cores,
    }
