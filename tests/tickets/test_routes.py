"""POST, GET one, PUT and DELETE /api/tickets over HTTP: each success and each failure."""

from uuid import uuid4

import pytest

from tests.tickets.builders import load, make_ticket, staged_events
from ticketing.tickets.domain import Status

URL = "/api/tickets"


async def post(client, person, **body):
    return await client.post(URL, json=body, headers=person.headers)


async def listed(client, person, title="Hamilton", price=20):
    response = await post(client, person, title=title, price=price)
    assert response.status_code == 201, response.text
    return response.json()


# POST /api/tickets


async def test_a_signed_in_user_lists_a_ticket(client, seller):
    response = await post(client, seller, title="Hamilton", price=20)
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "Hamilton",
        "price": 20,
        "userId": str(seller.id),
        "version": 0,
        "orderId": None,
        "status": "available",
    }
    assert (await client.get(f"{URL}/{body['id']}")).json() == body


async def test_listing_stages_ticket_created_with_the_price_in_cents(client, engine, seller):
    ticket = await listed(client, seller, price="20.50")
    [event] = await staged_events(engine)
    assert event["subject"] == "ticket.created"
    assert event["data"] == {
        "id": ticket["id"],
        "version": 0,
        "title": "Hamilton",
        "price": 2050,
        "userId": str(seller.id),
    }


async def test_listing_needs_a_signed_in_user(client, engine):
    response = await client.post(URL, json={"title": "Hamilton", "price": 20})
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}
    assert await staged_events(engine) == []


@pytest.mark.parametrize(
    ("price", "shown"), [("20.00", 20), (10.5, 10.5), (10, 10), ("0.01", 0.01), (1000000, 1000000)]
)
async def test_a_price_with_up_to_two_decimals_is_accepted(client, seller, price, shown):
    assert (await listed(client, seller, price=price))["price"] == shown


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (1.234, "Price must have at most 2 decimals"),
        (0, "Price must be greater than 0"),
        (-5, "Price must be greater than 0"),
        ("abc", "Price must be a number"),
        (1e12, "Price must be at most 1000000"),
        (True, "Price must be a number"),
        (None, "Price is required"),
    ],
)
async def test_a_bad_price_is_refused(client, engine, seller, price, message):
    response = await post(client, seller, title="Hamilton", price=price)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "field": "price"}]}
    assert await staged_events(engine) == []


async def test_a_missing_price_is_required(client, seller):
    response = await post(client, seller, title="Hamilton")
    assert response.json() == {"errors": [{"message": "Price is required", "field": "price"}]}


async def test_the_title_is_trimmed(client, seller):
    assert (await listed(client, seller, title="  Hamilton \n"))["title"] == "Hamilton"


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "Title is required"),
        ("    ", "Title is required"),
        (None, "Title is required"),
        ("x" * 201, "Title must be at most 200 characters"),
        (12, "Title must be text"),
    ],
)
async def test_a_bad_title_is_refused(client, seller, title, message):
    response = await post(client, seller, title=title, price=20)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "field": "title"}]}


async def test_a_200_character_title_is_accepted(client, seller):
    assert (await listed(client, seller, title="x" * 200))["title"] == "x" * 200


async def test_an_empty_body_names_both_fields(client, seller):
    response = await client.post(URL, json={}, headers=seller.headers)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "Title is required", "field": "title"},
        {"message": "Price is required", "field": "price"},
    ]


# GET /api/tickets/:id


async def test_anyone_sees_a_ticket(client, engine):
    ticket = await make_ticket(engine, price_cents=1050)
    response = await client.get(f"{URL}/{ticket.id}")
    assert response.status_code == 200
    assert response.json()["price"] == 10.5


@pytest.mark.parametrize("ticket_id", [str(uuid4()), "not-an-id", "123"])
async def test_an_unknown_or_malformed_id_is_not_found(client, ticket_id):
    response = await client.get(f"{URL}/{ticket_id}")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Ticket not found"}]}


async def test_a_withdrawn_ticket_is_not_found(client, engine):
    ticket = await make_ticket(engine, status=Status.WITHDRAWN)
    assert (await client.get(f"{URL}/{ticket.id}")).status_code == 404


async def test_a_reserved_ticket_is_shown_with_its_order(client, engine):
    ticket = await make_ticket(engine, status=Status.RESERVED)
    body = (await client.get(f"{URL}/{ticket.id}")).json()
    assert (body["status"], body["orderId"]) == ("reserved", str(ticket.order_id))


# PUT /api/tickets/:id


async def put(client, person, ticket_id, **body):
    return await client.put(f"{URL}/{ticket_id}", json=body, headers=person.headers)


async def test_the_owner_edits_title_and_price_and_the_version_grows(client, engine, seller):
    ticket = await listed(client, seller)
    response = await put(client, seller, ticket["id"], title=" Cats ", price="15.25")
    assert response.status_code == 200
    assert response.json() == {**ticket, "title": "Cats", "price": 15.25, "version": 1}
    _, updated = await staged_events(engine)
    assert updated["subject"] == "ticket.updated"
    assert updated["data"] == {
        "id": ticket["id"],
        "version": 1,
        "title": "Cats",
        "price": 1525,
        "userId": str(seller.id),
        "orderId": None,
        "status": "available",
        "sale": 0,
    }


