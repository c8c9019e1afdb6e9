"""Passes' rules: a pass's code, who may see or resell it, and what admission leaves of it."""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from uuid import UUID

from ticketing.common.refusals import Conflict, Gone, Invalid, Missing, NotYours, Refusal

CODE_BYTES = 16  # 128 bits: not guessable, and short enough for a small QR code
CODE_LENGTH = 22  # base64url of 16 bytes, unpadded
_CODE = re.compile(f"[A-Za-z0-9_-]{{{CODE_LENGTH}}}", re.ASCII)
_DOOR_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


class PassStatus(StrEnum):
    VALID = "valid"
    USED = "used"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Pass:
    """What a completed order gave its buyer. The code itself is never stored: it is derived
    from `id` with the service's key, and the row keeps only its hash."""

    id: UUID
    ticket_id: UUID
    order_id: UUID
    user_id: UUID  # the holder
    title: str
    price_cents: int  # what the holder paid: the resale cap is a multiple of it
    status: PassStatus
    code_hash: bytes
    admitted_at: datetime | None
    listed_price_cents: int | None  # while the holder offers the ticket for resale
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Sale:
    """What an order.completed says was sold, once it says all of it."""

    order_id: UUID
    ticket_id: UUID
    buyer: UUID
    title: str
    price_cents: int


@dataclass(frozen=True, slots=True)
class Door:
    """A scanner allowed to admit: it shows a bearer token, stored only as its hash."""

    name: str
    token_hash: bytes
    created_at: datetime
    revoked_at: datetime | None


# codes and tokens


def code_for(pass_id: UUID, key: bytes) -> str:
    """The pass's code: HMAC of its id under the service's key, cut to 128 bits."""
    digest = hmac.new(key, pass_id.bytes, hashlib.sha256).digest()[:CODE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def secret_hash(secret: str) -> bytes:
    """What a row keeps of a code or a door token: a leaked table admits nobody."""
    return hashlib.sha256(secret.encode()).digest()


def check_code(value: object) -> str:
    """A posted code has the shape of one, or it is bad input (not a lookup)."""
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        raise ValueError(f"Code must be a pass code ({CODE_LENGTH} letters, digits, - or _)")
    return value


def check_door_name(name: str) -> str:
    if _DOOR_NAME.fullmatch(name) is None:
        raise Invalid("A door's name is 1 to 64 letters, digits, - or _", field="name")
    return name


# issuing


def issue(sale: Sale, *, pass_id: UUID, key: bytes, now: datetime) -> Pass:
    return Pass(
        id=pass_id,
        ticket_id=sale.ticket_id,
        order_id=sale.order_id,
        user_id=sale.buyer,
        title=sale.title,
        price_cents=sale.price_cents,
        status=PassStatus.VALID,
        code_hash=secret_hash(code_for(pass_id, key)),
        admitted_at=None,
        listed_price_cents=None,
        version=0,
        created_at=now,
    )


# the holder


def check_holder(found: Pass | None, user: UUID) -> Pass:
    if found is None:
        raise Missing("Pass not found")
    if found.user_id != user:
        raise NotYours()
    return found


def price_cap(found: Pass, cap: Decimal) -> int:
    """The most the pass may be resold for, in cents: never rounded up."""
    return int((found.price_cents * cap).to_integral_value(rounding=ROUND_FLOOR))


def list_for_resale(found: Pass, price_cents: int, cap: Decimal) -> Pass | None:
    """Offered again at `price_cents`, at most the cap; None if it is listed at that price."""
    if found.status == PassStatus.USED:
        raise Invalid("A used pass cannot be resold")
    if found.status == PassStatus.REVOKED:
        raise Invalid("A revoked pass cannot be resold")
    most = price_cap(found, cap)
    if price_cents > most:
        raise Invalid(f"Price must be at most {_amount(most)}, the resale cap", field="price")
    if found.listed_price_cents == price_cents:
        return None
    return replace(found, listed_price_cents=price_cents, version=found.version + 1)


def take_off_sale(found: Pass) -> Pass | None:
    """None if it was not on sale: taking down nothing is harmless."""
    if found.listed_price_cents is None:
        return None
    return replace(found, listed_price_cents=None, version=found.version + 1)


# the door


def admission_refusal(found: Pass | None) -> Refusal:
    """Why a code the admitting UPDATE did not match opens nothing."""
    if found is None:
        return Missing("Unknown pass code")
    if found.status == PassStatus.USED:
        return Conflict(f"Already admitted at {_moment(found.admitted_at)}")
    if found.status == PassStatus.REVOKED:
        return Gone("This pass was revoked: the ticket was resold")
    # Valid, yet not matched: issued after the UPDATE looked. The door may scan it again.
    return Conflict("The pass changed while it was checked; scan it again")


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _moment(at: datetime | None) -> str:
    if at is None:
        return "an unknown time"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
