"""Every orders route over HTTP: its success and each of its failures."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from tests.orders.builders import make_ticket, order_row, orders_for_ticket, payment_for
from tests.support import eventually, person
from ticketing.common.events import Subject

NOT_AUTHORIZED = {"errors": [{"message": "Not authorized"}]}


async def order(client, who, ticket_id):
    return await client.post("/api/orders", json={"ticketId": str(ticket_id)}, headers=who.headers)


async def an_order(client, engine, who, **ticket) -> dict:
    listed = await make_ticket(engine, **ticket)
    response = await order(client, who, listed.id)
    assert response.status_code == 201, response.text
    return response.json()


async def pay(bus, client, who, order_id) -> None:
    """payments' side: a charge landed, so orders marks the order complete."""
    shown = await client.get(f"/api/orders/{order_id}", headers=who.headers)
    await bus.publish(payment_for(shown.json()))

    async def completed():
        response = await client.get(f"/api/orders/{order_id}", headers=who.headers)
        return response.json()["status"] == "complete"

    await eventually(completed)


# POST /api/orders


async def test_ordering_a_ticket_reserves_it_until_the_window_ends(client, engine, settings, buyer):
    ticket = await make_ticket(engine, title="Concert", price_cents=1050)
    before = datetime.now(UTC)
    response = await order(client, buyer, ticket.id)
    assert response.status_code == 201
    body = response.json()
    assert body["userId"] == str(buyer.id)
    assert (body["status"], body["version"]) == ("created", 0)
    assert body["ticket"] == {"id": str(ticket.id), "title": "Concert", "price": 10.5}
    expires_at = datetime.fromisoformat(body["expiresAt"])
    window = timedelta(seconds=settings.expiration_window_seconds)
    assert before + window <= expires_at <= datetime.now(UTC) + window
    assert set(body) == {"id", "userId", "status", "expiresAt", "version", "ticket"}


async def test_ordering_publishes_order_created_with_the_price_in_cents(client, engine, bus, buyer):
    ticket = await make_ticket(engine, price_cents=1050)
    body = (await order(client, buyer, ticket.id)).json()
    published = await bus.wait_for(Subject.ORDER_CREATED)
    assert published == [
        {
            "id": body["id"],
            "version": 0,
            "status": "created",
            "userId": str(buyer.id),
            "expiresAt": published[0]["expiresAt"],
            "ticket": {"id": str(ticket.id), "price": 1050, "title": ticket.title},
        }
    ]
    sent = datetime.fromisoformat(published[0]["expiresAt"])
    assert sent == datetime.fromisoformat(body["expiresAt"])


async def test_ordering_needs_a_signed_in_user(client, engine):
    ticket = await make_ticket(engine)
    response = await client.post("/api/orders", json={"ticketId": str(ticket.id)})
    assert response.status_code == 401
    assert response.json() == NOT_AUTHORIZED


@pytest.mark.parametrize("ticket_id", ["not-an-id", "", "1234", 42, None, ["x"]])
async def test_ordering_with_a_malformed_ticket_id_is_bad_input(client, buyer, ticket_id):
    response = await client.post("/api/orders", json={"ticketId": ticket_id}, headers=buyer.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "TicketId must be a valid id", "field": "ticketId"}]
    }


async def test_ordering_without_a_ticket_id_names_the_field(client, buyer):
    response = await client.post("/api/orders", json={}, headers=buyer.headers)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["ticketId"]


async def test_ordering_a_ticket_the_replica_does_not_know_is_not_found(client, buyer):
    response = await order(client, buyer, uuid4())
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Ticket not found"}]}


async def test_ordering_a_withdrawn_ticket_is_not_found(client, engine, buyer):
    ticket = await make_ticket(engine, withdrawn=True)
    response = await order(client, buyer, ticket.id)
    assert response.status_code == 404
    assert await orders_for_ticket(engine, ticket.id) == []


async def test_ordering_your_own_ticket_is_refused(client, engine, seller):
    ticket = await make_ticket(engine, user_id=seller.id)
    response = await order(client, seller, ticket.id)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "You cannot order your own ticket"}]}
    assert await orders_for_ticket(engine, ticket.id) == []


async def test_second_buyer_is_told_ticket_is_reserved(client, engine, settings, buyer):
    ticket = await make_ticket(engine)
    assert (await order(client, buyer, ticket.id)).status_code == 201
    response = await order(client, person(settings), ticket.id)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Ticket is already reserved"}]}
    assert len(await orders_for_ticket(engine, ticket.id)) == 1


async def test_a_paid_ticket_cannot_be_ordered_again(client, engine, settings, bus, buyer):
    placed = await an_order(client, engine, buyer)
    await pay(bus, client, buyer, placed["id"])
    response = await order(client, person(settings), placed["ticket"]["id"])
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Ticket is already reserved"}]}


async def test_a_cancelled_reservation_frees_the_ticket_for_someone_else(
    client, engine, settings, buyer
):
    placed = await an_order(client, engine, buyer)
    await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
    response = await order(client, person(settings), placed["ticket"]["id"])
    assert response.status_code == 201


# GET /api/orders


