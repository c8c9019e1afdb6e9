"""One model per subject: the facts each event states. Money is integer cents."""

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ticketing.common.events.subjects import Subject

Cents = int


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Event(_Wire):
    subject: ClassVar[Subject]

    @property
    def ordering_key(self) -> str:
        """The entity whose events must apply one after another (the listener runs other
        entities' events in parallel): the ticket for ticket and order events, the order
        for expiration and payment events. Here: the event's own `id` field, which an event
        without one replaces with its own key."""
        return str(vars(self)["id"])


class _Versioned(Event):
    """An entity's state change: `version` orders its changes (guarantee 4)."""

    id: UUID
    version: int = Field(ge=0)


class _Listing(_Versioned):
    title: str
    price: Cents = Field(gt=0)
    user_id: UUID


class TicketCreated(_Listing):
    subject = Subject.TICKET_CREATED


class TicketUpdated(_Listing):
    subject = Subject.TICKET_UPDATED
    order_id: UUID | None = None
    status: str
    # How many times the ticket has been put back on sale by its holder (a resale): orders
    # lets one order hold a ticket per sale, so a resold ticket can be ordered again.
    sale: int = Field(0, ge=0)


class TicketDeleted(_Versioned):
    subject = Subject.TICKET_DELETED


class OrderRef(_Wire):
    id: UUID


class OrderTicket(OrderRef):
    price: Cents = Field(gt=0)
    title: str | None = None  # what the buyer reserved, for the mail that says so


class _OrderEvent(_Versioned):
    ticket: OrderRef

    @property
    def ordering_key(self) -> str:
        return str(self.ticket.id)


class OrderCreated(_OrderEvent):
    subject = Subject.ORDER_CREATED
    status: str
    user_id: UUID
    expires_at: AwareDatetime
    ticket: OrderTicket


class OrderCancelled(_OrderEvent):
    subject = Subject.ORDER_CANCELLED


class SoldTicket(OrderRef):
    """What the buyer got, for the services that follow a sale (passes): optional so that
    events published before these fields existed still read."""

    price: Cents | None = Field(None, gt=0)
    title: str | None = None
    seller_id: UUID | None = None  # who is paid for it (payments credits them)


class OrderCompleted(_OrderEvent):
    subject = Subject.ORDER_COMPLETED
    user_id: UUID | None = None  # the buyer
    ticket: SoldTicket


class _ForOrder(Event):
    order_id: UUID

    @property
    def ordering_key(self) -> str:
        return str(self.order_id)


class ExpirationComplete(_ForOrder):
    subject = Subject.EXPIRATION_COMPLETE


class _Payment(_ForOrder):
    id: UUID
    stripe_id: str


class PaymentCreated(_Payment):
    """`amount` is what was charged: orders completes an order only if it is the price."""

    subject = Subject.PAYMENT_CREATED
    amount: Cents = Field(gt=0)


class PaymentRefunded(_Payment):
    subject = Subject.PAYMENT_REFUNDED
    reason: str


class PayoutSent(Event):
    """A seller's available balance left for their account (a transfer, once)."""

    subject = Subject.PAYOUT_SENT
    id: UUID
    user_id: UUID
    amount: Cents = Field(gt=0)
    currency: str


class UserCreated(Event):
    """A new account: the services that write to people (notifications) keep its address."""

    subject = Subject.USER_CREATED
    id: UUID
    email: str


class SessionRevoked(Event):
    """A signed-out session: every service refuses its token from now until it expires."""

    subject = Subject.SESSION_REVOKED
    session_id: UUID
    user_id: UUID
    expires_at: AwareDatetime

    @property
    def ordering_key(self) -> str:
        return str(self.session_id)


class _PassEvent(_Versioned):
    """A pass's state change; `user_id` is its holder. Passes of one ticket apply in order."""

    ticket_id: UUID
    user_id: UUID

    @property
    def ordering_key(self) -> str:
        return str(self.ticket_id)


class PassIssued(_PassEvent):
    subject = Subject.PASS_ISSUED
    order_id: UUID


class PassRevoked(_PassEvent):
    """The ticket was resold: this pass's code no longer opens the door."""

    subject = Subject.PASS_REVOKED


class PassAdmitted(_PassEvent):
    subject = Subject.PASS_ADMITTED
    admitted_at: AwareDatetime
    order_id: UUID | None = None  # the sale it came from: its seller's money is now due


class PassListed(_PassEvent):
    """The holder puts the ticket back on sale at `price`, at most `price_cap`."""

    subject = Subject.PASS_LISTED
    price: Cents = Field(gt=0)
    price_cap: Cents = Field(gt=0)


class PassUnlisted(_PassEvent):
    """The holder takes the resale down; the pass stays valid."""

    subject = Subject.PASS_UNLISTED


SCHEMAS: dict[Subject, type[Event]] = {
    cls.subject: cls
    for cls in (
        TicketCreated,
        TicketUpdated,
        TicketDeleted,
        OrderCreated,
        OrderCancelled,
        OrderCompleted,
        ExpirationComplete,
        PaymentCreated,
        PaymentRefunded,
        PayoutSent,
        SessionRevoked,
        UserCreated,
        PassIssued,
        PassRevoked,
        PassAdmitted,
        PassListed,
        PassUnlisted,
    )
}
assert set(SCHEMAS) == set(Subject), "every subject needs a schema"
