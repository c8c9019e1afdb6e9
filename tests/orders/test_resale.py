"""A resold ticket is a new sale: one holding order per sale, and a resale that ends takes
its open order with it (pass.admitted, pass.unlisted)."""

from collections import Counter
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import update

from tests.orders.builders import make_ticket, order_row, orders_for_ticket, replica, ticket_updated
from tests.orders.test_concurrency import RESERVED, race, staged_order_ids
from tests.orders.test_listeners import at_version, staged
from tests.support import eventually, person
from ticketing.common.events import PassAdmitted, PassUnlisted, Subject, TicketUpdated
from ticketing.orders.store import ORDERS, TICKETS


async def order(client, who, ticket_id):
    return await client.post("/api/orders", json={"ticketId": str(ticket_id)}, headers=who.headers)


async def resold(client, engine, settings) -> tuple[UUID, UUID]:
    """A ticket whose first sale is complete and which its buyer put back on sale (the
    replica at sale 1, the buyer its seller): the ticket, and the first order."""
    ticket = await make_ticket(engine)
    holder = person(settings)
    first = await order(client, holder, ticket.id)
    assert first.status_code == 201
    async with engine.begin() as db:
        await db.execute(
            update(ORDERS).where(ORDERS.c.id == first.json()["id"]).values(status="complete")
        )
        await db.execute(
            update(TICKETS)
            .where(TICKETS.c.id == ticket.id)
            .values(sale=1, user_id=holder.id, status="available", version=3)
        )
    return ticket.id, UUID(first.json()["id"])


async def test_a_resold_ticket_can_be_ordered_again_once(client, engine, settings, buyer):
    ticket_id, first = await resold(client, engine, settings)
    response = await order(client, buyer, ticket_id)
    assert response.status_code == 201, response.text
    row = await order_row(engine, response.json()["id"])
    assert (row.sale, row.status) == (1, "created")
    assert (await order_row(engine, first)).status == "complete"
    again = await order(client, person(settings), ticket_id)
    assert (again.status_code, again.json()) == (400, RESERVED)


async def test_buyers_racing_for_a_resale_get_one_order(client, engine, settings):
    ticket_id, first = await resold(client, engine, settings)
    ticket = await replica(engine, ticket_id)
    responses = await race(client, [(person(settings), ticket) for _ in range(30)])
    assert Counter(r.status_code for r in responses) == {201: 1, 400: 29}
    assert all(r.json() == RESERVED for r in responses if r.status_code == 400)
    rows = await orders_for_ticket(engine, ticket_id)
    assert sorted((row.sale, row.status) for row in rows) == [(0, "complete"), (1, "created")]
    winner = next(r.json()["id"] for r in responses if r.status_code == 201)
    assert sorted(await staged_order_ids(engine)) == sorted([str(first), winner])


@pytest.mark.parametrize("status", ["sold", "withdrawn"])
async def test_a_listing_the_replica_says_is_not_for_sale_is_refused(client, engine, buyer, status):
    ticket = await make_ticket(engine, status=status, sale=1)
    response = await order(client, buyer, ticket.id)
    assert (response.status_code, response.json()) == (400, RESERVED)
    assert await orders_for_ticket(engine, ticket.id) == []


async def test_the_replica_follows_the_sale_of_ticket_updated(client, engine, bus):
    created = await bus.list_ticket(engine)
    await bus.publish(ticket_updated(created, 1, status="available", sale=1))
    assert (await at_version(engine, created.id, 1)).sale == 1


def admitted(ticket_id: UUID, holder: UUID) -> PassAdmitted:
    return PassAdmitted(
        id=uuid4(), version=2, ticket_id=ticket_id, user_id=holder, admitted_at=datetime.now(UTC)
    )


def unlisted(ticket_id: UUID, holder: UUID) -> PassUnlisted:
    return PassUnlisted(id=uuid4(), version=2, ticket_id=ticket_id, user_id=holder)


@pytest.mark.parametrize("ending", [admitted, unlisted])
async def test_a_resale_that_ends_cancels_its_open_order_and_says_so(
    client, engine, bus, settings, buyer, counts, ending
):
    ticket_id, first = await resold(client, engine, settings)
    placed = (await order(client, buyer, ticket_id)).json()
    event = ending(ticket_id, uuid4())
    await bus.publish(event)
    published = await bus.wait_for(Subject.ORDER_CANCELLED)
    assert published == [{"id": placed["id"], "version": 1, "ticket": {"id": str(ticket_id)}}]
    assert (await order_row(engine, placed["id"])).status == "cancelled"
    assert (await order_row(engine, first)).status == "complete"  # the buyer paid first
    await bus.publish(ending(ticket_id, uuid4()))  # again: nothing left to cancel
    await eventually(lambda: counts.applied(event.subject) == 2)
    assert len(await staged(engine, Subject.ORDER_CANCELLED)) == 1
    again = await order(client, person(settings), ticket_id)  # the index lets a new one in
    assert again.status_code == 201


async def test_a_resale_ending_for_a_ticket_without_orders_changes_nothing(engine, bus, counts):
    await bus.publish(unlisted(uuid4(), uuid4()))
    await bus.publish(admitted(uuid4(), uuid4()))
    await eventually(
        lambda: counts.applied(Subject.PASS_UNLISTED) + counts.applied(Subject.PASS_ADMITTED) == 2
    )
    assert await staged(engine, Subject.ORDER_CANCELLED) == []
    assert counts.dead_letters() == 0


async def test_an_order_placed_while_the_replica_lagged_ends_when_the_ticket_is_sold(
    client, engine, bus, settings, buyer
):
    """A resale taken down: tickets says sold (to no order) while an order placed on the
    stale replica is still open; it must not stay payable for a ticket it can never get."""
    ticket_id, first = await resold(client, engine, settings)
    placed = (await order(client, buyer, ticket_id)).json()
    listing = await replica(engine, ticket_id)
    sold = TicketUpdated(
        id=ticket_id,
        version=listing.version + 1,
        title=listing.title,
        price=listing.price_cents,
        user_id=listing.user_id,
        status="sold",
        sale=1,
    )
    await bus.publish(sold)
    published = await bus.wait_for(Subject.ORDER_CANCELLED)
    assert published == [{"id": placed["id"], "version": 1, "ticket": {"id": str(ticket_id)}}]
    assert (await order_row(engine, first)).status == "complete"


async def test_a_sale_to_an_order_ends_no_order_of_its_own(client, engine, bus, buyer):
    created = await bus.list_ticket(engine)
    placed = (await order(client, buyer, created.id)).json()
    sold = ticket_updated(created, 1, status="sold", order_id=UUID(placed["id"]))
    await bus.publish(sold)
    assert (await at_version(engine, created.id, 1)).status == "sold"
    assert (await order_row(engine, placed["id"])).status == "created"
    assert await staged(engine, Subject.ORDER_CANCELLED) == []
