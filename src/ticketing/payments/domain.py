"""Payment rules: who may pay for which order, and the keys that make a charge happen once."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ticketing.common.refusals import Invalid, Missing, NotYours


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    CANCELLED = "cancelled"
    COMPLETE = "complete"


class AttemptStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # webhooks: the processor asked the buyer to authenticate (3-D Secure); a webhook ends it
    REQUIRES_ACTION = "requires_action"


# The statuses that hold the claim on an order; the partial unique index covers these.
CLAIMING = (AttemptStatus.IN_FLIGHT, AttemptStatus.SUCCEEDED, AttemptStatus.REQUIRES_ACTION)

# Stripe forgets an idempotency key after 24 hours; re-sending one later could charge again.
REDRIVE_WINDOW = timedelta(hours=23)

EXPIRED_WHILE_PAYING = "order expired before payment completed"
ORDER_CANCELLED = "order cancelled"


@dataclass(frozen=True, slots=True)
class Order:
    """What payments knows of an order, fed by order.* events in version order."""

    id: UUID
    user_id: UUID
    price_cents: int
    status: OrderStatus
    version: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at charging an order; `token` is kept only while it is in flight."""

    id: UUID
    order_id: UUID
    status: AttemptStatus
    amount_cents: int
    currency: str
    token: str | None
    provider_id: str | None = None  # the PaymentIntent, once the processor has named it


@dataclass(frozen=True, slots=True)
class Payment:
    """A charge that landed; refunded when its order was cancelled before or after it."""

    id: UUID
    order_id: UUID
    attempt_id: UUID
    provider_id: str
    amount_cents: int
    currency: str
    refund_reason: str | None
    refund_requested_at: datetime | None
    refunded_at: datetime | None

    @property
    def refund_due(self) -> bool:
        """Marked for refund, and the processor has not confirmed it yet."""
        return self.refund_requested_at is not None and self.refunded_at is None


def check_payable(order: Order | None, buyer: UUID) -> Order:
    """The cheap checks before a claim; the claim itself settles races (guarantee 6)."""
    if order is None:
        raise Missing("Order not found")
    if order.user_id != buyer:
        raise NotYours()
    if order.status == OrderStatus.CANCELLED:
        raise Invalid("Cannot pay for a cancelled order")
    if order.status == OrderStatus.COMPLETE:
        raise Invalid("Order already paid")
    return order


def claim_refused(holder: AttemptStatus | None) -> Invalid:
    """Why a second attempt could not claim the order, from the status of the one holding it."""
    if holder == AttemptStatus.SUCCEEDED:
        return Invalid("Order already paid")
    if holder == AttemptStatus.REQUIRES_ACTION:
        return Invalid("A payment for this order is waiting for your card's authentication")
    return Invalid("A payment for this order is already in progress")


def refund_reason_on_settling(order: Order) -> str | None:
    """A charge that lands on an order cancelled meanwhile is refunded: nobody pays for nothing."""
    return EXPIRED_WHILE_PAYING if order.status == OrderStatus.CANCELLED else None


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


def follow(order: Order, version: int, status: OrderStatus) -> Order:
    """The replica takes the order's new status at the event's version; the caller has
    checked that the event is the next one (guarantee 4)."""
    return replace(order, status=status, version=version)


# webhooks


# The statuses a charge may still land on (or fail from): the one awaiting the processor's
# answer, and the one awaiting the buyer's authentication.
AWAITING_CHARGE = (AttemptStatus.IN_FLIGHT, AttemptStatus.REQUIRES_ACTION)

REFUNDED_AT_PROCESSOR = "refunded at Stripe"


class ProcessorEventType(StrEnum):
    """The Stripe events payments acts on; any other is recorded and ignored."""

    PAYMENT_SUCCEEDED = "payment_intent.succeeded"
    PAYMENT_FAILED = "payment_intent.payment_failed"
    CHARGE_REFUNDED = "charge.refunded"


@dataclass(frozen=True, slots=True)
class ProcessorEvent:
    """What payments reads of a Stripe event. `object_id` is the PaymentIntent's id (for a
    charge.refunded, the refunded charge's PaymentIntent); `attempt_id` is the attempt our
    metadata named, when it names one; `fully_refunded` is a charge's, refunded in full."""

    id: str
    type: str
    object_id: str | None
    attempt_id: UUID | None = None
    fully_refunded: bool = False


def landed_on_released(attempt: Attempt) -> bool:
    """A charge on an attempt already released (its buyer authenticated after the decline
    was recorded, from a page still open): no payment can hold it, so it is refunded."""
    return attempt.status == AttemptStatus.FAILED


def check_authenticating(owner: UUID | None, buyer: UUID) -> None:
    """Only an order's buyer may authenticate its payment (on the sandbox's stand-in for the
    bank's 3-D Secure page)."""
    if owner is None:
        raise Missing("No payment awaiting authentication")
    if owner != buyer:
        raise NotYours()
