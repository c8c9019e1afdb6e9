"""NATS stopped for 10 s in the middle of a stream of orders, then started again.

Requests never touch the bus: they commit the order and its event to the outbox, and the
relay publishes once NATS is back (guarantee 2). So no request fails or waits, and every
order made in the dark still reaches tickets, expiration and payments, each exactly once.
"""

import asyncio
import time
from uuid import uuid4

import pytest

from tests.faults.support import (
    Stopwatch,
    outboxes_drained,
    pending_outbox,
    reached_every_service,
    rows,
)
from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket
from tests.support import eventually
from tests.system import running_system

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 10.0


async def test_orders_made_while_nats_is_down_reach_every_service_once_it_is_back(
    postgres, own_nats
):
    async with running_system(postgres, own_nats, expiration_window_seconds=900) as system:
        seller = await signed_up(system, "seller")
        buyer = await signed_up(system, "buyer")
        tickets = [(await listed_ticket(seller, title=f"Outage {n}"))["id"] for n in range(12)]

        async def replicated() -> bool:
            known = {str(r.id) for r in await rows(system, "orders", "SELECT id FROM tickets")}
            return set(tickets) <= known

        await eventually(replicated, timeout=10)
        placed: dict[str, str] = {}
        latencies: list[float] = []

        async def order(ticket_id: str) -> None:
            started = time.monotonic()
            response = await buyer.post("/api/orders", json={"ticketId": ticket_id})
            latencies.append(time.monotonic() - started)
            assert response.status_code == 201, response.text
            placed[response.json()["id"]] = ticket_id

        for ticket_id in tickets[:3]:
            await order(ticket_id)
        own_nats.server.stop()
        outage, in_the_dark = Stopwatch(), iter(tickets[3:9])
        while outage.elapsed < OUTAGE_SECONDS:
            if (ticket_id := next(in_the_dark, None)) is not None:
                await order(ticket_id)
            await asyncio.sleep(OUTAGE_SECONDS / 7)  # pacing the stream, not waiting for it
        assert not system.apps["orders"].state.bus.connected
        held = await pending_outbox(system, "orders")
        own_nats.server.start()
        for ticket_id in tickets[9:]:
            await order(ticket_id)

        assert len(placed) == 12
        assert held >= 6, "the orders made in the dark waited in the outbox"
        assert max(latencies) < 2.0, f"a request waited on the bus: {max(latencies):.2f}s"
        await reached_every_service(system, placed, timeout=30)
        await outboxes_drained(system, timeout=10)


async def test_a_sign_out_after_nats_restarted_still_reaches_every_service(postgres, own_nats):
    """Each process follows session.revoked with an ephemeral consumer, which a NATS restart
    loses; the client must recreate it, or sign-outs would stop reaching that process."""
    services = ["auth", "tickets", "orders", "payments"]
    async with running_system(postgres, own_nats, services=services) as system:
        buyer = await signed_up(system, "buyer")
        copy = system.client(cookies={"session": buyer.cookies["session"]})
        assert (await copy.get("/api/orders")).status_code == 200
        own_nats.server.stop()
        own_nats.server.start()

        async def reconnected() -> bool:
            return all(app.state.bus.connected for app in system.apps.values())

        await eventually(reconnected, timeout=30)
        assert (await buyer.post("/api/users/signout")).status_code == 200

        async def refused() -> bool:
            answers = [
                (await copy.request(method, path, json=body)).status_code
                for method, path, body in [
                    ("GET", "/api/orders", None),
                    ("POST", "/api/tickets", {"title": "After", "price": 5}),
                    ("POST", "/api/payments", {"token": "tok_visa", "orderId": str(uuid4())}),
                ]
            ]
            return answers == [401, 401, 401]

        await eventually(refused, timeout=30)
