"""A tiny service used only by the common tests: one replica table, the bus tables."""

from uuid import UUID

from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.bus.versions import require_next_version
from ticketing.common.db import service_metadata
from ticketing.common.events import Subject, TicketCreated, TicketUpdated


class Base(DeclarativeBase):
    metadata = service_metadata()


class Replica(Base):
    __tablename__ = "replicas"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer, default=1)


async def on_ticket_created(db: AsyncSession, event: TicketCreated) -> None:
    db.add(Replica(id=event.id, title=event.title, version=event.version, applied=1))


async def on_ticket_updated(db: AsyncSession, event: TicketUpdated) -> None:
    replica = await db.get(Replica, event.id, with_for_update=True)
    require_next_version(replica.version if replica else None, event.version)
    replica.title = event.title
    replica.version = event.version
    replica.applied += 1


SUBSCRIPTIONS = {
    Subject.TICKET_CREATED: on_ticket_created,
    Subject.TICKET_UPDATED: on_ticket_updated,
}
