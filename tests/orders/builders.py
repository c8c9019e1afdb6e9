"""Orders test data: replica rows, ticket events, and the bus as tickets and payments use it."""

from dataclasses import asdict
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.common.bus_support import EventBus
from tests.support import eventually
from ticketing.common.events import PaymentCreated, TicketCreated, TicketUpdated
from ticketing.orders import store
from ticketing.orders.domain import Listing
from ticketing.orders.store import ORDERS, TICKETS


async def make_ticket(engine: AsyncEngine, **overrides) -> Listing:
    """A replica row written directly, for route tests that are not about replication."""
    values = {
        "id": uuid4(),
        "title": f"Show {uuid4().hex[:6]}",
        "price_cents": 2050,
        "user_id": uuid4(),
        "version": 0,
    } | overrides
    listing = Listing(**values)
    async with engine.begin() as db:
        await db.execute(TICKETS.insert().values(asdict(listing)))
    return listing


def ticket_created(**overrides) -> TicketCreated:
    values = {
        "id": uuid4(),
        "version": 0,
        "title": f"Show {uuid4().hex[:6]}",
        "price": 2050,
        "user_id": uuid4(),
    } | overrides
    return TicketCreated(**values)


def ticket_updated(source: TicketCreated, version: int, **overrides) -> TicketUpdated:
    values = {
        "id": source.id,
        "version": version,
        "title": f"{source.title} v{version}",
        "price": source.price + version,
        "user_id": source.user_id,
        "status": "available",
    } | overrides
    return TicketUpdated(**values)


def payment_for(order: dict, **overrides) -> PaymentCreated:
    """What payments publishes once it has charged `order` (an API answer) in full."""
    fields = {
        "id": uuid4(),
        "order_id": order["id"],
        "stripe_id": "ch_1",
        "amount": round(Decimal(str(order["ticket"]["price"])) * 100),
    }
    return PaymentCreated(**{**fields, **overrides})


async def replica(engine: AsyncEngine, ticket_id: UUID) -> Listing | None:
    async with engine.connect() as db:
        return await store.listing(db, ticket_id)


async def order_row(engine: AsyncEngine, order_id: UUID | str) -> Row[Any] | None:
    async with engine.connect() as db:
        return (await db.execute(select(ORDERS).where(ORDERS.c.id == order_id))).first()


async def orders_for_ticket(engine: AsyncEngine, ticket_id: UUID) -> list[Row[Any]]:
    async with engine.connect() as db:
        return list(await db.execute(select(ORDERS).where(ORDERS.c.ticket_id == ticket_id)))


class OrdersBus(EventBus):
    async def list_ticket(self, engine: AsyncEngine, **overrides) -> TicketCreated:
        """Publish ticket.created and wait for the replica to hold it."""
        event = ticket_created(**overrides)
        await self.publish(event)
        await eventually(lambda: replica(engine, event.id))
        return event
