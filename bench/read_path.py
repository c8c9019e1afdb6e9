"""Read path: GET /api/tickets (signed in, 20 per page) straight to the tickets service,
beside a FastAPI endpoint doing one `SELECT 1` on the same server and PostgreSQL: on plain
asyncpg (the ceiling), and through SQLAlchemy as the services' reads go."""

import asyncio
import contextlib
import sys

import httpx

from bench.footprint import CpuByProcess
from bench.loadgen import Conn, CpuMeter, closed_loop, percentile
from bench.setup import User
from bench.system import Running
from ticketing.runtime.ports import free_port

CONNECTIONS = 10
WARMUP_SECONDS = 1.0
SECONDS = 5.0
MAX_REQUESTS = 50_000
TICKETS_PAGE = "/api/tickets?limit=20"


class Select1Server:
    """The ceiling app in its own process, as each service runs in its own."""

    def __init__(self, running: Running) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._argv = [
            sys.executable,
            "-m",
            "bench.select1_app",
            running.dsn("tickets"),
            str(self.port),
        ]
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> "Select1Server":
        self._process = await asyncio.create_subprocess_exec(*self._argv)
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/select1")).status_code == 200:
                        return self
                await asyncio.sleep(0.05)
        raise RuntimeError("the SELECT 1 server did not start")

    async def __aexit__(self, *_exc) -> None:
        assert self._process is not None
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


async def hammer(base_url: str, path: str, cookie: str | None) -> dict:
    """Closed loop on CONNECTIONS keep-alive connections; warm-up not counted."""
    conns = [Conn(base_url, cookie) for _ in range(CONNECTIONS)]

    async def get(conn: Conn) -> int:
        return (await conn.request("GET", path)).status

    try:
        await closed_loop(conns, get, seconds=WARMUP_SECONDS, max_requests=MAX_REQUESTS)
        with CpuMeter() as cpu:
            samples, wall = await closed_loop(
                conns, get, seconds=SECONDS, max_requests=MAX_REQUESTS
            )
    finally:
        for conn in conns:
            conn.close()
    latencies = samples.latencies_ms()
    ok = samples.statuses().get(200, 0)
    return {
        "req_per_s": ok / wall,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "non_200": len(samples.items) - ok,
        "generator_cores": cpu.cores,
    }


async def scenario(running: Running, reader: User, ceiling: Select1Server) -> dict:
    raw = await hammer(ceiling.url, "/select1_raw", reader.cookie)
    await asyncio.sleep(0.5)
    sqlalchemy = await hammer(ceiling.url, "/select1", reader.cookie)
    await asyncio.sleep(0.5)
    with CpuByProcess(running) as parts:
        system = await hammer(running.url_of("tickets"), TICKETS_PAGE, reader.cookie)
    return {
        "system": system,
        "raw": raw,
        "sqlalchemy": sqlalchemy,
        "generator_cores": system["generator_cores"],
        "cpu_by_process": parts.cores,
    }


async def page_is_full(running: Running, reader: User) -> bool:
    conn = Conn(running.url_of("tickets"), reader.cookie)
    try:
        reply = await conn.request("GET", TICKETS_PAGE)
    finally:
        conn.close()
    return reply.status == 200 and len(reply.json()) == 20
