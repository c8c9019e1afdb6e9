"""Orders' listeners over real NATS: the tickets replica in version order, expiry, payment."""

from uuid import uuid4

from sqlalchemy import select, update

from tests.orders.builders import (
    make_ticket,
    order_row,
    payment_for,
    replica,
    ticket_created,
    ticket_updated,
)
from tests.support import eventually, running
from ticketing.common.bus.tables import outbox
from ticketing.common.events import (
    ExpirationComplete,
    Subject,
    TicketDeleted,
)
from ticketing.orders.app import create_app
from ticketing.orders.store import TICKETS


async def at_version(engine, ticket_id, version: int, timeout: float = 10):
    async def check():
        row = await replica(engine, ticket_id)
        return row if row is not None and row.version == version else None

    return await eventually(check, timeout=timeout)


async def staged(engine, subject: Subject) -> list[dict]:
    """Every event the app wrote to its outbox on `subject`, sent or not."""
    async with engine.connect() as db:
        query = select(outbox.c.envelope).where(outbox.c.subject == subject).order_by(outbox.c.seq)
        return [envelope["data"] for envelope in (await db.execute(query)).scalars()]


async def place_order(client, engine, who) -> dict:
    ticket = await make_ticket(engine)
    response = await client.post(
        "/api/orders", json={"ticketId": str(ticket.id)}, headers=who.headers
    )
    assert response.status_code == 201
    return response.json()


# the tickets replica (guarantee 4)


async def test_a_listed_ticket_reaches_the_replica_and_can_be_ordered(client, engine, bus, buyer):
    event = await bus.list_ticket(engine, title="Opera", price=4500)
    row = await replica(engine, event.id)
    assert (row.title, row.price_cents, row.user_id, row.version) == (
        "Opera",
        4500,
        event.user_id,
        0,
    )
    assert (row.status, row.withdrawn) == ("available", False)
    response = await client.post(
        "/api/orders", json={"ticketId": str(event.id)}, headers=buyer.headers
    )
    assert response.status_code == 201
    assert response.json()["ticket"] == {"id": str(event.id), "title": "Opera", "price": 45}


async def test_a_resent_ticket_created_changes_nothing(counts, client, app, engine, bus):
    first = await bus.list_ticket(engine, title="Original")
    await bus.publish(first.model_copy(update={"title": "Imposter"}))  # a new envelope id
    resent = await bus.publish(first)
    await bus.publish(first, envelope_id=resent.id)  # the very same envelope again
    await bus.list_ticket(engine)  # one loop per subject: the copies were handled before it
    assert (await replica(engine, first.id)).title == "Original"
    assert counts.applied(Subject.TICKET_CREATED) == 2


async def test_updates_delivered_out_of_order_apply_in_version_order(client, engine, bus):
    created = await bus.list_ticket(engine)
    for version in (3, 2, 1):  # v3 before v2 before v1
        await bus.publish(ticket_updated(created, version))
    row = await at_version(engine, created.id, 3)
    assert (row.title, row.price_cents) == (f"{created.title} v3", created.price + 3)


async def test_updates_before_the_ticket_itself_wait_for_it(client, engine, bus):
    created = ticket_created()
    await bus.publish(ticket_updated(created, 2))
    await bus.publish(ticket_updated(created, 1))
    await bus.publish(created)
    row = await at_version(engine, created.id, 2)
    assert row.title == f"{created.title} v2"


async def test_duplicated_and_stale_updates_take_effect_once(counts, client, app, engine, bus):
    created = await bus.list_ticket(engine)
    first = await bus.publish(ticket_updated(created, 1))
    await bus.publish(ticket_updated(created, 1), envelope_id=first.id)  # redelivered
    await bus.publish(ticket_updated(created, 1, title="stale copy"))  # new id, old version
    await bus.publish(ticket_updated(created, 2))
    row = await at_version(engine, created.id, 2)
    assert row.title == f"{created.title} v2"
    assert counts.applied(Subject.TICKET_UPDATED) == 2


async def test_a_ticket_edited_three_times_quickly_converges(client, engine, bus):
    created = await bus.list_ticket(engine)
    for version in (1, 2, 3):
        await bus.publish(ticket_updated(created, version, status="reserved"))
    row = await at_version(engine, created.id, 3)
    assert (row.title, row.price_cents, row.status) == (
        f"{created.title} v3",
        created.price + 3,
        "reserved",
    )


async def test_the_replica_catches_up_on_what_was_published_while_orders_was_down(settings, bus):
    created = ticket_created()
    app = create_app(settings)
    async with running(app):
        engine = app.state.engine
        await bus.publish(created)
        await bus.publish(ticket_updated(created, 1))
        await at_version(engine, created.id, 1)
    # orders is stopped: the source keeps editing, out of order, with a duplicate
    await bus.publish(ticket_updated(created, 3))
    await bus.publish(ticket_updated(created, 1))
    await bus.publish(ticket_updated(created, 2))
    restarted = create_app(settings)  # same database, same bus prefix
    async with running(restarted):
        row = await at_version(restarted.state.engine, created.id, 3)
    assert row.title == f"{created.title} v3"


