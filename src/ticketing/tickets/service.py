"""Tickets' use cases: the domain decides, the store writes, and each change stages its event
in the same statement; none commits (the route or the listener base owns the transaction)."""

import logging
from typing import TypeVar
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.versions import VersionGap
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    PassAdmitted,
    PassListed,
    PassUnlisted,
    TicketCreated,
    TicketDeleted,
    TicketUpdated,
)
from ticketing.common.refusals import Missing
from ticketing.common.rows import values
from ticketing.tickets import domain, store
from ticketing.tickets.domain import Reservation, Search, Status, Ticket

log = logging.getLogger(__name__)
E = TypeVar("E", TicketCreated, TicketUpdated)


async def list_tickets(
    driver: asyncpg.Connection, search: Search
) -> tuple[list[Ticket], str | None]:
    """One page, newest first, and the cursor of the next page when there is one."""
    return await store.page(driver, search)


async def get_ticket(db: AsyncConnection, ticket_id: UUID) -> Ticket:
    ticket = await store.find(db, ticket_id)
    if ticket is None or not domain.shown_to_public(ticket):
        raise Missing("Ticket not found")
    return ticket


async def create_ticket(
    driver: asyncpg.Connection, *, seller: UUID, title: str, price_cents: int
) -> Ticket:
    """Runs without a transaction: the listing and its ticket.created are one statement."""
    ticket = Ticket(id=uuid4(), title=title, price_cents=price_cents, user_id=seller)
    await store.add(driver, ticket, _as_event(TicketCreated, ticket))
    return ticket


async def edit_ticket(
    db: AsyncConnection, ticket_id: UUID, *, editor: UUID, title: str, price_cents: int
) -> Ticket:
    ticket = await _locked_or_missing(db, ticket_id)
    edited = domain.edit(ticket, editor=editor, title=title, price_cents=price_cents)
    await store.save(db, edited, _updated(edited))
    return edited


async def withdraw_ticket(db: AsyncConnection, ticket_id: UUID, *, seller: UUID) -> None:
    ticket = await _locked_or_missing(db, ticket_id)
    if withdrawn := domain.withdraw(ticket, seller=seller):
        await store.save(db, withdrawn, TicketDeleted(id=withdrawn.id, version=withdrawn.version))


async def _locked_or_missing(db: AsyncConnection, ticket_id: UUID) -> Ticket:
    ticket = await store.find(db, ticket_id, lock=True)
    if ticket is None:
        raise Missing("Ticket not found")
    return ticket


def _updated(ticket: Ticket) -> TicketUpdated:
    return _as_event(TicketUpdated, ticket)


def _as_event(kind: type[E], ticket: Ticket) -> E:
    """The ticket as it now stands, as `kind` says it; the wire calls the cents `price`."""
    return kind.model_validate({**values(ticket), "price": ticket.price_cents})


async def reserve_ticket(db: AsyncConnection, event: OrderCreated) -> None:
    ticket = await store.find(db, event.ticket.id, lock=True)
    if ticket is None:
        log.warning("order %s is for unknown ticket %s; ignored", event.id, event.ticket.id)
        return
    if not await store.first_news_of(
        db, event.id, ticket_id=ticket.id, buyer=event.user_id, version=event.version
    ):
        return  # a replay, or the order already ended before its creation reached us
    outcome, reserved = domain.reserve(ticket, event.id)
    if outcome is Reservation.RESERVED:
        await store.save(db, reserved, _updated(reserved))
    elif outcome is Reservation.HELD:
        # Orders' unique index let this order in, so the holder has ended: its
        # order.cancelled is still on its way. Wait for it rather than lose this one.
        log.warning("ticket %s held by %s; order %s waits", ticket.id, ticket.order_id, event.id)
        raise VersionGap(f"ticket {ticket.id} still held by order {ticket.order_id}")
    elif outcome is Reservation.REFUSED:
        log.warning("order %s for %s ticket %s; ignored", event.id, ticket.status, ticket.id)


async def release_ticket(db: AsyncConnection, event: OrderCancelled) -> None:
    ticket = await store.find(db, event.ticket.id, lock=True)
    if ticket is None:
        log.warning("cancelled order %s is for unknown ticket %s", event.id, event.ticket.id)
        return
    await store.note_end(
        db, event.id, ticket_id=ticket.id, status="cancelled", version=event.version
    )
    if released := domain.release(ticket, event.id):
        await store.save(db, released, _updated(released))


async def sell_ticket(db: AsyncConnection, event: OrderCompleted) -> None:
    ticket = await store.find(db, event.ticket.id, lock=True)
    if ticket is None:
        log.warning("completed order %s is for unknown ticket %s", event.id, event.ticket.id)
        return
    if not await store.is_known(db, event.id):
        raise VersionGap(f"order {event.id} completed before its creation arrived")
    await store.note_end(
        db, event.id, ticket_id=ticket.id, status="complete", version=event.version
    )
    if sold := domain.sell(ticket, event.id):
        await store.save(db, sold, _updated(sold))
    elif not domain.sold_to(ticket, event.id):
        log.warning("order %s completed but ticket %s is %s", event.id, ticket.id, ticket.status)


async def relist_ticket(db: AsyncConnection, event: PassListed) -> None:
    """The holder resells: their sold ticket goes back on sale, as their listing, capped."""
    ticket = await _pass_ticket(db, event)
    if ticket is None:
        return
    if domain.waits_for_sale(ticket, event.user_id):
        # The sale the pass came from has not reached this service yet (order.completed
        # comes through another consumer): retry once it has. Rolls back the pass's note.
        raise VersionGap(f"ticket {ticket.id} is {ticket.status}; pass {event.id} listed")
    buyer = await store.buyer_of(db, ticket.order_id) if ticket.order_id else None
    relisted = domain.relist(
        ticket,
        holder=event.user_id,
        price_cents=event.price,
        cap_cents=event.price_cap,
        buyer=buyer,
    )
    if relisted is not None:
        await store.save(db, relisted, _updated(relisted))
    elif ticket.status is not Status.AVAILABLE:
        log.warning("pass %s listed, but ticket %s is %s", event.id, ticket.id, ticket.status)


async def end_resale(db: AsyncConnection, event: PassUnlisted | PassAdmitted) -> None:
    """The holder's resale ends (taken down, or the pass used at the door): the ticket is
    theirs again, now or when the order holding it ends."""
    ticket = await _pass_ticket(db, event)
    if ticket is None:
        return
    if ended := domain.unlist(ticket, event.user_id):
        changed = ended.version != ticket.version
        await store.save(db, ended, _updated(ended) if changed else None)


async def _pass_ticket(
    db: AsyncConnection, event: PassListed | PassUnlisted | PassAdmitted
) -> Ticket | None:
    """The pass's ticket, locked; None (ignore the event) for an unknown ticket or an event
    older than one of the same pass already taken in."""
    ticket = await store.find(db, event.ticket_id, lock=True)
    if ticket is None:
        log.warning("%s for unknown ticket %s; ignored", event.subject, event.ticket_id)
        return None
    if not await store.newer_pass_event(db, event.id, ticket_id=ticket.id, version=event.version):
        log.info(
            "%s for pass %s v%s is out of date; ignored", event.subject, event.id, event.version
        )
        return None
    return ticket
