"""Timer use cases, each given a connection already in a transaction (the caller commits)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus import outbox
from ticketing.common.events import ExpirationComplete
from ticketing.expiration import domain, store


async def arm_timer(db: AsyncConnection, order_id: UUID, fire_at: datetime) -> bool:
    """True if armed now; a redelivered order.created finds its timer and arms nothing."""
    return await store.arm(db, order_id, fire_at)


async def disarm_timer(db: AsyncConnection, order_id: UUID) -> None:
    """The order ended another way."""
    await store.disarm(db, order_id)


async def fire_due_timers(db: AsyncConnection, now: datetime, *, limit: int) -> list[UUID]:
    """Mark due timers fired and stage their expiration.complete in one transaction
    (guarantee 5): two statements however many are due, so a burst fires together."""
    fired = await store.fire_due(db, now, limit)
    await outbox.stage_many(db, [ExpirationComplete(order_id=timer.order_id) for timer in fired])
    return [timer.order_id for timer in fired]


async def seconds_to_sleep(db: AsyncConnection, now: datetime, cap: float) -> float:
    """Until the next pending timer is due, never past `cap`."""
    return domain.sleep_seconds(await store.next_fire_at(db), now, cap)


async def purge_fired_timers(db: AsyncConnection, now: datetime, retention_hours: float) -> int:
    """Forget timers fired longer ago than the retention window; how many."""
    return await store.purge_fired(db, domain.purge_cutoff(now, retention_hours))
