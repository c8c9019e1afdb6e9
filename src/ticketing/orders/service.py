"""Orders' use cases; each runs on the caller's connection and never commits."""

import logging
from datetime import UTC, datetime
from typing import NoReturn
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common import events
from ticketing.common.bus import outbox
from ticketing.common.bus.versions import require_next_version
from ticketing.common.metrics import business
from ticketing.common.paging import cut
from ticketing.common.refusals import Invalid
from ticketing.orders import domain, store
from ticketing.orders.domain import Listing, Order
from ticketing.orders.store import OrderView
from ticketing.orders.taken import TakenListings

log = logging.getLogger(__name__)


async def reserve_ticket(
    driver: asyncpg.Connection,
    ticket_id: UUID,
    *,
    buyer: UUID,
    window_seconds: int,
    taken: TakenListings,
) -> OrderView:
    """The partial unique index settles the race (guarantee 1); the first read only spares
    the work of an order for a ticket some order already holds. Once the database has said
    so, `taken` keeps the listing, and the ticket's next refusals read no table.

    Two statements, each standing alone (db.Driver): the order and its order.created are
    one, and a flash sale is mostly refusals, which then leave nothing behind.
    """
    if (known := taken.get(ticket_id)) is not None:
        domain.check_can_order(known, buyer)
        _refuse()
    read_at = taken.generation
    found, held = await store.listing_to_order(driver, ticket_id)
    listing = domain.check_can_order(found, buyer)
    if not held:
        order = domain.place(
            listing,
            order_id=uuid4(),
            buyer=buyer,
            now=datetime.now(UTC),
            window_seconds=window_seconds,
        )
        if await store.place_order(driver, order, _created(order, listing.title)):
            business("orders", "reservation_created")
            return order, listing
    taken.keep(listing, read_at=read_at)  # the database said an order holds it
    _refuse()


def _refuse() -> NoReturn:
    business("orders", "oversell_refused")
    raise Invalid(domain.TAKEN)


