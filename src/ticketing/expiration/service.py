"""Timer use cases, each given a session already in a transaction (the caller commits)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.common.bus import outbox
from ticketing.common.events import ExpirationComplete
from ticketing.expiration.models import Timer

CHANNEL = "expiration_timers"


async def arm_timer(db: AsyncSession, order_id: UUID, fire_at: datetime) -> bool:
    """Insert, don't check: the primary key makes a redelivery a no-op. True if armed now."""
    armed = await db.execute(
        insert(Timer)
        .values(order_id=order_id, fire_at=fire_at)
        .on_conflict_do_nothing(index_elements=[Timer.order_id])
        .returning(Timer.order_id)
    )
    if armed.first() is None:
        return False
    # Delivered on commit: every scheduler replica re-reads its next due time.
    await db.execute(text(f"NOTIFY {CHANNEL}"))
    return True


async def disarm_timer(db: AsyncSession, order_id: UUID) -> None:
    """The order ended another way; a fired timer stays for dedup until purged."""
    await db.execute(delete(Timer).where(Timer.order_id == order_id, Timer.fired_at.is_(None)))


async def fire_due_timers(db: AsyncSession, now: datetime, *, limit: int = 100) -> list[UUID]:
    """Mark due timers fired and stage their expiration.complete in one transaction
    (guarantee 5): two statements however many are due, so a burst fires together.

    SKIP LOCKED hands each due timer to one replica; fired_at keeps it from firing again.
    """
    due = (
        select(Timer.order_id)
        .where(Timer.fired_at.is_(None), Timer.fire_at <= now)
        .order_by(Timer.fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    fired = (
        await db.execute(
            update(Timer)
            .where(Timer.order_id.in_(due.scalar_subquery()))
            .values(fired_at=now)
            .returning(Timer.order_id, Timer.fire_at)
        )
    ).all()
    fired.sort(key=lambda row: row.fire_at)  # expire in due order
    await outbox.stage_many(db, [ExpirationComplete(order_id=row.order_id) for row in fired])
    return [row.order_id for row in fired]


async def next_fire_at(db: AsyncSession) -> datetime | None:
    query = select(func.min(Timer.fire_at)).where(Timer.fired_at.is_(None))
    return (await db.execute(query)).scalar_one()


async def purge_fired_timers(db: AsyncSession, before: datetime) -> int:
    result = await db.execute(delete(Timer).where(Timer.fired_at < before))
    return result.rowcount
