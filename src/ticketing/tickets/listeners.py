"""Tickets follow orders: created reserves, cancelled releases, completed sells."""

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import OrderCancelled, OrderCompleted, OrderCreated, Subject
from ticketing.tickets import service


async def on_order_created(db: AsyncConnection, event: OrderCreated) -> None:
    await service.reserve_ticket(db, event)


async def on_order_cancelled(db: AsyncConnection, event: OrderCancelled) -> None:
    """Only the order that still holds the ticket frees it; any other cancel changes nothing."""
    await service.release_ticket(db, event)


async def on_order_completed(db: AsyncConnection, event: OrderCompleted) -> None:
    await service.sell_ticket(db, event)


SUBSCRIPTIONS: Subscriptions = {
    Subject.ORDER_CREATED: on_order_created,
    Subject.ORDER_CANCELLED: on_order_cancelled,
    Subject.ORDER_COMPLETED: on_order_completed,
}
