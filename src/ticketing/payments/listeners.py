"""Payments' listeners: the orders replica, and refunds when a paid order is cancelled."""

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import OrderCancelled, OrderCompleted, OrderCreated, Subject
from ticketing.payments import charging, service
from ticketing.payments.providers import PaymentProvider


async def on_order_created(db: AsyncConnection, event: OrderCreated) -> None:
    await service.add_order(db, event)


async def on_order_cancelled(
    db: AsyncConnection, event: OrderCancelled, *, provider: PaymentProvider
) -> None:
    """A payment that landed before the cancellation is refunded now, or by the reconciler."""
    payment = await service.cancel_order(db, event.id, event.version)
    if payment is not None:
        await charging.refund_now(db, provider, payment)


async def on_order_completed(db: AsyncConnection, event: OrderCompleted) -> None:
    await service.complete_order(db, event.id, event.version)


def subscriptions(provider: PaymentProvider) -> Subscriptions:
    """Built per app, not a module constant: the cancellation handler needs the provider."""
    # Each handler takes its own event class; the listener base hands it only that one.
    handlers: dict[Subject, Callable[..., Awaitable[None]]] = {
        Subject.ORDER_CREATED: on_order_created,
        Subject.ORDER_CANCELLED: partial(on_order_cancelled, provider=provider),
        Subject.ORDER_COMPLETED: on_order_completed,
    }
    return handlers
