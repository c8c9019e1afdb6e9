"""Orders' event handlers: the tickets replica, expirations, payments, and resales ending."""

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.listener import Subscriptions
from ticketing.common.bus.versions import StaleEvent
from ticketing.common.events import (
    ExpirationComplete,
    PassAdmitted,
    PassUnlisted,
    PaymentCreated,
    Subject,
    TicketCreated,
    TicketDeleted,
    TicketUpdated,
)
from ticketing.orders import service


async def on_ticket_created(db: AsyncConnection, event: TicketCreated) -> None:
    if not await service.add_listing(db, event):
        raise StaleEvent(f"ticket {event.id} already replicated")


async def on_ticket_updated(db: AsyncConnection, event: TicketUpdated) -> None:
    await service.follow_listing(db, event)


async def on_ticket_deleted(db: AsyncConnection, event: TicketDeleted) -> None:
    await service.withdraw_listing(db, event)


async def on_expiration_complete(db: AsyncConnection, event: ExpirationComplete) -> None:
    await service.expire_order(db, event.order_id)


async def on_payment_created(db: AsyncConnection, event: PaymentCreated) -> None:
    await service.complete_order(db, event)


async def on_pass_admitted(db: AsyncConnection, event: PassAdmitted) -> None:
    await service.end_resale_orders(db, event.ticket_id)


async def on_pass_unlisted(db: AsyncConnection, event: PassUnlisted) -> None:
    await service.end_resale_orders(db, event.ticket_id)


SUBSCRIPTIONS: Subscriptions = {
    Subject.TICKET_CREATED: on_ticket_created,
    Subject.TICKET_UPDATED: on_ticket_updated,
    Subject.TICKET_DELETED: on_ticket_deleted,
    Subject.EXPIRATION_COMPLETE: on_expiration_complete,
    Subject.PAYMENT_CREATED: on_payment_created,
    Subject.PASS_ADMITTED: on_pass_admitted,
    Subject.PASS_UNLISTED: on_pass_unlisted,
}
