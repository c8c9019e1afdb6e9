"""Expiration's data access: the timer statements, on a connection the caller holds."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.prepared import Prepared, driver_under
from ticketing.common.rows import table
from ticketing.common.wakeups import Bell
from ticketing.expiration.models import Timer

TIMERS = table(Timer)
# This process's scheduler: rung once a new timer is committed, to re-read its next due time.
SCHEDULER = Bell()


@dataclass(frozen=True, slots=True)
class Fired:
    order_id: UUID
    fire_at: datetime


# A timer per order.created and per order.cancelled: built once, as building the
# statement per event cost more than running it.
_ARM = Prepared(
    insert(Timer)
    .values(order_id=bindparam("order_id"), fire_at=bindparam("fire_at"))
    .on_conflict_do_nothing(index_elements=[TIMERS.c.order_id])
    .returning(TIMERS.c.order_id)
)
_DISARM = Prepared(
    delete(Timer).where(TIMERS.c.order_id == bindparam("order_id"), TIMERS.c.fired_at.is_(None))
)


async def arm(db: AsyncConnection, order_id: UUID, fire_at: datetime) -> bool:
    """Insert, don't check: the primary key makes a redelivery a no-op. True if armed now.

    A timer stored wakes this process's scheduler once committed, to re-read its next due
    time."""
    if await _ARM.fetchrow_in(db, {"order_id": order_id, "fire_at": fire_at}) is None:
        return False
    SCHEDULER.after_commit(driver_under(db))
    return True


async def disarm(db: AsyncConnection, order_id: UUID) -> None:
    """A fired timer stays for dedup until purged."""
    await _DISARM.fetchrow_in(db, {"order_id": order_id})


async def fire_due(db: AsyncConnection, now: datetime, limit: int) -> list[Fired]:
    """Mark up to `limit` due timers fired, in one statement however many are due; in due
    order. SKIP LOCKED hands each due timer to one replica; fired_at keeps it from firing
    again."""
    due = (
        select(TIMERS.c.order_id)
        .where(TIMERS.c.fired_at.is_(None), TIMERS.c.fire_at <= now)
        .order_by(TIMERS.c.fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    fired = await db.execute(
        update(Timer)
        .where(TIMERS.c.order_id.in_(due.scalar_subquery()))
        .values(fired_at=now)
        .returning(TIMERS.c.order_id, TIMERS.c.fire_at)
    )
    return sorted((Fired(row.order_id, row.fire_at) for row in fired), key=lambda f: f.fire_at)


async def next_fire_at(db: AsyncConnection) -> datetime | None:
    query = select(func.min(TIMERS.c.fire_at)).where(TIMERS.c.fired_at.is_(None))
    next_at: datetime | None = (await db.execute(query)).scalar_one()
    return next_at


async def pending_count(db: AsyncConnection) -> int:
    """Timers armed and not fired yet: `ticketing status` shows them."""
    query = select(func.count()).select_from(Timer).where(TIMERS.c.fired_at.is_(None))
    count: int = (await db.execute(query)).scalar_one()
    return count


async def purge_fired(db: AsyncConnection, before: datetime) -> int:
    result = await db.execute(delete(Timer).where(TIMERS.c.fired_at < before))
    return result.rowcount
