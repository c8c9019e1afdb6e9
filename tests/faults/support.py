"""What the fault tests look at: each service's own tables, read as that service reads them."""

import time
from uuid import UUID

from sqlalchemy import text

from tests.support import eventually
from tests.system import System

PUBLISHERS = {"tickets", "orders", "expiration", "payments"}  # the services with an outbox


async def rows(system: System, service: str, sql: str, **params) -> list:
    async with system.apps[service].state.engine.connect() as db:
        return list((await db.execute(text(sql), params)).all())


async def pending_outbox(system: System, service: str) -> int:
    found = await rows(system, service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return found[0][0]


async def outboxes_drained(system: System, timeout: float) -> None:
    """Every event any service staged has been published and marked sent."""

    async def check() -> bool:
        for service in PUBLISHERS & set(system.apps):
            assert await pending_outbox(system, service) == 0, service
        return True

    await eventually(check, timeout=timeout, interval=0.2)


async def reached_every_service(system: System, orders: dict[str, str], timeout: float) -> None:
    """`orders` maps order id → ticket id. Tickets reserved the ticket for that order (once:
    version 1), expiration holds one timer and payments one replica for each order."""
    wanted = {UUID(o) for o in orders}

    async def check() -> bool:
        tickets = await rows(
            system,
            "tickets",
            "SELECT order_id, version, status FROM tickets WHERE id = ANY(:ids)",
            ids=[UUID(t) for t in orders.values()],
        )
        assert {r.order_id for r in tickets} == wanted, "tickets"
        assert {(r.version, r.status) for r in tickets} == {(1, "reserved")}
        timers = await rows(system, "expiration", "SELECT order_id FROM timers")
        assert wanted <= {r.order_id for r in timers}, "expiration"
        replicas = await rows(system, "payments", "SELECT id, version FROM orders")
        assert wanted <= {r.id for r in replicas}, "payments"
        return True

    await eventually(check, timeout=timeout, interval=0.2)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
