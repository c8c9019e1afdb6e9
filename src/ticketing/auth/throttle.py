"""Sign-in throttling shared by every replica: attempts are rows in auth's own database.

What counts against which key, and how long each key makes an attempt wait, are the
domain's rules (domain.Attempt, Cap, Slowing). This is their locking protocol: an attempt
counts as a failure from the moment it is let through until its password proves right.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.auth import store
from ticketing.auth.domain import Attempt, wait_seconds
from ticketing.auth.settings import AuthSettings
from ticketing.common.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Claim:
    """An attempt let through to the password check, with its rows (failures until undone)."""

    attempt: Attempt
    row_ids: list[int]


async def claim(engine: AsyncEngine, attempt: Attempt, settings: AuthSettings) -> Claim:
    """Check every key and record the attempt as a failure in one step, or raise
    TooManyRequests. Each key's advisory lock is held from the count to the commit, so N
    concurrent guesses count each other and at most the limit reach the password check.

    A short transaction of its own, committed before the hash runs: holding the locks
    through the hash would queue every sign-in from one address (a whole office's NAT)."""
    rules = attempt.rules(settings)
    window = timedelta(seconds=settings.signin_window_seconds)
    async with engine.begin() as db:
        await store.lock_keys(db, rules)
        now = datetime.now(UTC)  # after the locks: an attempt that waited counts from now
        counted = await store.count_failures(db, rules, now - window)
        wait = wait_seconds(rules, counted, now, window)
        if wait > 0:
            raise TooManyRequests(int(wait) + 1)
        return Claim(attempt, await store.record_failures(db, rules, now))


async def succeeded(db: AsyncConnection, claim: Claim) -> None:
    """A right password: this attempt was no failure, and whoever failed on this account
    from this address or device was its owner."""
    await store.clear_failures(db, claim.row_ids, claim.attempt.owners_keys())


async def prune(db: AsyncConnection, settings: AuthSettings, now: datetime) -> int:
    """Failures past the window count against nobody; how many went."""
    return await store.prune_failures(db, now - timedelta(seconds=settings.signin_window_seconds))
