"""Journeys across every service, over real NATS and PostgreSQL, as a user would make them."""

from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated, wait_for_ticket
from tests.support import eventually


async def test_list_order_pay_completes_the_order_and_sells_the_ticket(system):
    seller = await signed_up(system, "seller")
    buyer = await signed_up(system, "buyer")
    ticket = await listed_ticket(seller, title="Flows: the big show")
    order = await order_when_replicated(buyer, ticket["id"])
    assert order["status"] == "created"
    assert order["ticket"]["price"] == 20
    await wait_for_ticket(seller, ticket["id"], "reserved")

    async def pay():
        response = await buyer.post(
            "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
        )
        assert response.status_code == 201, response.text
        return response.json()

    payment = await eventually(pay, timeout=10)  # payments learns of the order by event
    assert payment["id"]

    async def complete():
        assert (await buyer.get(f"/api/orders/{order['id']}")).json()["status"] == "complete"
        return True

    await eventually(complete, timeout=10)
    await wait_for_ticket(seller, ticket["id"], "sold")
    listed = (await buyer.get("/api/tickets", params={"q": "Flows: the big show"})).json()
    assert listed == []
    again = await buyer.post("/api/payments", json={"token": "tok_visa", "orderId": order["id"]})
    assert again.status_code == 400


async def test_a_cancelled_order_puts_the_ticket_back_on_sale_for_someone_else(system):
    seller = await signed_up(system, "seller")
    first = await signed_up(system, "first")
    second = await signed_up(system, "second")
    ticket = await listed_ticket(seller)
    order = await order_when_replicated(first, ticket["id"])
    await wait_for_ticket(seller, ticket["id"], "reserved")

    refused = await seller.put(
        f"/api/tickets/{ticket['id']}", json={"title": "Changed", "price": 30}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "Cannot edit a reserved ticket"
    taken = await second.post("/api/orders", json={"ticketId": ticket["id"]})
    assert taken.status_code == 400
    assert taken.json()["errors"][0]["message"] == "Ticket is already reserved"

    assert (await first.delete(f"/api/orders/{order['id']}")).status_code == 204
    await wait_for_ticket(seller, ticket["id"], "available")
    second_order = await order_when_replicated(second, ticket["id"])
    assert second_order["status"] == "created"


async def test_business_counters_follow_a_reservation_and_an_oversell_attempt(system):
    from prometheus_client import REGISTRY

    def count(service: str, event: str) -> float:
        value = REGISTRY.get_sample_value(
            "business_events_total", {"service": service, "event": event}
        )
        return value or 0.0

    before = {e: count("orders", e) for e in ("reservation_created", "oversell_refused")}
    paid_before = count("payments", "payment_succeeded")
    seller = await signed_up(system, "seller")
    buyer = await signed_up(system, "buyer")
    rival = await signed_up(system, "rival")
    ticket = await listed_ticket(seller)
    order = await order_when_replicated(buyer, ticket["id"])
    assert (await rival.post("/api/orders", json={"ticketId": ticket["id"]})).status_code == 400

    async def pay():
        reply = await buyer.post(
            "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
        )
        assert reply.status_code == 201, reply.text
        return True

    await eventually(pay, timeout=10)
    assert count("orders", "reservation_created") == before["reservation_created"] + 1
    assert count("orders", "oversell_refused") == before["oversell_refused"] + 1
    assert count("payments", "payment_succeeded") == paid_before + 1
