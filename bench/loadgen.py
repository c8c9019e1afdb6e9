"""The load generator's tools: a lean keep-alive HTTP/1.1 client, pacing, percentiles, CPU.

httpx spends several times more CPU per request than this client; on a 2-core machine
where the generator shares the cores with the system, every cycle it saves goes to the
servers under test. Only 127.0.0.1 is ever a target.
"""

import asyncio
import json
import math
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Conn:
    """One keep-alive connection, one request at a time, as one browser tab holds one."""

    def __init__(
        self, base_url: str, cookie: str | None = None, *, source: str | None = None
    ) -> None:
        """`source`: the loopback address to connect from (127.0.0.0/8 is all this machine),
        so one generator can be many clients to a server that tells them apart by address."""
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the load generator targets only this machine, not {base_url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookie = cookie
        self._local = (source, 0) if source else None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: object | None = None) -> Reply:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        if self.cookie:
            head.append(f"cookie: session={self.cookie}")
        if body is not None:
            head.append("content-type: application/json")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"content-length: {len(payload)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(
                    self.host, self.port, local_addr=self._local
                )
            try:
                self._writer.write(raw)
                return await self._read_reply()
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read_reply(self) -> Reply:
        reader = self._reader
        assert reader is not None
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        elif status in (204, 304):
            body = b""
        else:
            raise HttpError(f"reply without length (status {status})")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Reply(status, headers, body)

    async def _read_chunked(self) -> bytes:
        reader = self._reader
        assert reader is not None
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def session_cookie(reply: Reply) -> str:
    """The session token from a sign-up or sign-in reply's set-cookie header."""
    for part in reply.headers.get("set-cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name.endswith("session"):
            return value
    raise HttpError(f"no session cookie in reply {reply.status}: {reply.body[:200]!r}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Sample:
    started: float  # seconds since the phase began
    latency: float  # seconds
    status: int


@dataclass
class Samples:
    items: list[Sample] = field(default_factory=list)

    def add(self, started: float, latency: float, status: int) -> None:
        self.items.append(Sample(started, latency, status))

    def latencies_ms(self, status: int | None = None) -> list[float]:
        return [s.latency * 1000 for s in self.items if status is None or s.status == status]

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for s in self.items:
            counts[s.status] = counts.get(s.status, 0) + 1
        return counts


class CpuMeter:
    """The generator's own CPU (this process, all threads) over a phase, in cores used."""

    def __enter__(self) -> "CpuMeter":
        self._cpu = _cpu_seconds()
        self._wall = time.monotonic()
        return self

    def __exit__(self, *_exc) -> None:
        self.cpu = _cpu_seconds() - self._cpu
        self.wall = time.monotonic() - self._wall

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else math.nan


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def closed_loop(
    conns: list[Conn],
    call: Callable[[Conn], Awaitable[int]],
    *,
    seconds: float,
    max_requests: int,
) -> tuple[Samples, float]:
    """Each connection sends its next request as soon as the last answers, for `seconds`
    or `max_requests` in all. Returns the samples and the measured wall time."""
    samples = Samples()
    start = time.monotonic()
    deadline = start + seconds
    budget = [max_requests]

    async def worker(conn: Conn) -> None:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            began = time.monotonic()
            status = await call(conn)
            samples.add(began - start, time.monotonic() - began, status)

    await asyncio.gather(*(worker(c) for c in conns))
    return samples, time.monotonic() - start


async def paced(
    conns: list[Conn],
    call: Callable[[Conn, int], Awaitable[int]],
    *,
    rate: float,
    count: int,
    stop: asyncio.Event | None = None,
) -> tuple[Samples, float]:
    """Open loop: request i is due at start + i/rate, sent on the first free connection,
    until `count` are sent or `stop` is set. Latency counts from the due time, so a
    backlog shows up (no coordinated omission)."""
    samples = Samples()
    free: asyncio.Queue[Conn] = asyncio.Queue()
    for conn in conns:
        free.put_nowait(conn)
    start = time.monotonic()

    async def one(i: int, due: float) -> None:
        conn = await free.get()
        try:
            status = await call(conn, i)
        finally:
            free.put_nowait(conn)
        samples.add(due - start, time.monotonic() - due, status)

    tasks = []
    for i in range(count):
        if stop is not None and stop.is_set():
            break
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return samples, time.monotonic() - start
