"""Notifications' data access: replicas, the sent-log and the mails' sending state."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.prepared import driver_under
from ticketing.common.rows import columns, fields_of, insert_new, many, table, value, values
from ticketing.common.wakeups import Bell
from ticketing.notifications import domain, models
from ticketing.notifications.domain import MailStatus

PEOPLE = table(models.Person)
ORDERS = table(models.Order)
MAILS = table(models.Mail)
# This process's sender: rung once a new mail is committed.
SENDER = Bell()


# Read for every mail: built once, as building a statement per event cost more than
# running it.
_PEOPLE = select(*columns(PEOPLE, domain.Person)).where(
    PEOPLE.c.id.in_(bindparam("ids", expanding=True))
)
_ORDER = select(*columns(ORDERS, domain.Order)).where(ORDERS.c.id == bindparam("order_id"))


async def add_person(db: AsyncConnection, person: domain.Person) -> bool:
    """False for someone known already (a replayed user.created)."""
    return await insert_new(db, PEOPLE, values(person))


async def people(db: AsyncConnection, ids: Iterable[UUID]) -> dict[UUID, domain.Person]:
    found = (await db.execute(_PEOPLE, {"ids": list(ids)})).all()
    return {person.id: person for person in many(domain.Person, found)}


async def add_order(db: AsyncConnection, order: domain.Order) -> bool:
    return await insert_new(db, ORDERS, values(order))


async def order(db: AsyncConnection, order_id: UUID) -> domain.Order | None:
    row = (await db.execute(_ORDER, {"order_id": order_id})).first()
    return value(domain.Order, row) if row else None


_QUEUE = (
    insert(models.Mail)
    .values({name: bindparam(name) for name in fields_of(domain.Mail)})
    .on_conflict_do_nothing(index_elements=[MAILS.c.event_id, MAILS.c.recipient])
    .returning(MAILS.c.id)
)


async def queue(db: AsyncConnection, mails: Sequence[domain.Mail]) -> bool:
    """Insert, don't check: the sent-log's unique (event_id, recipient) makes a mail already
    written a no-op, so a re-sent event writes nothing, and the sender is woken (once the
    transaction commits) only if a mail is new. True if any was new.

    In statements built once: a multi-row VALUES was compiled anew for every event, the
    largest single cost of a mail."""
    if not mails:
        return False
    if len(mails) == 1:  # most events
        new = (await db.execute(_QUEUE, values(mails[0]))).first() is not None
    else:
        new = bool((await db.execute(_QUEUE, [values(mail) for mail in mails])).all())
    if new:
        SENDER.after_commit(driver_under(db))
    return new


async def claim_due(
    db: AsyncConnection, now: datetime, limit: int, lease: timedelta
) -> list[domain.Mail]:
    """Up to `limit` pending mails that are due, leased to this sender: their next attempt
    moves past the lease, so no other sender takes them while this one tries (and if it
    dies, they are due again when the lease ends). SKIP LOCKED hands each to one replica."""
    due = (
        select(MAILS.c.id)
        .where(MAILS.c.status == MailStatus.PENDING, MAILS.c.next_attempt_at <= now)
        .order_by(MAILS.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await db.execute(
        update(models.Mail)
        .where(MAILS.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease, attempts=MAILS.c.attempts + 1)
        .returning(*columns(MAILS, domain.Mail))
    )
    return sorted(many(domain.Mail, claimed.all()), key=lambda mail: mail.created_at)


async def mark_sent(db: AsyncConnection, mail_ids: Sequence[UUID], now: datetime) -> None:
    await db.execute(
        update(models.Mail)
        .where(MAILS.c.id.in_(mail_ids), MAILS.c.status == MailStatus.PENDING)
        .values(status=MailStatus.SENT, sent_at=now, last_error=None)
    )


async def mark_failed(db: AsyncConnection, mail_id: UUID, retry_at: datetime, error: str) -> None:
    await db.execute(
        update(models.Mail)
        .where(MAILS.c.id == mail_id, MAILS.c.status == MailStatus.PENDING)
        .values(next_attempt_at=retry_at, last_error=error[:2000])
    )


async def mark_given_up(db: AsyncConnection, mail_id: UUID, error: str) -> None:
    await db.execute(
        update(models.Mail)
        .where(MAILS.c.id == mail_id, MAILS.c.status == MailStatus.PENDING)
        .values(status=MailStatus.FAILED, last_error=error[:2000])
    )


async def count_with_status(db: AsyncConnection, status: MailStatus) -> int:
    query = select(func.count()).select_from(MAILS).where(MAILS.c.status == status)
    count: int = (await db.execute(query)).scalar_one()
    return count


async def delete_finished(db: AsyncConnection, before: datetime) -> int:
    """Mails sent, or given up, before `before` (a mail given up: by when it was written);
    never one still waiting to be sent."""
    finished = MAILS.c.status.in_([MailStatus.SENT, MailStatus.FAILED])
    ended = func.coalesce(MAILS.c.sent_at, MAILS.c.created_at)
    result = await db.execute(delete(models.Mail).where(finished, ended < before))
    return result.rowcount


async def next_attempt_at(db: AsyncConnection) -> datetime | None:
    query = select(func.min(MAILS.c.next_attempt_at)).where(MAILS.c.status == MailStatus.PENDING)
    next_at: datetime | None = (await db.execute(query)).scalar_one()
    return next_at


async def pending_count(db: AsyncConnection) -> int:
    """Mails written and not yet accepted by the server."""
    query = select(func.count()).select_from(models.Mail)
    query = query.where(MAILS.c.status == MailStatus.PENDING)
    count: int = (await db.execute(query)).scalar_one()
    return count
