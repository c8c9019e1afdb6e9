"""Notifications' tables: the people and orders mails need, and the mails themselves."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata
from ticketing.notifications.domain import MailKind, MailStatus

STATUS_CHECK = "status IN (" + ", ".join(f"'{status.value}'" for status in MailStatus) + ")"
KIND_CHECK = "kind IN (" + ", ".join(f"'{kind.value}'" for kind in MailKind) + ")"
PENDING_PREDICATE = f"status = '{MailStatus.PENDING.value}'"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Person(Base):
    """domain.Person: a replica of auth's addresses, from user.created."""

    __tablename__ = "people"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text)


class Order(Base):
    """domain.Order: what order.created said, for the mail order.cancelled sends."""

    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    buyer: Mapped[UUID]
    title: Mapped[str | None] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ticket_id: Mapped[UUID]


class Mail(Base):
    """domain.Mail. UNIQUE (event_id, recipient) is the sent-log: one mail per event and
    person, however often the event arrives."""

    __tablename__ = "mails"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    event_id: Mapped[UUID]
    recipient: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(20))
    to_address: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("event_id", "recipient"),
        # What the sender reads: the pending mails by when they are due.
        Index("ix_mails_due", "next_attempt_at", postgresql_where=text(PENDING_PREDICATE)),
        CheckConstraint(text(STATUS_CHECK), name="status"),
        CheckConstraint(text(KIND_CHECK), name="kind"),
    )
