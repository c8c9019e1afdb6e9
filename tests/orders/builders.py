"""Orders test data: replica rows, ticket events and a bus handle."""

from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.common.bus_support import publish_event, published_data
from tests.support import eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.events import (
    Envelope,
    Event,
    PaymentCreated,
    Subject,
    TicketCreated,
    TicketUpdated,
)
from ticketing.orders.models import Order, Ticket


async def make_ticket(sessions: async_sessionmaker[AsyncSession], **overrides) -> Ticket:
    """A replica row written directly, for route tests that are not about replication."""
    values = {
        "id": uuid4(),
        "title": f"Show {uuid4().hex[:6]}",
        "price_cents": 2050,
        "user_id": uuid4(),
        "version": 0,
        "status": "available",
        "withdrawn": False,
    } | overrides
    ticket = Ticket(**values)
    async with sessions() as db, db.begin():
        db.add(ticket)
    return ticket


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


async def replica(sessions: async_sessionmaker[AsyncSession], ticket_id: UUID) -> Ticket | None:
    async with sessions() as db:
        return await db.get(Ticket, ticket_id)


async def order_row(sessions: async_sessionmaker[AsyncSession], order_id: UUID) -> Order | None:
    async with sessions() as db:
        return await db.get(Order, order_id)


async def orders_for_ticket(sessions, ticket_id: UUID) -> list[Order]:
    async with sessions() as db:
        query = select(Order).where(Order.ticket_id == ticket_id)
        return list((await db.execute(query)).scalars())


class EventBus:
    """The other services' side of the bus: publish their events, read the app's."""

    def __init__(self, js, names: BusNames) -> None:
        self.js = js
        self.names = names

    async def publish(self, event: Event, envelope_id: UUID | None = None) -> Envelope:
        return await publish_event(self.js, self.names, event, envelope_id)

    async def published(self, subject: Subject) -> list[dict]:
        return await published_data(self.js, self.names, subject)

    async def wait_for(self, subject: Subject, count: int = 1, timeout: float = 5) -> list[dict]:
        """At least `count` messages on `subject`; returns them all."""

        async def enough():
            found = await self.published(subject)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)

    async def list_ticket(self, sessions, **overrides) -> TicketCreated:
        """Publish ticket.created and wait for the replica to hold it."""
        event = ticket_created(**overrides)
        await self.publish(event)
        await eventually(lambda: replica(sessions, event.id))
        return event
