"""A tiny service used only by the common tests: one replica table, the bus tables."""

from sqlalchemy import Column, Integer, String, Table, Uuid, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus.versions import require_next_version
from ticketing.common.db import service_metadata
from ticketing.common.events import Subject, TicketCreated, TicketUpdated

metadata = service_metadata()

replicas = Table(
    "replicas",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("applied", Integer, nullable=False),  # how many events took effect on it
)


async def on_ticket_created(db: AsyncConnection, event: TicketCreated) -> None:
    await db.execute(
        insert(replicas).values(id=event.id, title=event.title, version=event.version, applied=1)
    )


async def on_ticket_updated(db: AsyncConnection, event: TicketUpdated) -> None:
    current = await db.scalar(
        select(replicas.c.version).where(replicas.c.id == event.id).with_for_update()
    )
    require_next_version(current, event.version)
    await db.execute(
        update(replicas)
        .where(replicas.c.id == event.id)
        .values(title=event.title, version=event.version, applied=replicas.c.applied + 1)
    )


SUBSCRIPTIONS = {
    Subject.TICKET_CREATED: on_ticket_created,
    Subject.TICKET_UPDATED: on_ticket_updated,
}
