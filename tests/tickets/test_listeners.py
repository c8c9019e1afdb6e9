"""order.* events published on real NATS move tickets: reserve, release, sell; each once."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from tests.common.bus_support import EventBus
from tests.support import eventually
from tests.tickets.builders import load, staged_events
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    SoldTicket,
    Subject,
)
from ticketing.tickets.domain import Status


@pytest.fixture
def handled(counts):
    """How many events of a subject the app's listener has applied (first deliveries)."""
    return counts.applied


@pytest.fixture
async def ticket_id(client, seller) -> UUID:
    response = await client.post(
        "/api/tickets", json={"title": "Hamilton", "price": 20}, headers=seller.headers
    )
    return UUID(response.json()["id"])


def created(ticket_id: UUID, order_id: UUID) -> OrderCreated:
    return OrderCreated(
        id=order_id,
        version=0,
        status="created",
        user_id=uuid4(),
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ticket=OrderTicket(id=ticket_id, price=2000),
    )


def cancelled(ticket_id: UUID, order_id: UUID, version: int = 1) -> OrderCancelled:
    return OrderCancelled(id=order_id, version=version, ticket=OrderRef(id=ticket_id))


def completed(ticket_id: UUID, order_id: UUID, version: int = 2) -> OrderCompleted:
    return OrderCompleted(id=order_id, version=version, ticket=SoldTicket(id=ticket_id))


async def reaches(engine, ticket_id: UUID, version: int, timeout: float = 5.0):
    async def check():
        ticket = await load(engine, ticket_id)
        return ticket if ticket.version == version else None

    return await eventually(check, timeout=timeout)


async def published_update(bus: EventBus, ticket_id: UUID, version: int) -> dict:
    """The ticket.updated of that version, once the relay has put it in the stream."""

    async def check():
        for data in await bus.published(Subject.TICKET_UPDATED):
            if data["id"] == str(ticket_id) and data["version"] == version:
                return data
        return None

    return await eventually(check)


