"""Payments' listeners: the orders replica, and refunds when a paid order is cancelled."""

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.bus.versions import StaleEvent
from ticketing.common.events import OrderCancelled, OrderCompleted, OrderCreated, Subject
from ticketing.payments import charging, domain, service
from ticketing.payments.domain import OrderStatus
from ticketing.payments.providers import PaymentProvider


async def on_order_created(db: AsyncSession, event: OrderCreated) -> None:
    if not await service.add_order(db, event):
        raise StaleEvent(f"order {event.id} already replicated")


async def on_order_cancelled(
    db: AsyncSession, event: OrderCancelled, *, provider: PaymentProvider
) -> None:
    """Nobody pays for nothing: a payment that landed before the cancellation is refunded.
    The order row lock orders this against a charge being settled (charging.drive)."""
    order = await service.locked_order(db, event.id)
    domain.follow(order, event.version, OrderStatus.CANCELLED)
    payment = await service.unrefunded_payment(db, event.id)
    if payment is not None:
        if payment.refund_requested_at is None:
            service.mark_for_refund(payment, domain.ORDER_CANCELLED)
        await charging.refund_now(db, provider, payment)


async def on_order_completed(db: AsyncSession, event: OrderCompleted) -> None:
    order = await service.locked_order(db, event.id)
    domain.follow(order, event.version, OrderStatus.COMPLETE)


def subscriptions(provider: PaymentProvider) -> Subscriptions:
    """Built per app, not a module constant: the cancellation handler needs the provider."""
    return {
        Subject.ORDER_CREATED: on_order_created,
        Subject.ORDER_CANCELLED: partial(on_order_cancelled, provider=provider),
        Subject.ORDER_COMPLETED: on_order_completed,
    }
