"""Event subjects, their schemas and the envelope that carries them."""

from ticketing.common.events.envelope import Envelope
from ticketing.common.events.schemas import (
    SCHEMAS,
    Event,
    ExpirationComplete,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    PaymentCreated,
    PaymentRefunded,
    SessionRevoked,
    TicketCreated,
    TicketDeleted,
    TicketUpdated,
)
from ticketing.common.events.subjects import Subject

__all__ = [
    "SCHEMAS",
    "Envelope",
    "Event",
    "ExpirationComplete",
    "OrderCancelled",
    "OrderCompleted",
    "OrderCreated",
    "OrderRef",
    "OrderTicket",
    "PaymentCreated",
    "PaymentRefunded",
    "SessionRevoked",
    "Subject",
    "TicketCreated",
    "TicketDeleted",
    "TicketUpdated",
]
