"""Arranging a scenario through the public API: users with sessions, tickets for sale."""

import asyncio
import time
import uuid
from dataclasses import dataclass

from bench.loadgen import Conn, session_cookie
from bench.system import Running

PASSWORD = "bench-password-1"


@dataclass
class User:
    email: str
    cookie: str
    id: uuid.UUID


async def sign_up(running: Running, count: int, *, concurrency: int = 8) -> list[User]:
    """Real accounts through the gateway: each user its own session cookie."""
    tag = uuid.uuid4().hex[:8]
    emails = [f"bench-{tag}-{i}@example.com" for i in range(count)]
    users: list[User] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(email: str) -> None:
        async with gate:
            conn = Conn(running.gateway)
            try:
                reply = await conn.request(
                    "POST", "/api/users/signup", {"email": email, "password": PASSWORD}
                )
            finally:
                conn.close()
            if reply.status != 201:
                raise RuntimeError(f"sign-up failed: {reply.status} {reply.body[:200]!r}")
            users.append(User(email, session_cookie(reply), uuid.UUID(reply.json()["id"])))

    await asyncio.gather(*(one(e) for e in emails))
    return users


async def list_tickets(
    running: Running, seller: User, count: int, *, concurrency: int = 8, title: str = "Show"
) -> list[str]:
    """POST /api/tickets straight to the tickets service; returns the new ids in order."""
    conns = [Conn(running.url_of("tickets"), seller.cookie) for _ in range(concurrency)]
    ids: list[str] = [""] * count
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(conn: Conn) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            reply = await conn.request(
                "POST", "/api/tickets", {"title": f"{title} {i}", "price": 10 + i % 90}
            )
            if reply.status != 201:
                raise RuntimeError(f"listing failed: {reply.status} {reply.body[:200]!r}")
            ids[i] = reply.json()["id"]

    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        for conn in conns:
            conn.close()
    return ids


async def wait_replicated(running: Running, ticket_ids: list[str], within: float = 60) -> None:
    """Until orders' replica holds every ticket (it learns them from ticket.created)."""
    pool = await running.db("orders")
    wanted = [uuid.UUID(t) for t in ticket_ids]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        have = await pool.fetchval("SELECT count(*) FROM tickets WHERE id = ANY($1)", wanted)
        if have == len(wanted):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"orders replicated {have}/{len(wanted)} tickets in {within:.0f}s")
