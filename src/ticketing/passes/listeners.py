"""Passes follow orders: a completed order issues its buyer a pass."""

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.events import OrderCompleted, Subject
from ticketing.passes import service


async def on_order_completed(db: AsyncConnection, event: OrderCompleted, *, key: bytes) -> None:
    await service.issue_pass(db, event, key=key)


def subscriptions(key: bytes) -> Subscriptions:
    """Built per app, not a module constant: a pass's code hash needs the app's key."""
    handlers: dict[Subject, Callable[..., Awaitable[None]]] = {
        Subject.ORDER_COMPLETED: partial(on_order_completed, key=key),
    }
    return handlers
