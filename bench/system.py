"""Start `ticketing up` as a user would (a subprocess, a fresh data folder, a free port)."""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from ticketing.runtime.ports import free_port

TICKETING = Path(sys.executable).parent / "ticketing"
START_TIMEOUT = 90.0


@dataclass
class Running:
    """A running system and what state.json says about it."""

    process: asyncio.subprocess.Process
    data_dir: Path
    log_path: Path
    cold_start: float  # seconds from spawning `ticketing up` to the gateway's first 200
    state: dict = field(default_factory=dict)
    pools: dict[str, asyncpg.Pool] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.state["gateway"]

    def urls_of(self, service: str) -> list[str]:
        """Every replica's URL ('orders', or 'orders-1', 'orders-2' with --replicas)."""
        found = [
            process["url"]
            for process in self.state["processes"]
            if process["label"] == service or process["label"].startswith(service + "-")
        ]
        if not found:
            raise KeyError(service)
        return found

    def url_of(self, service: str) -> str:
        return self.urls_of(service)[0]

    def dsn(self, service: str) -> str:
        return self.state["databases"][service]

    def admin_dsn(self, database: str = "postgres") -> str:
        url = make_url(self.dsn("auth")).set(database=database)
        return url.render_as_string(hide_password=False)

    def jwt_private_key(self) -> str:
        """The key `ticketing up` made for auth, to mint a session for a bench user."""
        return (self.data_dir / "jwt_private_key.pem").read_text()

    async def db(self, service: str) -> asyncpg.Pool:
        """A small pool on a service's database, for checks and timestamps only."""
        if service not in self.pools:
            self.pools[service] = await asyncpg.create_pool(
                self.dsn(service), min_size=1, max_size=4
            )
        return self.pools[service]

    def postmaster_pid(self) -> int | None:
        pid_file = self.data_dir / "postgres" / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(pid_file.read_text().splitlines()[0])
        return None


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """Embedded NATS and PostgreSQL: drop any URLs the caller's shell points elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "NATS_URL", "BUS_PREFIX", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY")
    }
    env.update(extra)
    return env


async def start(
    log_path: Path,
    env: dict[str, str] | None = None,
    *,
    replicas: str | None = None,
    gateway: str | None = None,
) -> Running:
    """`replicas`, `gateway`: `ticketing up --replicas`, `--gateway`, or their defaults."""
    data_dir = Path(tempfile.mkdtemp(prefix="ticketing-bench-"))
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(TICKETING),
        "up",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *(["--replicas", replicas] if replicas else []),
        *(["--gateway", gateway] if gateway else []),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env=_child_env(env or {}),
        start_new_session=True,
        cwd=data_dir,  # no .env of the caller's is read
    )
    log.close()
    running = Running(process, data_dir, log_path, cold_start=0.0)
    try:
        running.cold_start = await _first_200(process, port, began) - began
        running.state = await _state(data_dir / "state.json", process)
    except BaseException:
        await stop(running)
        raise
    return running


async def _first_200(process: asyncio.subprocess.Process, port: int, began: float) -> float:
    url = f"http://127.0.0.1:{port}/api/users/currentuser"
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() - began < START_TIMEOUT:
            if process.returncode is not None:
                raise RuntimeError(f"ticketing up exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return time.monotonic()
            await asyncio.sleep(0.02)
    raise RuntimeError(f"ticketing up answered no 200 within {START_TIMEOUT:.0f}s")


def _read_json(path: Path) -> dict | None:
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        return json.loads(path.read_text())
    return None


async def _state(path: Path, process: asyncio.subprocess.Process) -> dict:
    for _ in range(200):
        if (state := _read_json(path)) is not None:
            return state
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError("ticketing up wrote no state.json")


async def stop(running: Running) -> None:
    """SIGTERM as Ctrl-C would; anything left after the grace period is killed by its pid."""
    for pool in running.pools.values():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pool.close(), 5)
    running.pools.clear()
    process = running.process
    postmaster = running.postmaster_pid()
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 40)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if postmaster is not None:
        await _end_postmaster(postmaster)
    shutil.rmtree(running.data_dir, ignore_errors=True)


async def _end_postmaster(pid: int) -> None:
    """Only if `ticketing up` could not stop it: the server it started for us, by its pid."""
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
