"""Payments' listeners: the orders replica, refunds when a paid order is cancelled, and the
sellers' ledger (a sale on completion, its release on admission)."""

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    PassAdmitted,
    Subject,
)
from ticketing.payments import charging, service
from ticketing.payments.providers import PaymentProvider
from ticketing.payments.settings import PaymentsSettings


async def on_order_created(db: AsyncConnection, event: OrderCreated) -> None:
    await service.add_order(db, event)


async def on_order_cancelled(
    db: AsyncConnection, event: OrderCancelled, *, provider: PaymentProvider
) -> None:
    """A payment that landed before the cancellation is refunded now, or by the reconciler."""
    payment = await service.cancel_order(db, event.id, event.version)
    if payment is not None:
        await charging.refund_now(db, provider, payment)


async def on_order_completed(
    db: AsyncConnection, event: OrderCompleted, *, settings: PaymentsSettings
) -> None:
    """The replica and the seller's sale in one transaction: both happen, once, or neither."""
    await service.complete_order(db, event.id, event.version)
    await service.post_sale(
        db,
        event.id,
        event.ticket.seller_id,
        fee_percent=settings.platform_fee_percent,
        currency=settings.currency,
    )


async def on_pass_admitted(db: AsyncConnection, event: PassAdmitted) -> None:
    """The buyer got in: the seller's money for that sale need not wait out the hold."""
    if event.order_id is not None:
        await service.release_admitted_sale(db, event.order_id)


def subscriptions(
    provider: PaymentProvider, settings: PaymentsSettings | None = None
) -> Subscriptions:
    """Built per app, not a module constant: the cancellation handler needs the provider,
    the sale its fee and currency (the settings' defaults when none are given, for a
    caller that only asks which subjects are followed)."""
    settings = settings or PaymentsSettings.model_construct()
    # Each handler takes its own event class; the listener base hands it only that one.
    handlers: dict[Subject, Callable[..., Awaitable[None]]] = {
        Subject.ORDER_CREATED: on_order_created,
        Subject.ORDER_CANCELLED: partial(on_order_cancelled, provider=provider),
        Subject.ORDER_COMPLETED: partial(on_order_completed, settings=settings),
        Subject.PASS_ADMITTED: on_pass_admitted,
    }
    return handlers
