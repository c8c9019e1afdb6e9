"""A card that asks for 3-D Secure, across every service: 202, the sandbox's authentication
page, its signed webhook to payments, and the order complete."""

from collections.abc import AsyncIterator

import pytest

from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated, wait_for_ticket
from tests.support import eventually
from tests.system import System, running_system

SECRET = "whsec_flows_three_d_secure"


@pytest.fixture
async def system(postgres, nats) -> AsyncIterator[System]:
    """As `ticketing up` runs it: the sandbox signs its webhooks with the secret payments
    checks, and posts them to payments' address, here reached in process."""
    async with running_system(
        postgres,
        nats,
        expiration_window_seconds=900,
        stripe_webhook_secret=SECRET,
        sandbox_webhook_url="http://ticketing/api/payments/webhook",
    ) as running:
        webhooks = running.apps["payments"].state.provider.webhooks
        webhooks.transport = running.transport
        webhooks.first_delay = 0.05
        yield running


async def test_a_card_needing_authentication_completes_the_order_once_authenticated(system):
    seller = await signed_up(system, "seller")
    buyer = await signed_up(system, "buyer")
    ticket = await listed_ticket(seller, title="Flows: authenticated")
    order = await order_when_replicated(buyer, ticket["id"])

    async def pay():
        body = {"token": "tok_threeDSecure2Required", "orderId": order["id"]}
        response = await buyer.post("/api/payments", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    action = await eventually(pay, timeout=10)  # payments learns of the order by event
    assert action["status"] == "requires_action"
    intent_id = action["clientSecret"].split("_secret_")[0]
    assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "created"

    page = f"/api/payments/sandbox/{intent_id}"
    assert "Complete authentication" in (await buyer.get(page)).text
    back = f"/orders/{order['id']}"
    done = await buyer.post(page, params={"return": back}, data={"action": "complete"})
    assert (done.status_code, done.headers["location"]) == (303, back)

    async def complete():
        assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "complete"
        return True

    await eventually(complete, timeout=10)
    await wait_for_ticket(seller, ticket["id"], "sold")
    again = await buyer.post("/api/payments", json={"token": "tok_visa", "orderId": order["id"]})
    assert again.status_code == 400