async def test_a_withdrawn_ticket_can_no_longer_be_ordered(client, engine, bus, buyer):
    created = await bus.list_ticket(engine)
    await bus.publish(TicketDeleted(id=created.id, version=2))  # before the edit it follows
    await bus.publish(ticket_updated(created, 1))
    row = await at_version(engine, created.id, 2)
    assert row.withdrawn
    response = await client.post(
        "/api/orders", json={"ticketId": str(created.id)}, headers=buyer.headers
    )
    assert response.status_code == 404


# expiration.complete


async def test_an_expired_order_is_cancelled_and_order_cancelled_published(
    client, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await bus.publish(ExpirationComplete(order_id=placed["id"]))
    published = await bus.wait_for(Subject.ORDER_CANCELLED)
    assert published == [
        {"id": placed["id"], "version": 1, "ticket": {"id": placed["ticket"]["id"]}}
    ]
    row = await order_row(engine, placed["id"])
    assert (row.status, row.version) == ("cancelled", 1)


async def test_an_expiry_after_payment_leaves_the_order_complete(
    counts, client, app, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await bus.publish(payment_for(placed))
    await bus.wait_for(Subject.ORDER_COMPLETED)
    await bus.publish(ExpirationComplete(order_id=placed["id"]))
    await eventually(lambda: counts.applied(Subject.EXPIRATION_COMPLETE) == 1)
    row = await order_row(engine, placed["id"])
    assert (row.status, row.version) == ("complete", 1)
    assert await staged(engine, Subject.ORDER_CANCELLED) == []


async def test_an_expiry_of_a_cancelled_order_publishes_nothing_more(
    counts, client, app, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
    await bus.publish(ExpirationComplete(order_id=placed["id"]))
    await eventually(lambda: counts.applied(Subject.EXPIRATION_COMPLETE) == 1)
    assert len(await staged(engine, Subject.ORDER_CANCELLED)) == 1
    assert (await order_row(engine, placed["id"])).version == 1


# payment.created


async def test_a_payment_completes_the_order_and_publishes_order_completed(
    client, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await bus.publish(payment_for(placed))
    published = await bus.wait_for(Subject.ORDER_COMPLETED)
    seller = (await replica(engine, placed["ticket"]["id"])).user_id
    sold = {
        "id": placed["ticket"]["id"],
        "price": 2050,
        "title": placed["ticket"]["title"],
        "sellerId": str(seller),
    }
    assert published == [
        {"id": placed["id"], "version": 1, "userId": str(buyer.id), "ticket": sold}
    ]
    shown = await client.get(f"/api/orders/{placed['id']}", headers=buyer.headers)
    assert (shown.json()["status"], shown.json()["version"]) == ("complete", 1)


async def test_a_payment_for_a_cancelled_order_leaves_it_cancelled(
    counts, client, app, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await client.delete(f"/api/orders/{placed['id']}", headers=buyer.headers)
    await bus.publish(payment_for(placed))
    await eventually(lambda: counts.applied(Subject.PAYMENT_CREATED) == 1)
    row = await order_row(engine, placed["id"])
    assert (row.status, row.version) == ("cancelled", 1)
    assert await staged(engine, Subject.ORDER_COMPLETED) == []


async def test_a_payment_for_another_sum_than_the_price_changes_nothing(
    counts, client, app, engine, bus, buyer
):
    """A forged payment.created (here published as admin, past the bus's permissions)."""
    placed = await place_order(client, engine, buyer)
    await bus.publish(payment_for(placed, amount=1))
    await eventually(lambda: counts.applied(Subject.PAYMENT_CREATED) == 1)
    row = await order_row(engine, placed["id"])
    assert (row.status, row.version) == ("created", 0)
    assert await staged(engine, Subject.ORDER_COMPLETED) == []
    assert counts.dead_letters() == 0  # refused once, not retried


async def test_a_payment_of_the_price_the_order_was_placed_at_completes_it_after_a_price_change(
    counts, client, app, engine, bus, buyer
):
    """The seller's edit can reach the replica after the order is placed (tickets applied it
    first): payments charged what order.created said, and that is what counts."""
    placed = await place_order(client, engine, buyer)
    async with engine.begin() as db:
        await db.execute(
            update(TICKETS).where(TICKETS.c.id == placed["ticket"]["id"]).values(price_cents=99_00)
        )
    await bus.publish(payment_for(placed))
    await eventually(lambda: counts.applied(Subject.PAYMENT_CREATED) == 1)
    assert (await order_row(engine, placed["id"])).status == "complete"


async def test_a_payment_for_an_order_never_placed_changes_nothing(
    counts, client, app, engine, bus, buyer
):
    placed = await place_order(client, engine, buyer)
    await bus.publish(payment_for(placed, order_id=uuid4()))
    await eventually(lambda: counts.applied(Subject.PAYMENT_CREATED) == 1)
    assert (await order_row(engine, placed["id"])).status == "created"
    assert await staged(engine, Subject.ORDER_COMPLETED) == []
