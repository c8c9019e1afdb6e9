"""`ticketing status`: what an operator asks first — is it up, is anything piling up?"""

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import httpx
import nats

from ticketing.common.bus.connection import BusNames

PENDING_OUTBOX = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
PENDING_TIMERS = "SELECT count(*) FROM timers WHERE fired_at IS NULL"


async def _processes(state: dict) -> list[tuple[str, str]]:
    rows = []
    async with httpx.AsyncClient(timeout=2) as client:
        for process in state["processes"]:
            try:
                reply = await client.get(f"{process['url']}/readyz")
                rows.append(
                    (
                        process["label"],
                        "ready" if reply.status_code == 200 else f"not ready {reply.json()}",
                    )
                )
            except httpx.HTTPError:
                rows.append((process["label"], "down"))
    return rows


async def _consumers(state: dict) -> list[tuple[str, int, int, int]]:
    names = BusNames(state.get("bus_prefix", ""))
    nc = await nats.connect(state["nats_url"], connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        rows = []
        for info in await js.consumers_info(names.stream):
            rows.append((info.name, info.num_pending, info.num_ack_pending, info.num_redelivered))
        return sorted(rows)
    finally:
        await nc.close()


async def _count(url: str, sql: str) -> int | str:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        return f"unreachable ({error.__class__.__name__})"
    try:
        return await conn.fetchval(sql)
    except asyncpg.UndefinedTableError:
        return "-"
    finally:
        await conn.close()


async def gather(data_dir: Path) -> dict | None:
    """What `status` reports, or None when no system runs from `data_dir` (no state, or its
    supervisor is gone: a run killed with -9 leaves its state.json behind)."""
    path = data_dir / "state.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if not _alive(state["pid"]):
        return None
    found: dict = {"gateway": state["gateway"], "pid": state["pid"]}
    found["services"] = {label: status for label, status in await _processes(state)}
    try:
        found["consumers"] = {
            name: {"pending": pending, "awaitingAck": unacked, "redelivered": redelivered}
            for name, pending, unacked, redelivered in await _consumers(state)
        }
    except Exception as error:
        found["consumers"] = {"error": f"NATS unreachable: {error}"}
    found["outbox"] = {
        service: await _count(url, PENDING_OUTBOX) for service, url in state["databases"].items()
    }
    if "expiration" in state["databases"]:
        found["pendingTimers"] = await _count(state["databases"]["expiration"], PENDING_TIMERS)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def render(found: dict) -> str:
    lines = [f"Ticketing at {found['gateway']} (supervisor pid {found['pid']})", "", "services:"]
    lines += [f"  {label:<14} {status}" for label, status in found["services"].items()]
    lines += ["", "consumers (pending / awaiting ack / redelivered):"]
    if "error" in found["consumers"]:
        lines.append(f"  {found['consumers']['error']}")
    else:
        for name, c in found["consumers"].items():
            lines.append(
                f"  {name:<36} {c['pending']:>6} {c['awaitingAck']:>6} {c['redelivered']:>6}"
            )
    lines += ["", "outbox backlog:"]
    lines += [f"  {service:<14} {count}" for service, count in found["outbox"].items()]
    if "pendingTimers" in found:
        lines += ["", f"pending timers: {found['pendingTimers']}"]
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
