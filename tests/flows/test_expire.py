"""A reservation left unpaid ends by itself and the ticket goes back on sale."""

import asyncio

import pytest

from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated, wait_for_ticket
from tests.support import eventually
from tests.system import running_system


@pytest.fixture
async def short_window(postgres, nats):
    async with running_system(postgres, nats, expiration_window_seconds=2) as running:
        yield running


async def test_an_unpaid_order_expires_and_the_ticket_is_for_sale_again(short_window):
    seller = await signed_up(short_window, "seller")
    buyer = await signed_up(short_window, "buyer")
    ticket = await listed_ticket(seller, title="Flows: expiring")
    order = await order_when_replicated(buyer, ticket["id"])
    await wait_for_ticket(seller, ticket["id"], "reserved")

    async def cancelled():
        assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "cancelled"
        return True

    await eventually(cancelled, timeout=10)
    await wait_for_ticket(seller, ticket["id"], "available")
    paid_late = await buyer.post(
        "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
    )
    assert paid_late.status_code == 400
    listed = (await buyer.get("/api/tickets", params={"q": "Flows: expiring"})).json()
    assert [t["id"] for t in listed] == [ticket["id"]]


async def test_a_paid_order_is_not_cancelled_when_its_timer_fires(short_window):
    seller = await signed_up(short_window, "seller")
    buyer = await signed_up(short_window, "buyer")
    ticket = await listed_ticket(seller)
    order = await order_when_replicated(buyer, ticket["id"])

    async def pay():
        response = await buyer.post(
            "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
        )
        assert response.status_code == 201, response.text
        return True

    await eventually(pay, timeout=5)

    async def complete():
        assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "complete"
        return True

    await eventually(complete, timeout=10)
    # Proving a negative needs the clock: past the 2 s window a late timer would have acted.
    await asyncio.sleep(3)
    assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "complete"
    await wait_for_ticket(seller, ticket["id"], "sold")