async def orders_page(
    db: AsyncConnection, owner: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> tuple[list[OrderView], str | None]:
    """The owner's orders, newest first, and the cursor of the next page if there is one."""
    views = await store.orders_of(db, owner, limit=limit + 1, after=after)
    return cut(views, limit, lambda view: (view[0].created_at, view[0].id))


async def order_for(db: AsyncConnection, order_id: UUID, *, owner: UUID) -> OrderView:
    view = await store.order_view(db, order_id)
    domain.check_owner(view[0] if view else None, owner)
    assert view is not None  # check_owner refused a missing order
    return view


async def cancel_order(db: AsyncConnection, order_id: UUID, *, owner: UUID) -> UUID:
    """Cancelling twice is harmless: the second call changes nothing and publishes nothing.
    Returns the order's ticket, which the caller forgets as taken once this commits."""
    order = domain.check_owner(await store.order_for_update(db, order_id), owner)
    if cancelled := domain.cancel(order):
        await store.save_status(db, cancelled)
        await outbox.stage(db, _cancelled(cancelled))
        business("orders", "reservation_cancelled")
    return order.ticket_id


async def expire_order(db: AsyncConnection, order_id: UUID) -> None:
    """Time is up: only an open order closes (a paid one stays paid, guarantee 5). One
    UPDATE both locks and decides, so a burst of expiries costs two statements each."""
    if closed := await store.close_open_order(db, order_id):
        await outbox.stage(db, _cancelled(closed))
        business("orders", "reservation_expired")
    elif not await store.order_exists(db, order_id):
        log.warning("expiration.complete for unknown order %s; ignored", order_id)


async def end_resale_orders(
    db: AsyncConnection, ticket_id: UUID, *, but: UUID | None = None
) -> None:
    """The holder took the resale down or used the pass: an open order for it can never be
    paid for a ticket that is no longer on sale, so it ends as an expiry would (tickets
    gives the ticket back to the holder on order.cancelled; payments refunds a charge that
    lands after). A completed order stays complete: the buyer paid first."""
    for closed in await store.close_open_orders_of(db, ticket_id, but=but):
        await outbox.stage(db, _cancelled(closed))
        business("orders", "reservation_resale_ended")


async def complete_order(db: AsyncConnection, payment: events.PaymentCreated) -> None:
    """A refused payment is logged and acknowledged, not retried into a dead letter: no
    later delivery of the same event can make it right. A cancelled order stays cancelled
    (domain.complete); payments refunds a charge that came late."""
    order = await store.order_for_update(db, payment.order_id)
    if refusal := domain.payment_refusal(order, payment.amount):
        log.error(
            "payment.created refused: %s (order %s, payment %s)",
            refusal,
            payment.order_id,
            payment.id,
        )
        business("orders", "payment_refused")
        return
    assert order is not None  # payment_refusal refused a missing order
    if completed := domain.complete(order):
        await store.save_status(db, completed)
        listing = await store.listing(db, completed.ticket_id)
        await outbox.stage(db, _completed(completed, listing))
        business("orders", "reservation_paid")


async def add_listing(db: AsyncConnection, event: events.TicketCreated) -> bool:
    """False if the replica already has this ticket (a re-sent ticket.created)."""
    return await store.add_listing(db, _listing(event))


async def follow_listing(db: AsyncConnection, event: events.TicketUpdated) -> None:
    """Replica follows the source in order: only version n-1 may become n. The next version,
    nearly always, is one UPDATE; anything else is told apart under a row lock."""
    source = _listing(event)
    if not await store.follow_listing(db, source):
        replica = await store.listing_for_update(db, event.id)
        require_next_version(replica.version if replica else None, event.version)
        assert replica is not None  # require_next_version refused a missing replica
        await store.save_listing(db, domain.follow(replica, source))  # became n-1 meanwhile
    if event.status == "sold":
        # Sold to `order_id` (or, a resale taken down, back to its holder): an open order
        # placed while the replica still said available can never have it. Tickets refused
        # its reservation; ending it here keeps it from being paid for nothing.
        await end_resale_orders(db, event.id, but=event.order_id)


async def withdraw_listing(db: AsyncConnection, event: events.TicketDeleted) -> None:
    """A withdrawn listing stays as a row (orders point at it) but can no longer be ordered."""
    replica = await store.listing_for_update(db, event.id)
    require_next_version(replica.version if replica else None, event.version)
    assert replica is not None  # require_next_version refused a missing replica
    await store.save_listing(db, domain.withdraw(replica, event.version))


def _listing(event: events.TicketCreated | events.TicketUpdated) -> Listing:
    if isinstance(event, events.TicketUpdated):
        status, sale = event.status, event.sale
    else:
        status, sale = "available", 0
    return Listing(
        event.id, event.title, event.price, event.user_id, event.version, status, sale=sale
    )


def _created(order: Order, title: str) -> events.OrderCreated:
    return events.OrderCreated(
        id=order.id,
        version=order.version,
        status=order.status.value,
        user_id=order.user_id,
        expires_at=order.expires_at,
        ticket=events.OrderTicket(id=order.ticket_id, price=order.price_cents, title=title),
    )


def _cancelled(order: Order) -> events.OrderCancelled:
    return events.OrderCancelled(
        id=order.id, version=order.version, ticket=events.OrderRef(id=order.ticket_id)
    )


def _completed(order: Order, listing: Listing | None) -> events.OrderCompleted:
    """Says what was bought, by whom, from whom, for how much: passes issues the buyer's
    pass from it, and payments credits the seller."""
    return events.OrderCompleted(
        id=order.id,
        version=order.version,
        user_id=order.user_id,
        ticket=events.SoldTicket(
            id=order.ticket_id,
            price=order.price_cents,
            title=listing.title if listing else None,
            seller_id=listing.user_id if listing else None,
        ),
    )
