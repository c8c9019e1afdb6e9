"""Sign-in throttling shared by every replica: attempts are rows in auth's own database.

Three keys per attempt: the account from one address (tight), one address across accounts,
and the account from everywhere, against guessing spread over many addresses. That last
one slows down instead of locking out, and a browser the account signed in from before
(devices.py) is judged by its own counter instead, so a stranger's guessing cannot lock the
owner out. An attempt counts as a failure from the moment it is let through until its
password proves right.
"""

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ticketing.auth.models import SigninFailure
from ticketing.auth.settings import AuthSettings
from ticketing.common.errors import TooManyRequests

UNKNOWN = "unknown"


def network_of(host: str | None) -> str:
    """The address throttling counts by: an IPv4 address, or the /64 an IPv6 address is in
    (one subscriber usually holds a whole /64, so single addresses rotate for free).
    Anything that is not an IP address is one shared "unknown", never an error."""
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


@dataclass(frozen=True)
class Cap:
    """At most `limit` failures per window; then wait for the oldest to leave it."""

    limit: int

    def wait(self, count: int, oldest: datetime, latest: datetime, now: datetime, window):
        return (oldest + window - now).total_seconds() if count >= self.limit else 0


@dataclass(frozen=True)
class Slowing:
    """`free` failures per window, then one attempt per delay: `first` seconds, doubled with
    each further failure, up to `longest`. Guessing gets slow; the owner is never shut out."""

    free: int
    first: int
    longest: int

    def delay(self, count: int) -> float:
        if count < self.free:
            return 0
        return min(self.longest, self.first * 2 ** min(count - self.free, 32))

    def wait(self, count: int, oldest: datetime, latest: datetime, now: datetime, window):
        return (latest + timedelta(seconds=self.delay(count)) - now).total_seconds()


@dataclass(frozen=True)
class Attempt:
    email: str
    address: str
    device: str | None = None  # a device id the device cookie proved for this email

    @classmethod
    def of(cls, email: str, host: str | None, device: str | None = None) -> "Attempt":
        return cls(email=email, address=network_of(host), device=device)

    def rules(self, settings: AuthSettings) -> dict[str, Cap | Slowing]:
        rules: dict[str, Cap | Slowing] = {
            self._here(): Cap(settings.signin_max_failures_per_account),
            f"addr:{self.address}": Cap(settings.signin_max_failures_per_address),
        }
        if self.device:
            rules[f"device:{self.email}|{self.device}"] = Cap(
                settings.signin_max_failures_per_account
            )
        else:
            rules[f"email:{self.email}"] = Slowing(
                settings.signin_email_failures_before_delay,
                settings.signin_email_first_delay_seconds,
                settings.signin_email_max_delay_seconds,
            )
        return rules

    def _here(self) -> str:
        return f"pair:{self.email}|{self.address}"

    def owners_keys(self) -> list[bytes]:
        """The keys a right password clears: this account from this address or device."""
        keys = [self._here()]
        if self.device:
            keys.append(f"device:{self.email}|{self.device}")
        return [digest(key) for key in keys]


def digest(key: str) -> bytes:
    """Stored and locked by a fixed-size hash: whatever an email or address looks like, the
    row fits its column, so a failure is always recorded."""
    return hashlib.sha256(key.encode()).digest()


def _lock_id(key: bytes) -> int:
    return int.from_bytes(key[:8], "big", signed=True)


@dataclass(frozen=True)
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
    rules = {digest(key): rule for key, rule in attempt.rules(settings).items()}
    window = timedelta(seconds=settings.signin_window_seconds)
    async with engine.begin() as connection:
        for key in sorted(rules):  # one order everywhere: no deadlock between attempts
            await connection.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))
        now = datetime.now(UTC)
        counted = await connection.execute(
            select(
                SigninFailure.key,
                func.count(),
                func.min(SigninFailure.at),
                func.max(SigninFailure.at),
            )
            .where(SigninFailure.key.in_(list(rules)), SigninFailure.at > now - window)
            .group_by(SigninFailure.key)
        )
        wait = max(
            (
                rules[key].wait(count, oldest, latest, now, window)
                for key, count, oldest, latest in counted
            ),
            default=0,
        )
        if wait > 0:
            raise TooManyRequests(int(wait) + 1)
        rows = await connection.execute(
            insert(SigninFailure).returning(SigninFailure.id),
            [{"key": key, "at": now} for key in rules],
        )
        return Claim(attempt, list(rows.scalars()))


async def succeeded(db: AsyncSession, claim: Claim) -> None:
    """A right password: this attempt was no failure, and whoever failed on this account
    from this address or device was its owner."""
    await db.execute(
        delete(SigninFailure).where(
            or_(
                SigninFailure.id.in_(claim.row_ids),
                SigninFailure.key.in_(claim.attempt.owners_keys()),
            )
        )
    )


async def prune(db: AsyncSession, settings: AuthSettings, now: datetime) -> None:
    cutoff = now - timedelta(seconds=settings.signin_window_seconds)
    await db.execute(delete(SigninFailure).where(SigninFailure.at < cutoff))
