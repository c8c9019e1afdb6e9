"""Flash sale: B buyers race for T tickets through the gateway, beside the same race as
plain asyncpg inserts under the same partial unique index on the same PostgreSQL.

Every buyer (its own session and connection) walks the tickets in its own random order:
POST /api/orders until one answers 201, moving on at each 400 "Ticket is already
reserved", and stops once the show is sold out (the site's "sold out" page: the T-th
201 has arrived). The raw race runs the same walk as INSERT ... ON CONFLICT DO NOTHING,
and the same buyers race once more, for other tickets, straight to the orders service.
"""

import asyncio
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.footprint import CpuByProcess, PeakSampler
from bench.loadgen import Conn, CpuMeter, Samples, percentile
from bench.setup import User, list_tickets, sign_up, wait_replicated
from bench.system import Running

ACTIVE = "status IN ('created', 'awaiting:payment', 'complete')"
RACE_SECONDS = 180.0  # a bound, never reached by a healthy run


@dataclass
class Race:
    samples: Samples = field(default_factory=Samples)
    wins: list[float] = field(default_factory=list)  # seconds since start, per 201
    errors: int = 0
    duration: float = 0.0

    def figures(self, tickets: int) -> dict[str, float]:
        attempts = len(self.samples.items)
        lat = self.samples.latencies_ms()
        return {
            "attempts": attempts,
            "attempts_per_s": attempts / self.duration,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "sell_out_s": max(self.wins) if len(self.wins) >= tickets else float("nan"),
            "won": len(self.wins),
            "errors": self.errors,
        }


async def _walk(order: list, attempt, race: Race, gun: "Gun") -> None:
    await gun.fired.wait()
    for ticket_id in order:
        if len(race.wins) >= gun.tickets or time.monotonic() > gun.deadline:
            return
        began = time.monotonic()
        status = await attempt(ticket_id)
        race.samples.add(began - gun.at, time.monotonic() - began, status)
        if status == 201:
            race.wins.append(time.monotonic() - gun.at)
            return
        if status != 400:
            race.errors += 1


@dataclass
class Gun:
    """Every walker waits on it, so all start within one loop iteration."""

    tickets: int
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    at: float = 0.0
    deadline: float = 0.0

    def fire(self) -> None:
        self.at = time.monotonic()
        self.deadline = self.at + RACE_SECONDS
        self.fired.set()


async def run_race(buyers: int, tickets: list, attempt_for, seed: int) -> Race:
    """`attempt_for(buyer_index)` gives that buyer's `attempt(ticket_id) -> status`."""
    rng = random.Random(seed)
    race, gun = Race(), Gun(len(tickets))
    walkers = [
        asyncio.create_task(_walk(rng.sample(tickets, len(tickets)), attempt_for(b), race, gun))
        for b in range(buyers)
    ]
    await asyncio.sleep(0)  # every walker is now waiting on the gun
    gun.fire()
    await asyncio.gather(*walkers)
    race.duration = time.monotonic() - gun.at
    return race


async def opened(buyers: list[User], bases: list[str]) -> list[Conn]:
    """Every buyer's connection, opened before the gun, as browsers on the page already have;
    spread over `bases` in turn (each replica, when going straight to the service)."""
    conns = [Conn(bases[i % len(bases)], u.cookie) for i, u in enumerate(buyers)]
    await asyncio.gather(*(c.request("GET", "/api/orders?limit=1") for c in conns))
    return conns


async def system_race(conns: list[Conn], tickets: list[str], seed: int) -> Race:
    def attempt_for(b: int):
        conn = conns[b]

        async def attempt(ticket_id: str) -> int:
            return (await conn.request("POST", "/api/orders", {"ticketId": ticket_id})).status

        return attempt

    return await run_race(len(conns), tickets, attempt_for, seed)


async def verify(running: Running, tickets: list[str]) -> dict[str, int]:
    """From the orders database itself: tickets with 2+ active orders, tickets sold."""
    pool = await running.db("orders")
    ids = [uuid.UUID(t) for t in tickets]
    oversold = await pool.fetchval(
        f"SELECT count(*) FROM (SELECT ticket_id FROM orders WHERE {ACTIVE} "
        "AND ticket_id = ANY($1) GROUP BY ticket_id HAVING count(*) > 1) AS twice",
        ids,
    )
    sold = await pool.fetchval(
        f"SELECT count(DISTINCT ticket_id) FROM orders WHERE {ACTIVE} AND ticket_id = ANY($1)",
        ids,
    )
    return {"oversold": oversold, "sold": sold}


def _cpu_per_attempt(parts: CpuByProcess, attempts: int) -> float:
    """Milliseconds of the orders processes' CPU (every replica's) per attempt."""
    return parts.seconds.get("orders", 0.0) / attempts * 1000 if attempts else math.nan


