"""Auth's pure rules: users and sessions as values, what a password must be, how long a
session lasts, and how sign-in throttling counts. No clock, no I/O: the caller says when
"now" is, and the store and throttle do the reading and writing."""

import hashlib
import ipaddress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from ticketing.common import text
from ticketing.common.refusals import Invalid

EMAIL_MAX_LENGTH = 254
BAD_EMAIL = "Email must be valid"
NEW_PASSWORD_LENGTH = (8, 128)
GIVEN_PASSWORD_MAX = 1024  # a sign-in's password is only hashed, never stored


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str  # lower-cased, so 'A@x.io' and 'a@x.io' are one account


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser. Its token names it (`sid`), so auth can end it before the token
    expires."""

    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime


def account_email(address: str) -> str:
    """The form an account is stored and found under, given an address of valid syntax:
    lower-cased, so 'A@x.io' and 'a@x.io' are one account."""
    if len(address) > EMAIL_MAX_LENGTH:
        raise Invalid(BAD_EMAIL)
    return address.lower()


def new_password(password: str) -> str:
    """A password to hash and store at sign-up."""
    low, high = NEW_PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise Invalid(f"Password must be between {low} and {high} characters")
    return _encodable(password)


def given_password(password: str) -> str:
    """A password to check at sign-in: any, but not none and not huge."""
    if not password or len(password) > GIVEN_PASSWORD_MAX:
        raise Invalid("You must supply a password")
    return _encodable(password)


def _encodable(password: str) -> str:
    """A lone surrogate (JSON allows "\\ud800") has no UTF-8 form to hash."""
    if text.has_surrogate(password):
        raise Invalid("Password must be valid text")
    return password


def new_session(session_id: UUID, user_id: UUID, now: datetime, ttl_seconds: int) -> Session:
    return Session(session_id, user_id, now, now + timedelta(seconds=ttl_seconds))


def renewed(
    session: Session, token_expires_at: float, now: datetime, ttl_seconds: int, max_age_seconds: int
) -> Session | None:
    """Sliding: the session lasts `ttl_seconds` from now, never past `max_age_seconds` from
    sign-in; None when that is no later than the token's own expiry (at the cap: the token
    is as long as the session can be)."""
    cap = session.created_at + timedelta(seconds=max_age_seconds)
    expires_at = min(now + timedelta(seconds=ttl_seconds), cap)
    if int(expires_at.timestamp()) <= token_expires_at:  # a token holds whole seconds
        return None
    return replace(session, expires_at=expires_at)


def cookie_max_age(now: datetime, expires_at: datetime) -> int:
    return max(int((expires_at - now).total_seconds()), 1)


# Sign-in throttling. Three keys per attempt: the account from one address (tight), one
# address across accounts, and the account from everywhere, against guessing spread over
# many addresses. That last one slows down instead of locking out, and a browser the account
# signed in from before (the device cookie) is judged by its own counter instead, so a
# stranger's guessing cannot lock the owner out.

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


def digest(key: str) -> bytes:
    """Stored and locked by a fixed-size hash: whatever an email or address looks like, the
    row fits its column, so a failure is always recorded."""
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True, slots=True)
class Failures:
    """One key's failures within the window."""

    key: bytes
    count: int
    oldest: datetime
    latest: datetime


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `limit` failures per window; then wait for the oldest to leave it."""

    limit: int

    def wait(self, failures: Failures, now: datetime, window: timedelta) -> float:
        if failures.count < self.limit:
            return 0
        return (failures.oldest + window - now).total_seconds()


@dataclass(frozen=True, slots=True)
class Slowing:
    """`free` failures per window, then one attempt per delay: `first` seconds, doubled with
    each further failure, up to `longest`. Guessing gets slow; the owner is never shut out."""

    free: int
    first: int
    longest: int

    def delay(self, count: int) -> float:
        if count < self.free:
            return 0
        return min(self.longest, self.first << min(count - self.free, 32))

    def wait(self, failures: Failures, now: datetime, window: timedelta) -> float:
        return (
            failures.latest + timedelta(seconds=self.delay(failures.count)) - now
        ).total_seconds()


class Limits(Protocol):
    """How hard throttling bites (auth's settings)."""

    @property
    def signin_max_failures_per_account(self) -> int: ...
    @property
    def signin_max_failures_per_address(self) -> int: ...
    @property
    def signin_email_failures_before_delay(self) -> int: ...
    @property
    def signin_email_first_delay_seconds(self) -> int: ...
    @property
    def signin_email_max_delay_seconds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    email: str
    address: str
    device: str | None = None  # a device id the device cookie proved for this email

    @classmethod
    def of(cls, email: str, host: str | None, device: str | None = None) -> "Attempt":
        return cls(email=email, address=network_of(host), device=device)

    def rules(self, limits: Limits) -> dict[bytes, Cap | Slowing]:
        """Each key this attempt counts against (digested), with its rule."""
        rules: dict[str, Cap | Slowing] = {
            self._here(): Cap(limits.signin_max_failures_per_account),
            f"addr:{self.address}": Cap(limits.signin_max_failures_per_address),
        }
        if self.device:
            rules[self._device()] = Cap(limits.signin_max_failures_per_account)
        else:
            rules[f"email:{self.email}"] = Slowing(
                limits.signin_email_failures_before_delay,
                limits.signin_email_first_delay_seconds,
                limits.signin_email_max_delay_seconds,
            )
        return {digest(key): rule for key, rule in rules.items()}

    def owners_keys(self) -> list[bytes]:
        """The keys a right password clears: this account from this address or device."""
        keys = [self._here()]
        if self.device:
            keys.append(self._device())
        return [digest(key) for key in keys]

    def _here(self) -> str:
        return f"pair:{self.email}|{self.address}"

    def _device(self) -> str:
        return f"device:{self.email}|{self.device}"


def wait_seconds(
    rules: dict[bytes, Cap | Slowing], counted: list[Failures], now: datetime, window: timedelta
) -> float:
    """How long the attempt must wait: the longest any of its keys asks; 0 lets it through."""
    return max((rules[f.key].wait(f, now, window) for f in counted), default=0)
