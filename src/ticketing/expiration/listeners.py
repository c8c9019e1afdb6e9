"""Expiration's event handlers: arm a timer per new order, disarm it when the order ends."""

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import OrderCancelled, OrderCompleted, OrderCreated, Subject
from ticketing.expiration import service


async def on_order_created(db: AsyncConnection, event: OrderCreated) -> None:
    await service.arm_timer(db, event.id, event.expires_at)


async def on_order_cancelled(db: AsyncConnection, event: OrderCancelled) -> None:
    """Keeps the table bounded; if this arrives before order.created, the stray timer's
    expiration.complete is ignored by orders, since the order is no longer open."""
    await service.disarm_timer(db, event.id)


async def on_order_completed(db: AsyncConnection, event: OrderCompleted) -> None:
    await service.disarm_timer(db, event.id)


# Each handler takes its own subject's event: Any, since no one type names them all.
SUBSCRIPTIONS: Subscriptions = {
    Subject.ORDER_CREATED: on_order_created,
    Subject.ORDER_CANCELLED: on_order_cancelled,
    Subject.ORDER_COMPLETED: on_order_completed,
}
