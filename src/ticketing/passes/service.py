"""Passes' use cases; each runs on the caller's connection and never commits."""

import logging
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common import events
from ticketing.common.bus import outbox
from ticketing.common.bus.versions import StaleEvent
from ticketing.common.metrics import business
from ticketing.common.paging import cut
from ticketing.common.refusals import Invalid
from ticketing.passes import domain, store
from ticketing.passes.domain import Door, Pass, PassStatus, Sale

log = logging.getLogger(__name__)


# issuing (order.completed)


async def issue_pass(db: AsyncConnection, event: events.OrderCompleted, *, key: bytes) -> None:
    """The buyer gets a pass; the ticket's pass before it, if any, stops counting, in the same
    transaction. One pass per order: a re-sent order.completed is stale, and must not revoke
    the pass of whoever bought the ticket since."""
    sale = _sale(event)
    if sale is None:
        log.warning("order.completed %s does not say who bought what; no pass issued", event.id)
        return
    if await store.pass_for_order(db, sale.order_id) is not None:
        raise StaleEvent(f"order {sale.order_id} has its pass already")
    revoked = await store.revoke_valid(db, sale.ticket_id)
    for old in revoked:
        await outbox.stage(db, _revoked(old))
    if not revoked:
        await _warn_if_admitted(db, sale)
    new = domain.issue(sale, pass_id=uuid4(), key=key, now=datetime.now(UTC))
    if not await store.issue(db, new):  # another delivery issued it meanwhile
        raise StaleEvent(f"order {sale.order_id} has its pass already")
    await outbox.stage(db, _issued(new))
    business("passes", "pass_issued")


async def _warn_if_admitted(db: AsyncConnection, sale: Sale) -> None:
    """A resale completed after the seller's pass was scanned: both went in on one ticket.
    The used pass stays used (the door said yes); someone should hear of it."""
    previous = await store.latest_of_ticket(db, sale.ticket_id)
    if previous is not None and previous.status == PassStatus.USED:
        log.warning(
            "ticket %s resold (order %s) after its pass %s was admitted",
            sale.ticket_id,
            sale.order_id,
            previous.id,
        )
        business("passes", "resold_after_admission")


def _sale(event: events.OrderCompleted) -> Sale | None:
    """None for an order.completed from before events said who paid what."""
    ticket = event.ticket
    if event.user_id is None or ticket.price is None or ticket.title is None:
        return None
    return Sale(event.id, ticket.id, event.user_id, ticket.title, ticket.price)


# the holder


async def passes_page(
    db: AsyncConnection, holder: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> tuple[list[Pass], str | None]:
    """The holder's passes, newest first, and the cursor of the next page if there is one."""
    found = await store.passes_of(db, holder, limit=limit + 1, after=after)
    return cut(found, limit, lambda held: (held.created_at, held.id))


async def pass_for(db: AsyncConnection, pass_id: UUID, *, holder: UUID) -> Pass:
    return domain.check_holder(await store.pass_by_id(db, pass_id), holder)


async def resell(
    db: AsyncConnection, pass_id: UUID, *, holder: UUID, price_cents: int, cap: Decimal
) -> Pass:
    """Put the ticket back on sale through tickets (pass.listed), at most at the cap."""
    found = domain.check_holder(await store.pass_for_update(db, pass_id), holder)
    listed = domain.list_for_resale(found, price_cents, cap)
    if listed is None:  # listed at this price already
        return found
    await store.save_listing(db, listed)
    await outbox.stage(db, _listed(listed, domain.price_cap(listed, cap)))
    business("passes", "pass_listed")
    return listed


async def stop_reselling(db: AsyncConnection, pass_id: UUID, *, holder: UUID) -> None:
    """Harmless when not on sale: nothing changes and nothing is published."""
    found = domain.check_holder(await store.pass_for_update(db, pass_id), holder)
    if unlisted := domain.take_off_sale(found):
        await store.save_listing(db, unlisted)
        await outbox.stage(db, _unlisted(unlisted))


# the door


async def check_in(db: AsyncConnection, code: str) -> Pass:
    """Admit the code's pass once (guarantee: one UPDATE decides, never read-then-write);
    only a refused code is read afterwards, to say why."""
    code_hash = domain.secret_hash(code)
    admitted = await store.admit(db, code_hash)
    if admitted is None:
        business("passes", "admission_refused")
        raise domain.admission_refusal(await store.pass_by_code(db, code_hash))
    await outbox.stage(db, _admitted(admitted))
    business("passes", "pass_admitted")
    return admitted


async def door_for(db: AsyncConnection, token: str) -> Door | None:
    return await store.active_door(db, domain.secret_hash(token))


async def add_door(db: AsyncConnection, name: str) -> str:
    """A new door's token, shown this once: only its hash is kept."""
    token = secrets.token_urlsafe(32)
    if not await store.add_door(db, domain.check_door_name(name), domain.secret_hash(token)):
        raise Invalid(f"A door named {name!r} exists already; revoke it first", field="name")
    return token


async def doors(db: AsyncConnection) -> list[Door]:
    return await store.doors(db)


async def revoke_door(db: AsyncConnection, name: str) -> None:
    if not await store.revoke_door(db, domain.check_door_name(name)):
        raise Invalid(f"No active door named {name!r}", field="name")


# events


def _issued(issued: Pass) -> events.PassIssued:
    return events.PassIssued(
        id=issued.id,
        version=issued.version,
        ticket_id=issued.ticket_id,
        user_id=issued.user_id,
        order_id=issued.order_id,
    )


def _revoked(revoked: Pass) -> events.PassRevoked:
    return events.PassRevoked(
        id=revoked.id, version=revoked.version, ticket_id=revoked.ticket_id, user_id=revoked.user_id
    )


def _admitted(admitted: Pass) -> events.PassAdmitted:
    assert admitted.admitted_at is not None  # admit() stamped it
    return events.PassAdmitted(
        id=admitted.id,
        version=admitted.version,
        ticket_id=admitted.ticket_id,
        user_id=admitted.user_id,
        admitted_at=admitted.admitted_at,
        order_id=admitted.order_id,
    )


def _listed(listed: Pass, cap_cents: int) -> events.PassListed:
    assert listed.listed_price_cents is not None  # list_for_resale set it
    return events.PassListed(
        id=listed.id,
        version=listed.version,
        ticket_id=listed.ticket_id,
        user_id=listed.user_id,
        price=listed.listed_price_cents,
        price_cap=cap_cents,
    )


def _unlisted(unlisted: Pass) -> events.PassUnlisted:
    return events.PassUnlisted(
        id=unlisted.id,
        version=unlisted.version,
        ticket_id=unlisted.ticket_id,
        user_id=unlisted.user_id,
    )