async def test_listing_shows_only_my_orders_newest_first_with_their_tickets(
    client, engine, settings, buyer
):
    first = await an_order(client, engine, buyer, title="First", price_cents=1000)
    second = await an_order(client, engine, buyer, title="Second", price_cents=2099)
    await an_order(client, engine, person(settings))
    response = await client.get("/api/orders", headers=buyer.headers)
    assert response.status_code == 200
    assert response.json() == [second, first]
    assert [o["ticket"]["price"] for o in response.json()] == [20.99, 10]
    assert "link" not in response.headers


async def test_listing_pages_with_a_cursor_in_the_link_header(client, engine, buyer):
    placed = [await an_order(client, engine, buyer) for _ in range(5)]
    newest_first = [o["id"] for o in reversed(placed)]
    seen, url = [], "/api/orders?limit=2"
    while url:
        response = await client.get(url, headers=buyer.headers)
        assert response.status_code == 200
        seen.append([o["id"] for o in response.json()])
        link = response.links.get("next")
        url = link["url"] if link else None
    assert seen == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]


async def test_listing_with_no_orders_is_an_empty_array(client, buyer):
    response = await client.get("/api/orders", headers=buyer.headers)
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize(
    ("query", "field"), [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=%%%", "cursor")]
)
async def test_listing_with_a_bad_limit_or_cursor_is_bad_input(client, buyer, query, field):
    response = await client.get(f"/api/orders?{query}", headers=buyer.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_listing_needs_a_signed_in_user(client):
    response = await client.get("/api/orders")
    assert (response.status_code, response.json()) == (401, NOT_AUTHORIZED)


# GET /api/orders/:id


async def test_showing_my_order(client, engine, buyer):
    placed = await an_order(client, engine, buyer)
    response = await client.get(f"/api/orders/{placed['id']}", headers=buyer.headers)
    assert (response.status_code, response.json()) == (200, placed)


async def test_showing_another_users_order_is_not_authorized(client, engine, settings, buyer):
    placed = await an_order(client, engine, buyer)
    response = await client.get(f"/api/orders/{placed['id']}", headers=person(settings).headers)
    assert (response.status_code, response.json()) == (401, NOT_AUTHORIZED)


async def test_showing_an_unknown_order_is_not_found(client, buyer):
    response = await client.get(f"/api/orders/{uuid4()}", headers=buyer.headers)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Order not found"}]}


async def test_showing_a_malformed_order_id_is_bad_input(client, buyer):
    response = await client.get("/api/orders/nope", headers=buyer.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "OrderId must be a valid id", "field": "orderId"}]
    }


async def test_showing_an_order_needs_a_signed_in_user(client, engine, buyer):
    placed = await an_order(client, engine, buyer)
    response = await client.get(f"/api/orders/{placed['id']}")
    assert (response.status_code, response.json()) == (401, NOT_AUTHORIZED)


# DELETE /api/orders/:id


async def test_cancelling_my_order_bumps_its_version_and_publishes_order_cancelled(
    client, engine, bus, buyer
):
    placed = await an_order(client, engine, buyer)
    response = await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
    assert (response.status_code, response.content) == (204, b"")
    shown = (await client.get(f"/api/orders/{placed['id']}", headers=buyer.headers)).json()
    assert (shown["status"], shown["version"]) == ("cancelled", 1)
    published = await bus.wait_for(Subject.ORDER_CANCELLED)
    assert published == [
        {"id": placed["id"], "version": 1, "ticket": {"id": shown["ticket"]["id"]}}
    ]


async def test_cancelling_twice_is_harmless_and_publishes_once(client, engine, bus, buyer):
    placed = await an_order(client, engine, buyer)
    for _ in range(2):
        response = await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
        assert response.status_code == 204
    await bus.wait_for(Subject.ORDER_CANCELLED)
    await bus.wait_for(Subject.ORDER_CREATED)  # the relay is past both
    assert len(await bus.published(Subject.ORDER_CANCELLED)) == 1
    assert (await order_row(engine, placed["id"])).version == 1


async def test_cancelling_a_paid_order_is_refused(client, engine, bus, buyer):
    placed = await an_order(client, engine, buyer)
    await pay(bus, client, buyer, placed["id"])
    response = await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Cannot cancel a completed order"}]}
    assert (await order_row(engine, placed["id"])).status == "complete"


async def test_cancelling_another_users_order_is_not_authorized(client, engine, settings, buyer):
    placed = await an_order(client, engine, buyer)
    response = await client.delete(f"/api/orders/{placed['id']}", headers=person(settings).headers)
    assert (response.status_code, response.json()) == (401, NOT_AUTHORIZED)
    assert (await order_row(engine, placed["id"])).status == "created"


async def test_cancelling_an_unknown_order_is_not_found(client, buyer):
    response = await client.delete(f"/api/orders/{uuid4()}", headers=buyer.headers)
    assert response.status_code == 404


async def test_cancelling_needs_a_signed_in_user(client, engine, buyer):
    placed = await an_order(client, engine, buyer)
    response = await client.delete(f"/api/orders/{placed['id']}")
    assert (response.status_code, response.json()) == (401, NOT_AUTHORIZED)
