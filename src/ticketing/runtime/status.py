"""`ticketing status`: what an operator asks first — is it up, is anything piling up?

A command that runs and exits, so unlike the supervisor it may load SQLAlchemy: a backlog
is counted by the query its service keeps for it (`outbox.pending_count`), not a copy."""

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NotRequired, TypedDict

import httpx
import nats
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.common.bus import outbox
from ticketing.common.bus.connection import BusNames
from ticketing.common.database_url import asyncpg_url
from ticketing.common.db import make_engine, unreachable
from ticketing.expiration import store as expiration_store
from ticketing.notifications import store as mail_store
from ticketing.notifications.domain import MailStatus

UNDEFINED_TABLE = "42P01"  # SQLSTATE: a database not migrated yet

Count = int | str  # a number, or why there is none
Counter = Callable[[AsyncConnection], Awaitable[int]]


class Process(TypedDict):
    label: str
    url: str
    pid: int | None


class State(TypedDict):
    """state.json, as `ticketing up` writes it (runtime/system.py)."""

    pid: int
    gateway: str
    nats_url: str
    bus_prefix: str
    smtp_url: NotRequired[str]  # where notifications sends mail (no credentials)
    databases: dict[str, str]  # service → its database, as the admin
    processes: list[Process]


# The JSON `status --json` prints; its keys are read by scripts, hence their spelling.
class Lag(TypedDict):
    pending: int
    awaitingAck: int
    redelivered: int


class NoConsumers(TypedDict):
    error: str


class Mails(TypedDict):
    waiting: Count  # not yet taken by the mail server: new, or to be tried again
    givenUp: Count  # refused for good, or not taken in days (notifications' sender)


class Found(TypedDict):
    gateway: str
    pid: int
    services: dict[str, str]
    consumers: dict[str, Lag] | NoConsumers
    outbox: dict[str, Count]
    pendingTimers: NotRequired[Count]
    mails: NotRequired[Mails]
    smtp: NotRequired[str]


async def _processes(state: State) -> dict[str, str]:
    found = {}
    async with httpx.AsyncClient(timeout=2) as client:
        for process in state["processes"]:
            try:
                reply = await client.get(f"{process['url']}/readyz")
            except httpx.HTTPError:
                found[process["label"]] = "down"
                continue
            ready = reply.status_code == 200
            found[process["label"]] = "ready" if ready else f"not ready {reply.json()}"
    return found


async def _consumers(state: State) -> dict[str, Lag]:
    names = BusNames(state.get("bus_prefix", ""))
    nc = await nats.connect(state["nats_url"], connect_timeout=2, max_reconnect_attempts=0)
    try:
        infos = await nc.jetstream().consumers_info(names.stream)
    finally:
        await nc.close()
    return {
        info.name: {
            "pending": info.num_pending or 0,
            "awaitingAck": info.num_ack_pending or 0,
            "redelivered": info.num_redelivered or 0,
        }
        for info in sorted(infos, key=lambda info: info.name)
    }


def _engine(url: str) -> AsyncEngine:
    """state.json holds the libpq form (`postgresql://`), which asyncpg and psql read."""
    return make_engine(asyncpg_url(url), connect_args={"timeout": 3, "command_timeout": 10})


async def _count(engine: AsyncEngine, counter: Counter) -> Count:
    try:
        async with engine.connect() as db:
            return await counter(db)
    except (OSError, SQLAlchemyError) as error:
        cause: BaseException = error
        while cause.__cause__ is not None:  # SQLAlchemy's error wraps the driver's
            cause = cause.__cause__
        if getattr(cause, "sqlstate", None) == UNDEFINED_TABLE:
            return "-"
        return f"{'unreachable' if unreachable(error) else 'failed'} ({type(cause).__name__})"


async def gather(data_dir: Path) -> Found | None:
    """What `status` reports, or None when no system runs from `data_dir` (no state, or its
    supervisor is gone: a run killed with -9 leaves its state.json behind)."""
    path = data_dir / "state.json"
    if not path.exists():
        return None
    state: State = json.loads(path.read_text())
    if not _alive(state["pid"]):
        return None
    consumers: dict[str, Lag] | NoConsumers
    try:
        consumers = await _consumers(state)
    except Exception as error:
        consumers = {"error": f"NATS unreachable: {error}"}
    found: Found = {
        "gateway": state["gateway"],
        "pid": state["pid"],
        "services": await _processes(state),
        "consumers": consumers,
        "outbox": {},
    }
    if "smtp_url" in state:
        found["smtp"] = state["smtp_url"]
    for service, url in state["databases"].items():
        engine = _engine(url)
        try:
            found["outbox"][service] = await _count(engine, outbox.pending_count)
            if service == "expiration":
                found["pendingTimers"] = await _count(engine, expiration_store.pending_count)
            if service == "notifications":
                found["mails"] = {
                    "waiting": await _count(engine, _mails_with(MailStatus.PENDING)),
                    "givenUp": await _count(engine, _mails_with(MailStatus.FAILED)),
                }
        finally:
            await engine.dispose()
    return found


def _mails_with(status: MailStatus) -> Counter:
    return lambda db: mail_store.count_with_status(db, status)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def render(found: Found) -> str:
    lines = [f"Ticketing at {found['gateway']} (supervisor pid {found['pid']})", "", "services:"]
    lines += [f"  {label:<14} {status}" for label, status in found["services"].items()]
    lines += ["", "consumers (pending / awaiting ack / redelivered):"]
    consumers = found["consumers"]
    if "error" in consumers:
        lines.append(f"  {consumers['error']}")
    else:
        for name, c in consumers.items():
            lines.append(
                f"  {name:<36} {c['pending']:>6} {c['awaitingAck']:>6} {c['redelivered']:>6}"
            )
    lines += ["", "outbox backlog:"]
    lines += [f"  {service:<14} {count}" for service, count in found["outbox"].items()]
    if "pendingTimers" in found:
        lines += ["", f"pending timers: {found['pendingTimers']}"]
    if "mails" in found:
        mails = found["mails"]
        lines += ["", f"mail waiting: {mails['waiting']}, given up: {mails['givenUp']}"]
    if "smtp" in found:
        lines += ["", f"mail goes to: {found['smtp']}"]
    return "\n".join(lines)


def main(data_dir: Path, *, as_json: bool = False) -> int:
    """0 when a system runs from `data_dir`, 1 when none does: scripts can ask."""
    found = asyncio.run(gather(data_dir))
    if as_json:
        print(json.dumps({"running": found is not None, **(found or {})}, indent=2))
    elif found is None:
        print(f"Ticketing is not running from {data_dir}; start it with `ticketing up`")
    else:
        print(render(found))
    return 0 if found is not None else 1
