"""PostgreSQL restarted in the middle of a stream of orders.

While it is down every service answers at once with 503 in the common error shape (no
hang, no 500, no trace); once it is back they serve again without a restart of their own
(the pool drops connections the restart broke; relay, listeners and scheduler retry),
and every event staged before or after the outage takes effect exactly once.
"""

import asyncio
import time
from uuid import uuid4

import pytest

from tests.faults.support import Stopwatch, outboxes_drained, reached_every_service, rows
from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket
from tests.support import eventually
from tests.system import running_system
from ticketing.runtime.postgres import find_bindir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_bindir() is None, reason="needs PostgreSQL's own pg_ctl to restart"),
]

DOWN_SECONDS = 4.0
DOWN = {"errors": [{"message": "Error connecting to database"}]}


async def test_services_answer_503_while_postgres_is_down_and_recover_by_themselves(
    own_postgres, nats
):
    postgres, server = own_postgres
    # Three attempts: a listener that blamed events for the outage would dead-letter them here.
    async with running_system(
        postgres, nats, expiration_window_seconds=900, listener_max_attempts=3
    ) as system:
        seller = await signed_up(system, "seller")
        buyer = await signed_up(system, "buyer")
        tickets = [(await listed_ticket(seller, title=f"Restart {n}"))["id"] for n in range(8)]

        async def replicated() -> bool:
            known = {str(r.id) for r in await rows(system, "orders", "SELECT id FROM tickets")}
            return set(tickets) <= known

        await eventually(replicated, timeout=10)
        placed: dict[str, str] = {}

        async def order(ticket_id: str):
            response = await buyer.post("/api/orders", json={"ticketId": ticket_id})
            if response.status_code == 201:
                placed[response.json()["id"]] = ticket_id
            return response

        for ticket_id in tickets[:4]:  # their events are still in flight when it stops
            assert (await order(ticket_id)).status_code == 201
        await asyncio.to_thread(server.stop)
        answers = await _while_down(system, buyer, order, tickets[4])
        await asyncio.to_thread(server.start)

        assert {status for status, _, _ in answers} == {503}, answers
        assert all(body == DOWN for _, body, _ in answers), answers
        assert max(took for _, _, took in answers) < 6.0, "a request hung on the database"

        async def serving_again():
            assert (await order(tickets[4])).status_code == 201
            return True

        await eventually(serving_again, timeout=15, interval=0.2)
        for ticket_id in tickets[5:]:
            assert (await order(ticket_id)).status_code == 201
        assert len(placed) == len(tickets)
        await reached_every_service(system, placed, timeout=30)
        await outboxes_drained(system, timeout=10)


async def _while_down(system, buyer, order, ticket_id: str) -> list[tuple[int, dict, float]]:
    """Every kind of call, again and again while the database is down: status, body, time."""
    anonymous = system.client()
    calls = [
        lambda: order(ticket_id),
        lambda: buyer.get("/api/orders"),
        lambda: buyer.get(f"/api/tickets/{ticket_id}"),
        lambda: buyer.post("/api/tickets", json={"title": "In the dark", "price": 5}),
        lambda: buyer.post("/api/payments", json={"token": "tok_visa", "orderId": str(uuid4())}),
        lambda: anonymous.post(
            "/api/users/signin", json={"email": "nobody@example.com", "password": "password123"}
        ),
    ]
    answers, outage = [], Stopwatch()
    while outage.elapsed < DOWN_SECONDS:
        for call in calls:
            started = time.monotonic()
            response = await call()
            answers.append((response.status_code, response.json(), time.monotonic() - started))
        await asyncio.sleep(0.2)
    return answers
