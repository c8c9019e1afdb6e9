"""Sign-in storm: 50 concurrent sign-ins from 50 clients, and what they do to reads
meanwhile; beside the password hashes per second this machine can do with auth's own
parameters (Argon2id).

The clients connect from 50 loopback addresses: auth limits sign-ins per address and counts
an attempt before it checks the password, so 50 at once from one address would be a guess
storm to it, not 50 people signing in.

Reads are paced (open loop) so their latency is comparable calm and in the storm:
GET /api/tickets straight to the tickets service (the figure the issue asks for: the
storm can only reach it through shared CPU), and GET /api/users/currentuser straight to
auth (the process that hashes: if hashing blocked its event loop, this would show it).
"""

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

from bench.footprint import CpuByProcess
from bench.loadgen import Conn, CpuMeter, Samples, paced, percentile
from bench.setup import PASSWORD, User
from bench.system import Running
from ticketing.auth import passwords

READ_RATE = 100.0  # GET /api/tickets per second
AUTH_READ_RATE = 50.0  # GET /api/users/currentuser per second
CALM_SECONDS = 3.0
CONNECTIONS = 8
HASH_SECONDS = 2.0


async def _reads(
    running: Running, reader: User, stop: asyncio.Event, seconds: float
) -> tuple[Samples, Samples]:
    tickets = [Conn(running.url_of("tickets"), reader.cookie) for _ in range(CONNECTIONS)]
    auth = [Conn(running.url_of("auth"), reader.cookie) for _ in range(CONNECTIONS // 2)]

    def getter(path: str):
        async def get(conn: Conn, _i: int) -> int:
            return (await conn.request("GET", path)).status

        return get

    try:
        (ticket_reads, _), (auth_reads, _) = await asyncio.gather(
            paced(
                tickets,
                getter("/api/tickets?limit=20"),
                rate=READ_RATE,
                count=int(READ_RATE * seconds),
                stop=stop,
            ),
            paced(
                auth,
                getter("/api/users/currentuser"),
                rate=AUTH_READ_RATE,
                count=int(AUTH_READ_RATE * seconds),
                stop=stop,
            ),
        )
    finally:
        for conn in tickets + auth:
            conn.close()
    return ticket_reads, auth_reads


async def _storm(running: Running, users: list[User]) -> tuple[float, float, dict[int, int]]:
    """Returns when the storm broke (monotonic), how long it took, and the statuses."""
    conns = [Conn(running.gateway, source=_client_address(i)) for i in range(len(users))]
    await asyncio.gather(*(c.request("GET", "/api/users/currentuser") for c in conns))
    began = time.monotonic()
    replies = await asyncio.gather(
        *(
            c.request("POST", "/api/users/signin", {"email": u.email, "password": PASSWORD})
            for c, u in zip(conns, users, strict=True)
        )
    )
    took = time.monotonic() - began
    for conn in conns:
        conn.close()
    statuses: dict[int, int] = {}
    for reply in replies:
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
    return began, took, statuses


def _client_address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def _within(samples: Samples, start: float, end: float) -> list[float]:
    return [s.latency * 1000 for s in samples.items if start <= s.started <= end]


def hashes_per_second(seconds: float = HASH_SECONDS) -> float:
    """Hashes with auth's own parameters on every core at once, as auth's threads would."""
    stored = passwords.hash_password_sync(PASSWORD)
    deadline = time.monotonic() + seconds

    def worker() -> int:
        done = 0
        while time.monotonic() < deadline:
            passwords.verify_password_sync(PASSWORD, stored)
            done += 1
        return done

    cores = os.cpu_count() or 1
    began = time.monotonic()
    with ThreadPoolExecutor(cores) as pool:
        total = sum(pool.map(lambda _: worker(), range(cores)))
    return total / (time.monotonic() - began)


async def scenario(running: Running, reader: User, users: list[User]) -> dict:
    calm_tickets, calm_auth = await _reads(running, reader, asyncio.Event(), CALM_SECONDS)
    stop = asyncio.Event()
    with CpuMeter() as cpu, CpuByProcess(running) as parts:
        reads_began = time.monotonic()
        reads = asyncio.create_task(_reads(running, reader, stop, 60.0))
        await asyncio.sleep(0.3)  # reads are flowing before the storm breaks
        began, took, statuses = await _storm(running, users)
        stop.set()
        storm_tickets, storm_auth = await reads
    if statuses.get(200, 0) != len(users):
        raise RuntimeError(f"sign-ins answered {statuses}")
    window = (began - reads_began, began - reads_began + took)
    calm_p99 = percentile(calm_tickets.latencies_ms(), 99)
    storm_p99 = percentile(_within(storm_tickets, *window), 99)
    hashes = await asyncio.to_thread(hashes_per_second)
    return {
        "system": {
            "signins_per_s": len(users) / took,
            "storm_s": took,
            "reads_calm_p99_ms": calm_p99,
            "reads_storm_p99_ms": storm_p99,
            "reads_p99_ratio": storm_p99 / calm_p99,
            "auth_calm_p99_ms": percentile(calm_auth.latencies_ms(), 99),
            "auth_storm_p99_ms": percentile(_within(storm_auth, *window), 99),
            "reads_in_storm": len(_within(storm_tickets, *window)),
        },
        "raw": {"hashes_per_s": hashes},
        "generator_cores": cpu.cores,
        "cpu_by_process": parts.cores,
    }
