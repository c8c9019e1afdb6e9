"""Payment rules: who may pay for which order, and the keys that make a charge happen once."""

from datetime import timedelta
from enum import StrEnum
from uuid import UUID

from ticketing.common.bus.versions import require_next_version
from ticketing.common.errors import BadRequest, NotAuthorized, NotFound


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    CANCELLED = "cancelled"
    COMPLETE = "complete"


class AttemptStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# The statuses that hold the claim on an order; the partial unique index covers these.
CLAIMING = (AttemptStatus.IN_FLIGHT, AttemptStatus.SUCCEEDED)

# Stripe forgets an idempotency key after 24 hours; re-sending one later could charge again.
REDRIVE_WINDOW = timedelta(hours=23)

EXPIRED_WHILE_PAYING = "order expired before payment completed"
ORDER_CANCELLED = "order cancelled"


def check_payable(order, buyer: UUID) -> None:
    """The cheap checks before a claim; the claim itself settles races (guarantee 6)."""
    if order is None:
        raise NotFound("Order not found")
    if order.user_id != buyer:
        raise NotAuthorized()
    if order.status == OrderStatus.CANCELLED:
        raise BadRequest("Cannot pay for a cancelled order")
    if order.status == OrderStatus.COMPLETE:
        raise BadRequest("Order already paid")


def claim_refused(holder: str | None) -> BadRequest:
    """Why a second attempt could not claim the order, from the status of the one holding it."""
    if holder == AttemptStatus.SUCCEEDED:
        return BadRequest("Order already paid")
    return BadRequest("A payment for this order is already in progress")


def refunded_message(refunded: bool) -> str:
    if refunded:
        return "Order expired before payment completed; you have been refunded"
    return "Order expired before payment completed; your payment will be refunded"


def charge_key(attempt_id: UUID) -> str:
    """Per attempt, not per order: a declined card releases the claim and the next card
    gets a new key, while a re-sent attempt reuses its own and charges once."""
    return f"attempt-{attempt_id}"


def refund_key(attempt_id: UUID) -> str:
    """One charge per attempt, so one refund per attempt, whoever asks for it first."""
    return f"refund-{attempt_id}"


def follow(order, version: int, status: str) -> None:
    """The replica moves only from version n-1 to n (guarantee 4)."""
    require_next_version(order.version if order is not None else None, version)
    order.status = status
    order.version = version