async def test_an_order_reserves_the_ticket_and_ticket_updated_follows(
    client, engine, bus, ticket_id, seller
):
    order_id = uuid4()
    await bus.publish(created(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, 1)
    assert (ticket.status, ticket.order_id) == (Status.RESERVED, order_id)
    data = await published_update(bus, ticket_id, 1)
    assert (data["status"], data["orderId"], data["price"]) == ("reserved", str(order_id), 2000)
    shown = (await client.get(f"/api/tickets/{ticket_id}")).json()
    assert (shown["status"], shown["orderId"], shown["version"]) == ("reserved", str(order_id), 1)
    edit = await client.put(
        f"/api/tickets/{ticket_id}", json={"title": "x", "price": 1}, headers=seller.headers
    )
    assert (edit.status_code, edit.json()["errors"][0]["message"]) == (
        400,
        "Cannot edit a reserved ticket",
    )


async def test_cancelling_the_holding_order_puts_the_ticket_back_on_sale(
    client, engine, bus, ticket_id
):
    order_id = uuid4()
    await bus.publish(created(ticket_id, order_id))
    await reaches(engine, ticket_id, 1)
    await bus.publish(cancelled(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, 2)
    assert (ticket.status, ticket.order_id) == (Status.AVAILABLE, None)
    data = await published_update(bus, ticket_id, 2)
    assert (data["status"], data["orderId"]) == ("available", None)
    assert [t["id"] for t in (await client.get("/api/tickets")).json()] == [str(ticket_id)]


async def test_a_cancel_from_an_order_that_does_not_hold_the_ticket_changes_nothing(
    engine, bus, ticket_id, handled
):
    holder = uuid4()
    await bus.publish(created(ticket_id, holder))
    await reaches(engine, ticket_id, 1)
    await bus.publish(cancelled(ticket_id, uuid4()))
    await eventually(lambda: handled(Subject.ORDER_CANCELLED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.RESERVED, holder, 1)
    subjects = [e["subject"] for e in await staged_events(engine)]
    assert subjects == ["ticket.created", "ticket.updated"]


async def test_a_cancel_for_an_available_ticket_changes_nothing(engine, bus, ticket_id, handled):
    await bus.publish(cancelled(ticket_id, uuid4()))
    await eventually(lambda: handled(Subject.ORDER_CANCELLED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.version) == (Status.AVAILABLE, 0)


async def test_completing_the_holding_order_sells_the_ticket(
    client, engine, bus, ticket_id, seller
):
    order_id = uuid4()
    await bus.publish(created(ticket_id, order_id))
    await reaches(engine, ticket_id, 1)
    await bus.publish(completed(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, 2)
    assert (ticket.status, ticket.order_id) == (Status.SOLD, order_id)
    data = await published_update(bus, ticket_id, 2)
    assert (data["status"], data["orderId"]) == ("sold", str(order_id))
    withdraw = await client.delete(f"/api/tickets/{ticket_id}", headers=seller.headers)
    assert withdraw.status_code == 400


async def test_a_late_cancel_never_releases_a_sold_ticket(engine, bus, ticket_id, handled):
    order_id = uuid4()
    await bus.publish(created(ticket_id, order_id))
    await bus.publish(completed(ticket_id, order_id))
    await reaches(engine, ticket_id, 2)
    await bus.publish(cancelled(ticket_id, order_id, version=3))
    await eventually(lambda: handled(Subject.ORDER_CANCELLED) == 1)
    assert (await load(engine, ticket_id)).status == Status.SOLD


async def test_a_replayed_order_created_reserves_once(engine, bus, ticket_id, handled):
    event = created(ticket_id, uuid4())
    await bus.publish(event)
    await bus.publish(event)  # same facts, a new envelope id: not deduplicated by NATS
    await eventually(lambda: handled(Subject.ORDER_CREATED) == 2)
    assert (await load(engine, ticket_id)).version == 1
    assert len(await staged_events(engine)) == 2


async def test_an_order_created_arriving_after_its_own_cancel_does_not_reserve(
    engine, bus, ticket_id, handled
):
    order_id = uuid4()
    await bus.publish(cancelled(ticket_id, order_id))
    await eventually(lambda: handled(Subject.ORDER_CANCELLED) == 1)
    await bus.publish(created(ticket_id, order_id))
    await eventually(lambda: handled(Subject.ORDER_CREATED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.AVAILABLE, None, 0)


async def test_a_completion_that_overtakes_its_creation_waits_for_it(engine, bus, ticket_id):
    order_id = uuid4()
    await bus.publish(completed(ticket_id, order_id))
    await bus.publish(created(ticket_id, order_id))
    ticket = await reaches(engine, ticket_id, 2, timeout=10)
    assert (ticket.status, ticket.order_id) == (Status.SOLD, order_id)


async def test_a_new_order_waits_until_the_previous_holder_is_cancelled(engine, bus, ticket_id):
    first, second = uuid4(), uuid4()
    await bus.publish(created(ticket_id, first))
    await reaches(engine, ticket_id, 1)
    # orders let the second order in, so the first has ended; its cancel is merely late
    await bus.publish(created(ticket_id, second))
    await bus.publish(cancelled(ticket_id, first))
    ticket = await reaches(engine, ticket_id, 3, timeout=10)
    assert (ticket.status, ticket.order_id) == (Status.RESERVED, second)
    await published_update(bus, ticket_id, 3)


async def test_an_order_for_a_withdrawn_ticket_is_ignored(
    client, engine, bus, ticket_id, seller, handled
):
    await client.delete(f"/api/tickets/{ticket_id}", headers=seller.headers)
    await bus.publish(created(ticket_id, uuid4()))
    await eventually(lambda: handled(Subject.ORDER_CREATED) == 1)
    ticket = await load(engine, ticket_id)
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.WITHDRAWN, None, 1)


async def test_order_events_for_an_unknown_ticket_are_acknowledged(counts, app, bus, handled):
    stranger = uuid4()
    await bus.publish(created(stranger, uuid4()))
    await bus.publish(cancelled(stranger, uuid4()))
    await bus.publish(completed(stranger, uuid4()))
    await eventually(lambda: handled(Subject.ORDER_COMPLETED) == 1)
    await eventually(lambda: handled(Subject.ORDER_CREATED) + handled(Subject.ORDER_CANCELLED) == 2)
    assert counts.dead_letters() == 0
