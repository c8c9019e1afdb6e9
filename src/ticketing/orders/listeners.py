"""Orders' event handlers: the tickets replica, expirations and payments."""

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.common.bus.versions import StaleEvent, require_next_version
from ticketing.common.events import (
    ExpirationComplete,
    PaymentCreated,
    Subject,
    TicketCreated,
    TicketDeleted,
    TicketUpdated,
)
from ticketing.orders import domain, service


async def on_ticket_created(db: AsyncSession, event: TicketCreated) -> None:
    if not await service.add_replica(db, event):
        raise StaleEvent(f"ticket {event.id} already replicated")


async def on_ticket_updated(db: AsyncSession, event: TicketUpdated) -> None:
    await service.follow_listing(db, event)


async def on_ticket_deleted(db: AsyncSession, event: TicketDeleted) -> None:
    """A withdrawn listing stays as a row (orders point at it) but can no longer be ordered."""
    replica = await service.replica_for_update(db, event.id)
    require_next_version(replica.version if replica else None, event.version)
    domain.withdraw(replica, event.version)


async def on_expiration_complete(db: AsyncSession, event: ExpirationComplete) -> None:
    await service.expire_order(db, event.order_id)


async def on_payment_created(db: AsyncSession, event: PaymentCreated) -> None:
    await service.complete_order(db, event)


SUBSCRIPTIONS = {
    Subject.TICKET_CREATED: on_ticket_created,
    Subject.TICKET_UPDATED: on_ticket_updated,
    Subject.TICKET_DELETED: on_ticket_deleted,
    Subject.EXPIRATION_COMPLETE: on_expiration_complete,
    Subject.PAYMENT_CREATED: on_payment_created,
}
