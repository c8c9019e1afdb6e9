"""Tickets follow orders (created reserves, cancelled releases, completed sells) and passes
(listed resells, unlisted or admitted ends the resale)."""

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    PassAdmitted,
    PassListed,
    PassUnlisted,
    Subject,
)
from ticketing.tickets import service


async def on_order_created(db: AsyncConnection, event: OrderCreated) -> None:
    await service.reserve_ticket(db, event)


async def on_order_cancelled(db: AsyncConnection, event: OrderCancelled) -> None:
    """Only the order that still holds the ticket frees it; any other cancel changes nothing."""
    await service.release_ticket(db, event)


async def on_order_completed(db: AsyncConnection, event: OrderCompleted) -> None:
    await service.sell_ticket(db, event)


async def on_pass_listed(db: AsyncConnection, event: PassListed) -> None:
    await service.relist_ticket(db, event)


async def on_pass_unlisted(db: AsyncConnection, event: PassUnlisted) -> None:
    await service.end_resale(db, event)


async def on_pass_admitted(db: AsyncConnection, event: PassAdmitted) -> None:
    """A pass used at the door cannot be sold on: its resale, if any, ends."""
    await service.end_resale(db, event)


SUBSCRIPTIONS: Subscriptions = {
    Subject.ORDER_CREATED: on_order_created,
    Subject.ORDER_CANCELLED: on_order_cancelled,
    Subject.ORDER_COMPLETED: on_order_completed,
    Subject.PASS_LISTED: on_pass_listed,
    Subject.PASS_UNLISTED: on_pass_unlisted,
    Subject.PASS_ADMITTED: on_pass_admitted,
}
