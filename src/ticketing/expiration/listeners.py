"""Expiration's event handlers: arm a timer per new order, disarm it when the order ends."""

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.common.events import OrderCancelled, OrderCompleted, OrderCreated, Subject
from ticketing.expiration import service


async def on_order_created(db: AsyncSession, event: OrderCreated) -> None:
    await service.arm_timer(db, event.id, event.expires_at)


async def on_order_cancelled(db: AsyncSession, event: OrderCancelled) -> None:
    """Keeps the table bounded; if this arrives before order.created, the stray timer's
    expiration.complete is ignored by orders, since the order is no longer open."""
    await service.disarm_timer(db, event.id)


async def on_order_completed(db: AsyncSession, event: OrderCompleted) -> None:
    await service.disarm_timer(db, event.id)


SUBSCRIPTIONS = {
    Subject.ORDER_CREATED: on_order_created,
    Subject.ORDER_CANCELLED: on_order_cancelled,
    Subject.ORDER_COMPLETED: on_order_completed,
}
