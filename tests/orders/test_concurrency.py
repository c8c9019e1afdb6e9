"""Guarantee 1 under a real race: many buyers, one PostgreSQL, no ticket sold twice."""

import asyncio
from collections import Counter
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from tests.orders.builders import make_ticket, orders_for_ticket
from tests.support import eventually, person
from ticketing.common.bus.tables import outbox
from ticketing.common.refusals import Invalid
from ticketing.orders import service
from ticketing.orders.store import ORDERS
from ticketing.orders.taken import TakenListings

RESERVED = {"errors": [{"message": "Ticket is already reserved"}]}


async def race(client, attempts):
    """Every (buyer, ticket) POST at once, each buyer with their own session."""
    return await asyncio.gather(
        *(
            client.post("/api/orders", json={"ticketId": str(ticket.id)}, headers=who.headers)
            for who, ticket in attempts
        )
    )


async def test_fifty_buyers_racing_for_one_ticket_get_one_reservation(client, engine, settings):
    ticket = await make_ticket(engine)
    responses = await race(client, [(person(settings), ticket) for _ in range(50)])
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 400: 49}
    assert all(r.json() == RESERVED for r in responses if r.status_code == 400)
    rows = await orders_for_ticket(engine, ticket.id)
    assert [row.status for row in rows] == ["created"]
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert str(rows[0].id) == winner["id"]
    assert await staged_order_ids(engine) == [winner["id"]]  # refusals stage nothing


async def test_a_hundred_buyers_racing_for_twenty_tickets_get_one_order_each(
    client, engine, settings
):
    tickets = [await make_ticket(engine) for _ in range(20)]
    attempts = [(person(settings), tickets[i % 20]) for i in range(100)]
    responses = await race(client, attempts)
    assert Counter(r.status_code for r in responses) == {201: 20, 400: 80}
    async with engine.connect() as db:
        query = select(ORDERS.c.ticket_id, func.count()).group_by(ORDERS.c.ticket_id)
        per_ticket = {ticket_id: count for ticket_id, count in (await db.execute(query)).all()}
    assert per_ticket == {t.id: 1 for t in tickets}
    winners = sorted(r.json()["id"] for r in responses if r.status_code == 201)
    assert sorted(await staged_order_ids(engine)) == winners


async def test_a_ticket_an_order_holds_is_refused_by_the_first_read_alone(app, client, engine):
    """Most of a flash sale's attempts: refused without building an order or its event, and
    without the insert's round trip."""
    ticket = await make_ticket(engine)
    deaf = TakenListings()  # not listening, so it keeps nothing: the read is what is measured
    async with app.state.drivers.acquire() as driver:
        await service.reserve_ticket(
            driver, ticket.id, buyer=uuid4(), window_seconds=60, taken=deaf
        )
        ran: list[str] = []

        def log(record) -> None:
            ran.append(record.query)

        driver.add_query_logger(log)
        try:
            with pytest.raises(Invalid, match="already reserved"):
                await service.reserve_ticket(
                    driver, ticket.id, buyer=uuid4(), window_seconds=60, taken=deaf
                )
        finally:
            driver.remove_query_logger(log)
    await eventually(lambda: len(ran) > 0)  # asyncpg calls its query loggers on a later turn
    assert len(ran) == 1 and "held" in ran[0]
    assert len(await orders_for_ticket(engine, ticket.id)) == 1


async def staged_order_ids(engine) -> list[str]:
    """order.created in the outbox, sent or not: the order and its event commit together."""
    async with engine.connect() as db:
        query = select(outbox.c.envelope).where(outbox.c.subject == "order.created")
        return [envelope["data"]["id"] for envelope in (await db.execute(query)).scalars()]
