"""Pure scheduling rules: how long to sleep, and which fired timers are old enough to drop."""

from datetime import datetime, timedelta


def sleep_seconds(next_fire_at: datetime | None, now: datetime, cap: float) -> float:
    """Sleep until the next timer is due, never past the cap; a due timer means no sleep."""
    if next_fire_at is None:
        return cap
    return min(max((next_fire_at - now).total_seconds(), 0.0), cap)


def purge_cutoff(now: datetime, retention_hours: float) -> datetime:
    """Timers fired before this instant are no longer useful for deduplication."""
    return now - timedelta(hours=retention_hours)
