"""Payments test data: orders events, the rows payments keeps, and the bus seen from outside."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.common.bus_support import EventBus
from tests.support import Person, eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.tables import outbox
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderTicket,
    SoldTicket,
)
from ticketing.payments.models import Order, Payment, PaymentAttempt, StripeEvent

ORDERS, ATTEMPTS, PAYMENTS = Order.__table__, PaymentAttempt.__table__, Payment.__table__
STRIPE_EVENTS = StripeEvent.__table__


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
    return OrderCancelled(id=order.id, version=version, ticket=SoldTicket(id=order.ticket.id))


def order_completed(order: OrderCreated, version: int = 1) -> OrderCompleted:
    return OrderCompleted(id=order.id, version=version, ticket=SoldTicket(id=order.ticket.id))


async def replica(engine: AsyncEngine, order_id: UUID) -> Row[Any] | None:
    async with engine.connect() as db:
        return (await db.execute(select(ORDERS).where(ORDERS.c.id == order_id))).first()


async def payments_for(engine: AsyncEngine, order_id: UUID) -> list[Row[Any]]:
    async with engine.connect() as db:
        query = select(PAYMENTS).where(PAYMENTS.c.order_id == order_id)
        return list((await db.execute(query)).all())


async def attempts_for(engine: AsyncEngine, order_id: UUID) -> list[Row[Any]]:
    async with engine.connect() as db:
        query = select(ATTEMPTS).where(ATTEMPTS.c.order_id == order_id)
        return list((await db.execute(query.order_by(ATTEMPTS.c.created_at))).all())


async def staged_events(engine: AsyncEngine) -> int:
    """Rows ever written to the outbox: what the service has published or will publish."""
    async with engine.connect() as db:
        return (await db.execute(select(func.count()).select_from(outbox))).scalar_one()


class PaymentsBus(EventBus):
    """The orders service's side of the bus, waiting until payments' replica has followed."""

    def __init__(self, js, names: BusNames, engine: AsyncEngine) -> None:
        super().__init__(js, names)
        self.engine = engine

    async def place_order(self, buyer: Person, price: int = 2050) -> OrderCreated:
        """Publish order.created and wait until payments' replica holds it."""
        event = order_created(buyer.id, price)
        await self.publish(event)
        await eventually(lambda: replica(self.engine, event.id))
        return event

    async def cancel(self, order: OrderCreated, version: int = 1) -> None:
        await self.publish(order_cancelled(order, version))

        async def cancelled():
            row = await replica(self.engine, order.id)
            return row is not None and row.status == "cancelled"

        await eventually(cancelled)


async def pay(client: httpx.AsyncClient, who: Person, order_id, token: str = "tok_visa"):
    return await client.post(
        "/api/payments", json={"token": token, "orderId": str(order_id)}, headers=who.headers
    )


async def stripe_events(engine: AsyncEngine) -> int:
    async with engine.connect() as db:
        return (await db.execute(select(func.count()).select_from(STRIPE_EVENTS))).scalar_one()


async def awaiting_authentication(client, bus, buyer: Person, token="tok_threeDSecure2Required"):
    """An order whose payment waits for its buyer's 3-D Secure: (order, intent id)."""
    order = await bus.place_order(buyer)
    response = await pay(client, buyer, order.id, token=token)
    assert response.status_code == 202, response.text
    return order, response.json()["clientSecret"].split("_secret_")[0]
