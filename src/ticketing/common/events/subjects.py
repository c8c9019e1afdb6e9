"""Every subject on the bus; a publisher or listener exists only for one of these."""

from enum import StrEnum


class Subject(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_DELETED = "ticket.deleted"
    ORDER_CREATED = "order.created"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_COMPLETED = "order.completed"
    EXPIRATION_COMPLETE = "expiration.complete"
    PAYMENT_CREATED = "payment.created"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYOUT_SENT = "payout.sent"
    SESSION_REVOKED = "session.revoked"
    USER_CREATED = "user.created"
    PASS_ISSUED = "pass.issued"
    PASS_REVOKED = "pass.revoked"
    PASS_ADMITTED = "pass.admitted"
    PASS_LISTED = "pass.listed"
    PASS_UNLISTED = "pass.unlisted"