async def test_each_edit_adds_one_to_the_version(client, engine, seller):
    ticket = await listed(client, seller)
    for price in (21, 22, 23):
        await put(client, seller, ticket["id"], title="Hamilton", price=price)
    stored = await load(engine, ticket["id"])
    assert (stored.version, stored.price_cents) == (3, 2300)
    versions = [e["data"]["version"] for e in await staged_events(engine)]
    assert versions == [0, 1, 2, 3]


async def test_someone_else_cannot_edit(client, engine, seller, buyer):
    ticket = await listed(client, seller)
    response = await put(client, buyer, ticket["id"], title="Mine now", price=1)
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}
    assert (await load(engine, ticket["id"])).title == "Hamilton"
    assert len(await staged_events(engine)) == 1


async def test_editing_needs_a_signed_in_user(client, engine, seller):
    ticket = await listed(client, seller)
    response = await client.put(f"{URL}/{ticket['id']}", json={"title": "x", "price": 1})
    assert response.status_code == 401


@pytest.mark.parametrize("ticket_id", [str(uuid4()), "nope"])
async def test_editing_an_unknown_ticket_is_not_found(client, seller, ticket_id):
    response = await put(client, seller, ticket_id, title="Cats", price=10)
    assert response.status_code == 404


async def test_a_reserved_ticket_cannot_be_edited(client, engine, seller):
    ticket = await make_ticket(engine, user_id=seller.id, status=Status.RESERVED)
    response = await put(client, seller, ticket.id, title="Cats", price=10)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Cannot edit a reserved ticket"}]}
    stored = await load(engine, ticket.id)
    assert (stored.title, stored.version) == (ticket.title, 0)
    assert await staged_events(engine) == []


@pytest.mark.parametrize("status", [Status.SOLD, Status.WITHDRAWN])
async def test_a_sold_or_withdrawn_ticket_cannot_be_edited(client, engine, seller, status):
    ticket = await make_ticket(engine, user_id=seller.id, status=status)
    response = await put(client, seller, ticket.id, title="Cats", price=10)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": f"Cannot edit a {status} ticket"}]}


async def test_an_edit_with_a_bad_price_changes_nothing(client, engine, seller):
    ticket = await listed(client, seller)
    response = await put(client, seller, ticket["id"], title="Cats", price=0)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "price"
    assert (await load(engine, ticket["id"])).version == 0


async def test_an_edit_needs_both_title_and_price(client, seller):
    ticket = await listed(client, seller)
    response = await put(client, seller, ticket["id"], title="Cats")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": "Price is required", "field": "price"}]


# DELETE /api/tickets/:id


async def delete(client, person, ticket_id):
    return await client.delete(f"{URL}/{ticket_id}", headers=person.headers)


async def test_the_owner_withdraws_a_ticket(client, engine, seller):
    ticket = await listed(client, seller)
    response = await delete(client, seller, ticket["id"])
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{URL}/{ticket['id']}")).status_code == 404
    stored = await load(engine, ticket["id"])
    assert (stored.status, stored.version) == (Status.WITHDRAWN, 1)
    deleted = (await staged_events(engine))[-1]
    assert deleted["subject"] == "ticket.deleted"
    assert deleted["data"] == {"id": ticket["id"], "version": 1}


async def test_withdrawing_twice_is_harmless_and_publishes_once(client, engine, seller):
    ticket = await listed(client, seller)
    assert (await delete(client, seller, ticket["id"])).status_code == 204
    assert (await delete(client, seller, ticket["id"])).status_code == 204
    subjects = [e["subject"] for e in await staged_events(engine)]
    assert subjects == ["ticket.created", "ticket.deleted"]
    assert (await load(engine, ticket["id"])).version == 1


async def test_someone_else_cannot_withdraw(client, engine, seller, buyer):
    ticket = await listed(client, seller)
    assert (await delete(client, buyer, ticket["id"])).status_code == 401
    assert (await load(engine, ticket["id"])).status == Status.AVAILABLE


async def test_withdrawing_needs_a_signed_in_user(client, seller):
    ticket = await listed(client, seller)
    assert (await client.delete(f"{URL}/{ticket['id']}")).status_code == 401


@pytest.mark.parametrize("ticket_id", [str(uuid4()), "nope"])
async def test_withdrawing_an_unknown_ticket_is_not_found(client, seller, ticket_id):
    assert (await delete(client, seller, ticket_id)).status_code == 404


@pytest.mark.parametrize("status", [Status.RESERVED, Status.SOLD])
async def test_a_reserved_or_sold_ticket_cannot_be_withdrawn(client, engine, seller, status):
    ticket = await make_ticket(engine, user_id=seller.id, status=status)
    response = await delete(client, seller, ticket.id)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": f"Cannot withdraw a {status} ticket"}]}
    assert (await load(engine, ticket.id)).status == status
    assert await staged_events(engine) == []
