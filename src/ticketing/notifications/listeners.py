"""Notifications follow what happened to people: accounts, orders, passes, payouts."""

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    PassRevoked,
    PayoutSent,
    Subject,
    UserCreated,
)
from ticketing.notifications import service
from ticketing.notifications.domain import Site


async def on_user_created(db: AsyncConnection, event: UserCreated) -> None:
    await service.remember_person(db, event)


async def on_order_created(db: AsyncConnection, event: OrderCreated, *, site: Site) -> None:
    await service.order_reserved(db, event, site)


async def on_order_completed(db: AsyncConnection, event: OrderCompleted, *, site: Site) -> None:
    await service.order_completed(db, event, site)


async def on_order_cancelled(db: AsyncConnection, event: OrderCancelled, *, site: Site) -> None:
    await service.order_ended(db, event, site)


async def on_pass_revoked(db: AsyncConnection, event: PassRevoked, *, site: Site) -> None:
    await service.resale_sold(db, event, site)


async def on_payout_sent(db: AsyncConnection, event: PayoutSent, *, site: Site) -> None:
    await service.payout_sent(db, event, site)


def subscriptions(site: Site) -> Subscriptions:
    """Built per app, not a module constant: a mail is written, links and all, when its
    event arrives, so the handlers need the app's site."""
    handlers: dict[Subject, Callable[..., Awaitable[None]]] = {
        Subject.USER_CREATED: on_user_created,
        Subject.ORDER_CREATED: partial(on_order_created, site=site),
        Subject.ORDER_COMPLETED: partial(on_order_completed, site=site),
        Subject.ORDER_CANCELLED: partial(on_order_cancelled, site=site),
        Subject.PASS_REVOKED: partial(on_pass_revoked, site=site),
        Subject.PAYOUT_SENT: partial(on_payout_sent, site=site),
    }
    return handlers