RAW_SCHEMA = f"""
DROP TABLE IF EXISTS race_orders, race_tickets;
CREATE TABLE race_tickets (id uuid PRIMARY KEY, version integer NOT NULL DEFAULT 0);
CREATE TABLE race_orders (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    ticket_id uuid NOT NULL REFERENCES race_tickets (id),
    status varchar(20) NOT NULL,
    expires_at timestamptz NOT NULL,
    version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('created', 'awaiting:payment', 'cancelled', 'complete'))
);
CREATE UNIQUE INDEX race_orders_active_ticket ON race_orders (ticket_id) WHERE {ACTIVE};
"""

RAW_INSERT = f"""
INSERT INTO race_orders (id, user_id, ticket_id, status, expires_at, version, created_at)
VALUES ($1, $2, $3, 'created', $4, 0, now())
ON CONFLICT (ticket_id) WHERE {ACTIVE} DO NOTHING
RETURNING id
"""


async def raw_race(running: Running, buyers: int, tickets: int, seed: int) -> Race:
    """The ceiling: the same walk, each attempt one asyncpg insert; a pool as big as the
    orders service's (SQLAlchemy pool_size 10 + max_overflow 10)."""
    admin = await asyncpg.connect(running.admin_dsn())
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'bench_raw'"):
            await admin.execute("CREATE DATABASE bench_raw")
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(running.admin_dsn("bench_raw"), min_size=20, max_size=20)
    try:
        await pool.execute(RAW_SCHEMA)
        ids = [uuid.uuid4() for _ in range(tickets)]
        await pool.executemany("INSERT INTO race_tickets (id) VALUES ($1)", [(i,) for i in ids])
        expires = datetime.now(UTC) + timedelta(minutes=15)
        users = [uuid.uuid4() for _ in range(buyers)]

        def attempt_for(b: int):
            async def attempt(ticket_id) -> int:
                async with pool.acquire() as conn:
                    got = await conn.fetchval(
                        RAW_INSERT, uuid.uuid4(), users[b], ticket_id, expires
                    )
                return 201 if got else 400

            return attempt

        race = await run_race(buyers, ids, attempt_for, seed)
        oversold = await pool.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM race_orders WHERE {ACTIVE} "
            "GROUP BY ticket_id HAVING count(*) > 1) AS twice"
        )
        if oversold:
            raise RuntimeError(f"the raw race oversold {oversold} tickets")
        return race
    finally:
        await pool.close()


@dataclass
class Measured:
    """One race through `bases` and what it cost: its figures, checked in the database."""

    figures: dict
    race: Race
    generator_cores: float
    cores: dict[str, float]
    peak_rss_mb: float
    peak_pss_mb: float


async def _measured_race(
    running: Running, bases: list[str], people: list[User], ids: list[str], seed: int
) -> Measured:
    """Both races are measured alike (the memory sampler's reads of every process's
    smaps cost the system a little CPU), so that their difference is the gateway's."""
    conns = await opened(people, bases)
    with CpuMeter() as cpu, CpuByProcess(running) as parts:
        async with PeakSampler(running) as memory:
            race = await system_race(conns, ids, seed)
    for conn in conns:
        conn.close()
    attempts = len(race.samples.items)
    figures = race.figures(len(ids)) | await verify(running, ids)
    figures["orders_cpu_ms"] = _cpu_per_attempt(parts, attempts)
    return Measured(figures, race, cpu.cores, parts.cores, memory.peak.rss_mb, memory.peak.pss_mb)


async def scenario(running: Running, *, tickets: int, buyers: int, seed: int) -> dict:
    """The raw race, then the race through the gateway and the one straight to orders,
    each on tickets of its own. Which of the two goes first alternates with the seed (the
    run): a fresh system's first race has been the slower of two, and were it always the
    gateway's, the gap between them would be taken for the gateway's cost."""
    seller, *people = await sign_up(running, buyers + 1)
    raw = await raw_race(running, buyers, tickets, seed)  # first, while the system is idle
    ways = {  # where each race's buyers go, and what its tickets are called
        "system": ([running.gateway], "Flash sale seat"),
        "direct": (running.urls_of("orders"), "Second show seat"),
    }
    order = ["system", "direct"] if seed % 2 else ["direct", "system"]
    measured: dict[str, Measured] = {}
    for way in order:
        bases, title = ways[way]
        ids = await list_tickets(running, seller, tickets, title=title)
        await wait_replicated(running, ids)
        measured[way] = await _measured_race(running, bases, people, ids, seed)
    sale = measured["system"]
    return {
        "system": sale.figures,
        "direct": measured["direct"].figures,
        "raw": raw.figures(tickets),
        "gateway_first": order[0] == "system",
        "timeline": [(s.started, s.latency * 1000, s.status) for s in sale.race.samples.items],
        "generator_cores": sale.generator_cores,
        "cpu_by_process": sale.cores,
        "rss_peak_mb": max(m.peak_rss_mb for m in measured.values()),
        "pss_peak_mb": max(m.peak_pss_mb for m in measured.values()),
        "users": people,
        "seller": seller,
    }
