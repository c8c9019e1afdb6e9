"""Passes follow order.completed over real NATS: a pass per order, and a resale revokes."""

from uuid import uuid4

from sqlalchemy import update

from tests.common.bus_support import stream_messages
from tests.passes.builders import completed, make_pass, passes_of_ticket
from tests.support import eventually
from ticketing.common.events import OrderCompleted, SoldTicket, Subject
from ticketing.passes.domain import PassStatus
from ticketing.passes.store import PASSES


async def issued(engine, ticket_id, count: int = 1):
    async def check():
        found = await passes_of_ticket(engine, ticket_id)
        return found if len(found) >= count else None

    return await eventually(check, timeout=10)


async def test_a_completed_order_gives_the_buyer_a_valid_pass(client, engine, bus):
    sale = completed(price=4500, title="Opera")
    await bus.publish(sale)
    (made,) = await issued(engine, sale.ticket.id)
    assert (made.user_id, made.order_id, made.title, made.price_cents) == (
        sale.user_id,
        sale.id,
        "Opera",
        4500,
    )
    assert (made.status, made.version, made.listed_price_cents) == (PassStatus.VALID, 0, None)
    (event,) = await bus.wait_for(Subject.PASS_ISSUED)
    assert event == {
        "id": str(made.id),
        "version": 0,
        "ticketId": str(sale.ticket.id),
        "userId": str(sale.user_id),
        "orderId": str(sale.id),
    }


async def test_an_order_completed_delivered_twice_issues_one_pass(counts, client, engine, bus):
    sale = completed()
    first = await bus.publish(sale)
    await bus.publish(sale, envelope_id=first.id)  # redelivered
    await bus.publish(sale)  # re-published under a new envelope id
    await issued(engine, sale.ticket.id)
    marker = completed()  # one loop per subject: the copies were handled before it
    await bus.publish(marker)
    await issued(engine, marker.ticket.id)
    assert len(await passes_of_ticket(engine, sale.ticket.id)) == 1
    assert counts.applied(Subject.ORDER_COMPLETED) == 2
    assert counts.dead_letters() == 0


async def test_a_resale_revokes_the_sellers_pass_and_issues_the_buyers(client, engine, bus):
    first = completed()
    await bus.publish(first)
    (old,) = await issued(engine, first.ticket.id)
    resale = completed(ticket_id=first.ticket.id, price=2400)
    await bus.publish(resale)
    old_now, new = await issued(engine, first.ticket.id, 2)
    assert (old_now.id, old_now.status, old_now.version) == (old.id, PassStatus.REVOKED, 1)
    assert (new.user_id, new.status, new.price_cents) == (resale.user_id, PassStatus.VALID, 2400)
    (revoked,) = await bus.wait_for(Subject.PASS_REVOKED)
    assert revoked == {
        "id": str(old.id),
        "version": 1,
        "ticketId": str(first.ticket.id),
        "userId": str(first.user_id),
    }
    await bus.wait_for(Subject.PASS_ISSUED, 2)
    subjects = [m["subject"] for m in await stream_messages(bus.js, bus.names)]
    assert subjects[-2:] == [Subject.PASS_REVOKED, Subject.PASS_ISSUED]  # one transaction, in order


async def test_a_listed_pass_is_revoked_with_its_listing_cleared(client, engine, bus):
    listed = await make_pass(engine, listed_price_cents=2000, version=1)
    await bus.publish(completed(ticket_id=listed.ticket_id))
    old_now, _ = await issued(engine, listed.ticket_id, 2)
    assert (old_now.status, old_now.listed_price_cents, old_now.version) == (
        PassStatus.REVOKED,
        None,
        2,
    )


async def test_the_first_sale_re_sent_after_a_resale_leaves_the_new_holder_alone(
    client, engine, bus
):
    first = completed()
    await bus.publish(first)
    await issued(engine, first.ticket.id)
    await bus.publish(completed(ticket_id=first.ticket.id))
    await issued(engine, first.ticket.id, 2)
    await bus.publish(first)  # a late copy of the first sale, under a new envelope id
    marker = completed()
    await bus.publish(marker)
    await issued(engine, marker.ticket.id)
    statuses = [p.status for p in await passes_of_ticket(engine, first.ticket.id)]
    assert statuses == [PassStatus.REVOKED, PassStatus.VALID]


async def test_a_pass_admitted_before_its_resale_completed_stays_used(client, engine, bus, caplog):
    used = await make_pass(engine)
    async with engine.begin() as db:
        await db.execute(
            update(PASSES)
            .where(PASSES.c.id == used.id)
            .values(status=PassStatus.USED.value, version=1)
        )
    await bus.publish(completed(ticket_id=used.ticket_id))
    old_now, new = await issued(engine, used.ticket_id, 2)
    assert (old_now.status, old_now.version) == (PassStatus.USED, 1)
    assert new.status == PassStatus.VALID
    assert "after its pass" in caplog.text
    await bus.wait_for(Subject.PASS_ISSUED)  # staged with any pass.revoked, in one commit
    assert await bus.published(Subject.PASS_REVOKED) == []


async def test_an_order_completed_from_before_it_said_who_bought_issues_nothing(
    counts, client, engine, bus, caplog
):
    ticket_id = uuid4()
    await bus.publish(OrderCompleted(id=uuid4(), version=2, ticket=SoldTicket(id=ticket_id)))
    marker = completed()
    await bus.publish(marker)
    await issued(engine, marker.ticket.id)
    assert await passes_of_ticket(engine, ticket_id) == []
    assert counts.dead_letters() == 0
    assert "does not say who bought what" in caplog.text
