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


class TicketDeleted(_Versioned):
    subject = Subject.TICKET_DELETED


class OrderRef(_Wire):
    id: UUID


class OrderTicket(OrderRef):
    price: Cents = Field(gt=0)


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


class OrderCompleted(_OrderEvent):
    subject = Subject.ORDER_COMPLETED


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


class SessionRevoked(Event):
    """A signed-out session: every service refuses its token from now until it expires."""

    subject = Subject.SESSION_REVOKED
    session_id: UUID
    user_id: UUID
    expires_at: AwareDatetime

    @property
    def ordering_key(self) -> str:
        return str(self.session_id)


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
        SessionRevoked,
    )
}
assert set(SCHEMAS) == set(Subject), "every subject needs a schema"
