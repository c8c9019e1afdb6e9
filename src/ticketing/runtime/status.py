"""`ticketing status`: what an operator asks first — is it up, is anything piling up?"""

import asyncio
import json
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


async def report(data_dir: Path) -> str:
    path = data_dir / "state.json"
    if not path.exists():
        return f"Ticketing is not running from {data_dir}; start it with `ticketing up`"
    state = json.loads(path.read_text())
    lines = [f"Ticketing at {state['gateway']} (supervisor pid {state['pid']})", "", "services:"]
    lines += [f"  {label:<14} {status}" for label, status in await _processes(state)]
    lines += ["", "consumers (pending / awaiting ack / redelivered):"]
    try:
        for name, pending, unacked, redelivered in await _consumers(state):
            lines.append(f"  {name:<36} {pending:>6} {unacked:>6} {redelivered:>6}")
    except Exception as error:
        lines.append(f"  NATS unreachable: {error}")
    lines += ["", "outbox backlog:"]
    for service, url in state["databases"].items():
        lines.append(f"  {service:<14} {await _count(url, PENDING_OUTBOX)}")
    if "expiration" in state["databases"]:
        timers = await _count(state["databases"]["expiration"], PENDING_TIMERS)
        lines += ["", f"pending timers: {timers}"]
    return "\n".join(lines)


def main(data_dir: Path) -> None:
    print(asyncio.run(report(data_dir)))
