"""Mail use cases, each given a connection already in a transaction (the caller commits).

An event's mails are written in the listener's transaction, with its processed-event record:
they exist exactly when the event took effect. The sender delivers them afterwards.
"""

import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.versions import VersionGap
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    PassRevoked,
    PayoutSent,
    UserCreated,
)
from ticketing.notifications import domain, store
from ticketing.notifications.domain import Mail, MailKind, Site

log = logging.getLogger(__name__)

# (kind, recipient, facts): one mail an event calls for
Wanted = tuple[MailKind, UUID, dict[str, Any]]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def remember_person(db: AsyncConnection, event: UserCreated) -> None:
    """Insert-new: a replayed user.created is stale and changes nothing."""
    await store.add_person(db, domain.Person(id=event.id, email=event.email))


async def order_reserved(db: AsyncConnection, event: OrderCreated, site: Site) -> None:
    """Keep the order for the mail its end will need, and tell the buyer to pay in time."""
    order = domain.Order(
        id=event.id,
        buyer=event.user_id,
        title=event.ticket.title,
        price_cents=event.ticket.price,
        expires_at=event.expires_at,
        ticket_id=event.ticket.id,
    )
    await store.add_order(db, order)
    facts = {
        "order_id": order.id,
        "title": order.title,
        "price_cents": order.price_cents,
        "expires_at": order.expires_at,
    }
    key = domain.event_key(event.subject, event.id, event.version)
    await _queue(db, site, key, [(MailKind.RESERVED, order.buyer, facts)])


async def order_completed(db: AsyncConnection, event: OrderCompleted, site: Site) -> None:
    """A receipt to the buyer and word to the seller. Fields an older event lacks come from
    the order.created replica when it is here; a mail whose recipient no one names is
    skipped, with a warning, rather than held for ever."""
    replica = await store.order(db, event.id)
    buyer = event.user_id or (replica.buyer if replica else None)
    facts = {
        "order_id": event.id,
        "title": event.ticket.title or (replica.title if replica else None),
        "price_cents": event.ticket.price or (replica.price_cents if replica else None),
    }
    wanted: list[Wanted] = []
    if buyer is None:
        log.warning("order.completed %s names no buyer: no receipt sent", event.id)
    else:
        wanted.append((MailKind.RECEIPT, buyer, facts))
    if event.ticket.seller_id is None:
        log.warning("order.completed %s names no seller: no sold mail sent", event.id)
    else:
        wanted.append((MailKind.SOLD, event.ticket.seller_id, facts))
    await _queue(db, site, domain.event_key(event.subject, event.id, event.version), wanted)


async def order_ended(db: AsyncConnection, event: OrderCancelled, site: Site) -> None:
    """order.cancelled names neither buyer nor title: wait for its order.created."""
    order = await store.order(db, event.id)
    if order is None:
        raise VersionGap(f"order {event.id} cancelled before its order.created arrived")
    facts = {"order_id": order.id, "title": order.title}
    key = domain.event_key(event.subject, event.id, event.version)
    await _queue(db, site, key, [(MailKind.ENDED, order.buyer, facts)])


async def resale_sold(db: AsyncConnection, event: PassRevoked, site: Site) -> None:
    facts = {"pass_id": event.id, "ticket_id": event.ticket_id}
    key = domain.event_key(event.subject, event.id, event.version)
    await _queue(db, site, key, [(MailKind.RESALE_SOLD, event.user_id, facts)])


async def payout_sent(db: AsyncConnection, event: PayoutSent, site: Site) -> None:
    """A payout is sent once (payments keeps it so): its id alone names the fact."""
    facts = {"payout_id": event.id, "amount_cents": event.amount, "currency": event.currency}
    key = domain.event_key(event.subject, event.id)
    await _queue(db, site, key, [(MailKind.PAYOUT, event.user_id, facts)])


async def _queue(db: AsyncConnection, site: Site, event_id: UUID, wanted: list[Wanted]) -> None:
    """Every recipient's address must be known, or the whole event waits (VersionGap: it is
    retried until their user.created has arrived)."""
    if not wanted:
        return
    known = await store.people(db, (recipient for _, recipient, _ in wanted))
    if missing := {recipient for _, recipient, _ in wanted} - set(known):
        raise VersionGap(f"no address yet for {', '.join(sorted(map(str, missing)))}")
    now = utc_now()
    mails = [
        domain.compose(kind, site, known[recipient], facts, event_id=event_id, now=now)
        for kind, recipient, facts in wanted
    ]
    await store.queue(db, mails)


async def claim_due(db: AsyncConnection, now: datetime, *, limit: int, lease: float) -> list[Mail]:
    return await store.claim_due(db, now, limit, timedelta(seconds=lease))


async def record_sent(db: AsyncConnection, mails: Sequence[Mail], now: datetime) -> None:
    """A batch's accepted mails, in one statement."""
    if mails:
        await store.mark_sent(db, [mail.id for mail in mails], now)


async def record_failure(
    db: AsyncConnection,
    mail: Mail,
    now: datetime,
    error: str,
    *,
    refused_for_good: bool,
    cap: float,
    give_up_after: float,
) -> timedelta | None:
    """Try again later, backing off with each attempt: the delay chosen; or, for a mail
    refused for good or past the give-up time, no more tries (None)."""
    if domain.given_up(mail, now, refused_for_good=refused_for_good, after=give_up_after):
        await store.mark_given_up(db, mail.id, error)
        return None
    delay = domain.retry_delay(mail.attempts, random.random(), cap)
    await store.mark_failed(db, mail.id, now + delay, error)
    return delay


async def seconds_to_sleep(db: AsyncConnection, now: datetime, cap: float) -> float:
    """Until the next pending mail is due, never past `cap`."""
    return domain.sleep_seconds(await store.next_attempt_at(db), now, cap)


async def forget_old_mails(db: AsyncConnection, now: datetime, keep_days: int) -> int:
    """A mail holds a person's address and what they were told: kept `keep_days` once sent
    or given up, then deleted. A redelivered event does not mail twice meanwhile or after:
    its processed-event record, kept as long as the stream could deliver it again, stops it
    before any mail is written."""
    return await store.delete_finished(db, now - timedelta(days=keep_days))
