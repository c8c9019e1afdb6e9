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


class TicketCreated(Event):
    subject = Subject.TICKET_CREATED
    id: UUID
    version: int = Field(ge=0)
    title: str
    price: Cents = Field(gt=0)
    user_id: UUID


class TicketUpdated(Event):
    subject = Subject.TICKET_UPDATED
    id: UUID
    version: int = Field(ge=0)
    title: str
    price: Cents = Field(gt=0)
    user_id: UUID
    order_id: UUID | None = None
    status: str


class TicketDeleted(Event):
    subject = Subject.TICKET_DELETED
    id: UUID
    version: int = Field(ge=0)


class OrderTicket(_Wire):
    id: UUID
    price: Cents = Field(gt=0)


class OrderRef(_Wire):
    id: UUID


class OrderCreated(Event):
    subject = Subject.ORDER_CREATED
    id: UUID
    version: int = Field(ge=0)
    status: str
    user_id: UUID
    expires_at: AwareDatetime
    ticket: OrderTicket

    @property
    def ordering_key(self) -> str:
        return str(self.ticket.id)


class OrderCancelled(Event):
    subject = Subject.ORDER_CANCELLED
    id: UUID
    version: int = Field(ge=0)
    ticket: OrderRef

    @property
    def ordering_key(self) -> str:
        return str(self.ticket.id)


class OrderCompleted(Event):
    subject = Subject.ORDER_COMPLETED
    id: UUID
    version: int = Field(ge=0)
    ticket: OrderRef

    @property
    def ordering_key(self) -> str:
        return str(self.ticket.id)


class ExpirationComplete(Event):
    subject = Subject.EXPIRATION_COMPLETE
    order_id: UUID

    @property
    def ordering_key(self) -> str:
        return str(self.order_id)


class PaymentCreated(Event):
    """`amount` is what was charged: orders completes an order only if it is the price."""

    subject = Subject.PAYMENT_CREATED
    id: UUID
    order_id: UUID
    stripe_id: str
    amount: Cents = Field(gt=0)

    @property
    def ordering_key(self) -> str:
        return str(self.order_id)


class PaymentRefunded(Event):
    subject = Subject.PAYMENT_REFUNDED
    id: UUID
    order_id: UUID
    stripe_id: str
    reason: str

    @property
    def ordering_key(self) -> str:
        return str(self.order_id)


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
