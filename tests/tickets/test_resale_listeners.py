"""pass.* events on real NATS resell a sold ticket as its holder's listing, and end the resale."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from tests.support import eventually, person
from tests.tickets.builders import load, staged_events
from tests.tickets.test_listeners import published_update, reaches
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    PassAdmitted,
    PassListed,
    PassUnlisted,
    SoldTicket,
    Subject,
)
from ticketing.tickets.domain import Status


@pytest.fixture
def handled(counts):
    return counts.applied


@pytest.fixture
async def ticket_id(client, seller) -> UUID:
    response = await client.post(
        "/api/tickets", json={"title": "Hamilton", "price": 20}, headers=seller.headers
    )
    return UUID(response.json()["id"])


def ordered(ticket_id: UUID, order_id: UUID, buyer: UUID) -> OrderCreated:
    return OrderCreated(
        id=order_id,
        version=0,
        status="created",
        user_id=buyer,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ticket=OrderTicket(id=ticket_id, price=2000),
    )


def paid(ticket_id: UUID, order_id: UUID) -> OrderCompleted:
    return OrderCompleted(id=order_id, version=2, ticket=SoldTicket(id=ticket_id))


def listed(ticket_id: UUID, holder: UUID, pass_id: UUID, version: int = 1, price: int = 2500):
    return PassListed(
        id=pass_id,
        version=version,
        ticket_id=ticket_id,
        user_id=holder,
        price=price,
        price_cap=3000,
    )


def unlisted(ticket_id: UUID, holder: UUID, pass_id: UUID, version: int = 2) -> PassUnlisted:
    return PassUnlisted(id=pass_id, version=version, ticket_id=ticket_id, user_id=holder)


def admitted(ticket_id: UUID, holder: UUID, pass_id: UUID, version: int = 2) -> PassAdmitted:
    return PassAdmitted(
        id=pass_id,
        version=version,
        ticket_id=ticket_id,
        user_id=holder,
        admitted_at=datetime.now(UTC),
    )


async def sell(bus, engine, ticket_id: UUID, buyer: UUID, *, version: int = 2) -> UUID:
    """`buyer` orders and pays; the ticket reaches `version` (sold)."""
    order_id = uuid4()
    await bus.publish(ordered(ticket_id, order_id, buyer))
    await bus.publish(paid(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, version, timeout=10)
    assert ticket.status is Status.SOLD
    return order_id


async def test_a_listed_pass_puts_the_sold_ticket_back_on_sale_as_the_holders(
    client, engine, bus, ticket_id
):
    holder = uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(listed(ticket_id, holder, uuid4(), price=2500))
    ticket = await reaches(engine, ticket_id, 3)
    assert (ticket.status, ticket.user_id, ticket.order_id) == (Status.AVAILABLE, holder, None)
    assert (ticket.sale, ticket.price_cents, ticket.price_cap_cents) == (1, 2500, 3000)
    data = await published_update(bus, ticket_id, 3)
    assert (data["sale"], data["status"], data["userId"], data["price"]) == (
        1,
        "available",
        str(holder),
        2500,
    )
    shown = (await client.get(f"/api/tickets/{ticket_id}")).json()
    assert (shown["status"], shown["userId"], shown["price"]) == ("available", str(holder), 25)
    assert str(ticket_id) in [t["id"] for t in (await client.get("/api/tickets")).json()]


async def test_the_same_listing_twice_changes_the_ticket_once(engine, bus, ticket_id, handled):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    event = listed(ticket_id, holder, pass_id)
    await bus.publish(event)
    await bus.publish(event)  # a new envelope: not deduplicated by NATS
    await eventually(lambda: handled(Subject.PASS_LISTED) == 2)
    assert (await load(engine, ticket_id)).version == 3
    updates = [e for e in await staged_events(engine) if e["subject"] == "ticket.updated"]
    assert len(updates) == 3  # reserved, sold, relisted


async def test_listing_again_changes_the_price(engine, bus, ticket_id):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(listed(ticket_id, holder, pass_id, version=1, price=2500))
    await bus.publish(listed(ticket_id, holder, pass_id, version=2, price=2800))
    ticket = await reaches(engine, ticket_id, 4)
    assert (ticket.price_cents, ticket.sale) == (2800, 1)


async def test_a_listing_before_the_sale_arrives_waits_for_it(engine, bus, ticket_id):
    holder, order_id = uuid4(), uuid4()
    await bus.publish(ordered(ticket_id, order_id, holder))
    await reaches(engine, ticket_id, 1)
    await bus.publish(listed(ticket_id, holder, uuid4()))  # reserved: retried later
    await bus.publish(paid(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, 3, timeout=10)
    assert (ticket.status, ticket.user_id, ticket.sale) == (Status.AVAILABLE, holder, 1)


async def test_unlisting_gives_the_ticket_back_to_its_holder(client, engine, bus, ticket_id):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(listed(ticket_id, holder, pass_id))
    await reaches(engine, ticket_id, 3)
    await bus.publish(unlisted(ticket_id, holder, pass_id))
    ticket = await reaches(engine, ticket_id, 4)
    assert (ticket.status, ticket.user_id, ticket.sale) == (Status.SOLD, holder, 1)
    data = await published_update(bus, ticket_id, 4)
    assert (data["status"], data["sale"]) == ("sold", 1)
    assert str(ticket_id) not in [t["id"] for t in (await client.get("/api/tickets")).json()]


async def test_a_listing_that_arrives_after_its_own_unlisting_is_ignored(
    engine, bus, ticket_id, handled
):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(unlisted(ticket_id, holder, pass_id, version=2))
    await eventually(lambda: handled(Subject.PASS_UNLISTED) == 1)
    await bus.publish(listed(ticket_id, holder, pass_id, version=1))
    await eventually(lambda: handled(Subject.PASS_LISTED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.version, ticket.sale) == (Status.SOLD, 2, 0)


async def test_a_pass_used_while_its_resale_is_reserved_gets_the_ticket_back_on_release(
    engine, bus, ticket_id, handled
):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(listed(ticket_id, holder, pass_id))
    await reaches(engine, ticket_id, 3)
    second = uuid4()
    await bus.publish(ordered(ticket_id, second, uuid4()))
    await reaches(engine, ticket_id, 4)
    await bus.publish(admitted(ticket_id, holder, pass_id))
    await eventually(lambda: handled(Subject.PASS_ADMITTED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.taken_down, ticket.version) == (Status.RESERVED, True, 4)
    await bus.publish(OrderCancelled(id=second, version=1, ticket=OrderRef(id=ticket_id)))
    ticket = await reaches(engine, ticket_id, 5)
    assert (ticket.status, ticket.user_id, ticket.order_id) == (Status.SOLD, holder, None)
    assert (await published_update(bus, ticket_id, 5))["status"] == "sold"


async def test_a_pass_used_while_listed_takes_the_resale_down(engine, bus, ticket_id):
    holder, pass_id = uuid4(), uuid4()
    await sell(bus, engine, ticket_id, holder)
    await bus.publish(listed(ticket_id, holder, pass_id))
    await reaches(engine, ticket_id, 3)
    await bus.publish(admitted(ticket_id, holder, pass_id))
    assert (await reaches(engine, ticket_id, 4)).status is Status.SOLD


async def test_a_resold_ticket_is_relisted_by_its_new_buyer_only(engine, bus, ticket_id, handled):
    first, second, first_pass = uuid4(), uuid4(), uuid4()
    await sell(bus, engine, ticket_id, first)
    await bus.publish(listed(ticket_id, first, first_pass))
    await reaches(engine, ticket_id, 3)
    await sell(bus, engine, ticket_id, second, version=5)
    # the former holder's listing, late: their pass is revoked, the ticket is not theirs
    await bus.publish(listed(ticket_id, first, first_pass, version=3))
    await eventually(lambda: handled(Subject.PASS_LISTED) == 2)
    assert (await load(engine, ticket_id)).version == 5
    await bus.publish(listed(ticket_id, second, uuid4(), price=3000))
    ticket = await reaches(engine, ticket_id, 6)
    assert (ticket.user_id, ticket.sale, ticket.price_cents) == (second, 2, 3000)


async def test_pass_events_for_an_unknown_ticket_are_acknowledged(counts, bus, handled):
    stranger, holder, pass_id = uuid4(), uuid4(), uuid4()
    await bus.publish(listed(stranger, holder, pass_id))
    await bus.publish(unlisted(stranger, holder, pass_id))
    await bus.publish(admitted(stranger, holder, pass_id, version=3))
    await eventually(
        lambda: sum(handled(s) for s in (Subject.PASS_LISTED, Subject.PASS_UNLISTED)) == 2
    )
    await eventually(lambda: handled(Subject.PASS_ADMITTED) == 1)
    assert counts.dead_letters() == 0


@pytest.mark.parametrize("method", ["put", "delete"])
async def test_a_resale_is_not_changed_through_the_tickets_api(
    client, engine, bus, ticket_id, settings, method
):
    holder = person(settings)
    await sell(bus, engine, ticket_id, holder.id)
    await bus.publish(listed(ticket_id, holder.id, uuid4()))
    await reaches(engine, ticket_id, 3)
    body = {"title": "Cheap", "price": 99999} if method == "put" else None
    response = await client.request(
        method.upper(), f"/api/tickets/{ticket_id}", json=body, headers=holder.headers
    )
    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"message": "A resale is changed from your pass"}]},
    )
    ticket = await load(engine, ticket_id)
    assert (ticket.version, ticket.price_cents, ticket.status) == (3, 2500, Status.AVAILABLE)
