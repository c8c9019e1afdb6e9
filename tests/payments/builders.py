"""Payments test data: orders events and the bus seen from outside."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.common.bus_support import publish_event, published_data
from tests.support import Person, eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.tables import outbox
from ticketing.common.events import (
    Envelope,
    Event,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    Subject,
)
from ticketing.payments.models import Order, Payment, PaymentAttempt


def order_created(buyer: UUID | None = None, price: int = 2050, **overrides) -> OrderCreated:
    values = {
        "id": uuid4(),
        "version": 0,
        "status": "created",
        "user_id": buyer or uuid4(),
        "expires_at": datetime.now(UTC) + timedelta(minutes=15),
        "ticket": OrderTicket(id=uuid4(), price=price),
    } | overrides
    return OrderCreated(**values)


def order_cancelled(order: OrderCreated, version: int = 1) -> OrderCancelled:
    return OrderCancelled(id=order.id, version=version, ticket=OrderRef(id=order.ticket.id))


def order_completed(order: OrderCreated, version: int = 1) -> OrderCompleted:
    return OrderCompleted(id=order.id, version=version, ticket=OrderRef(id=order.ticket.id))


async def replica(sessions: async_sessionmaker[AsyncSession], order_id: UUID) -> Order | None:
    async with sessions() as db:
        return await db.get(Order, order_id)


async def payments_for(sessions, order_id: UUID) -> list[Payment]:
    async with sessions() as db:
        return list((await db.scalars(select(Payment).where(Payment.order_id == order_id))).all())


async def attempts_for(sessions, order_id: UUID) -> list[PaymentAttempt]:
    async with sessions() as db:
        query = select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
        return list((await db.scalars(query.order_by(PaymentAttempt.created_at))).all())


async def staged_events(sessions) -> int:
    """Rows ever written to the outbox: what the service has published or will publish."""
    async with sessions() as db:
        return await db.scalar(select(func.count()).select_from(outbox))


class EventBus:
    """The orders service's side of the bus: publish its events, read payments' events."""

    def __init__(self, js, names: BusNames, sessions) -> None:
        self.js = js
        self.names = names
        self.sessions = sessions

    async def publish(self, event: Event) -> Envelope:
        return await publish_event(self.js, self.names, event)

    async def published(self, subject: Subject) -> list[dict]:
        return await published_data(self.js, self.names, subject)

    async def wait_for(self, subject: Subject, count: int = 1, timeout: float = 5) -> list[dict]:
        async def enough():
            found = await self.published(subject)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)

    async def place_order(self, buyer: Person, price: int = 2050) -> OrderCreated:
        """Publish order.created and wait until payments' replica holds it."""
        event = order_created(buyer.id, price)
        await self.publish(event)
        await eventually(lambda: replica(self.sessions, event.id))
        return event

    async def cancel(self, order: OrderCreated, version: int = 1) -> None:
        await self.publish(order_cancelled(order, version))

        async def cancelled():
            row = await replica(self.sessions, order.id)
            return row is not None and row.status == "cancelled"

        await eventually(cancelled)


async def pay(client: httpx.AsyncClient, who: Person, order_id, token: str = "tok_visa"):
    return await client.post(
        "/api/payments", json={"token": token, "orderId": str(order_id)}, headers=who.headers
    )
