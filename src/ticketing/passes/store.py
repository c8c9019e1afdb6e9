"""Passes' data access: Core statements on a connection, domain values back."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.rows import table, value, values
from ticketing.passes import models
from ticketing.passes.domain import Door, Pass, PassStatus

PASSES, DOORS = table(models.Pass), table(models.Door)


async def issue(db: AsyncConnection, new: Pass) -> bool:
    """False, and nothing written, if the order has its pass already. The conflict target
    is named: a second valid pass for the ticket must fail loudly, not be skipped."""
    inserted = await db.execute(
        insert(PASSES)
        .values(values(new))
        .on_conflict_do_nothing(index_elements=[PASSES.c.order_id])
        .returning(PASSES.c.id)
    )
    return inserted.first() is not None


async def pass_for_order(db: AsyncConnection, order_id: UUID) -> Pass | None:
    row = (await db.execute(select(PASSES).where(PASSES.c.order_id == order_id))).first()
    return None if row is None else value(Pass, row)


async def revoke_valid(db: AsyncConnection, ticket_id: UUID) -> list[Pass]:
    """The ticket changed hands: its valid pass (at most one) no longer opens the door."""
    revoked = await db.execute(
        update(PASSES)
        .where(PASSES.c.ticket_id == ticket_id, PASSES.c.status == PassStatus.VALID.value)
        .values(
            status=PassStatus.REVOKED.value,
            listed_price_cents=None,
            version=PASSES.c.version + 1,
        )
        .returning(*PASSES.c)
    )
    return [value(Pass, row) for row in revoked]


async def latest_of_ticket(db: AsyncConnection, ticket_id: UUID) -> Pass | None:
    query = (
        select(PASSES)
        .where(PASSES.c.ticket_id == ticket_id)
        .order_by(PASSES.c.created_at.desc(), PASSES.c.id.desc())
        .limit(1)
    )
    row = (await db.execute(query)).first()
    return None if row is None else value(Pass, row)


async def pass_by_id(db: AsyncConnection, pass_id: UUID) -> Pass | None:
    row = (await db.execute(select(PASSES).where(PASSES.c.id == pass_id))).first()
    return None if row is None else value(Pass, row)


async def pass_for_update(db: AsyncConnection, pass_id: UUID) -> Pass | None:
    """Row lock: a resale, its withdrawal and the door take turns on one pass."""
    query = select(PASSES).where(PASSES.c.id == pass_id).with_for_update()
    row = (await db.execute(query)).first()
    return None if row is None else value(Pass, row)


async def passes_of(
    db: AsyncConnection, holder: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[Pass]:
    """The holder's passes, newest first, from just past `after` (created_at, id)."""
    query = (
        select(PASSES)
        .where(PASSES.c.user_id == holder)
        .order_by(PASSES.c.created_at.desc(), PASSES.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(PASSES.c.created_at, PASSES.c.id) < tuple_(*after))
    return [value(Pass, row) for row in await db.execute(query)]


async def save_listing(db: AsyncConnection, changed: Pass) -> None:
    """A resale's price (or none) and the version are what the holder changes."""
    await db.execute(
        update(PASSES)
        .where(PASSES.c.id == changed.id)
        .values(listed_price_cents=changed.listed_price_cents, version=changed.version)
    )


async def admit(db: AsyncConnection, code_hash: bytes) -> Pass | None:
    """One conditional UPDATE both decides and admits: of any number of scans of one code,
    exactly one finds it valid. None if the code is unknown or not valid (any more)."""
    admitted = await db.execute(
        update(PASSES)
        .where(PASSES.c.code_hash == code_hash, PASSES.c.status == PassStatus.VALID.value)
        .values(
            status=PassStatus.USED.value,
            admitted_at=func.now(),
            listed_price_cents=None,
            version=PASSES.c.version + 1,
        )
        .returning(*PASSES.c)
    )
    row = admitted.first()
    return None if row is None else value(Pass, row)


async def pass_by_code(db: AsyncConnection, code_hash: bytes) -> Pass | None:
    row = (await db.execute(select(PASSES).where(PASSES.c.code_hash == code_hash))).first()
    return None if row is None else value(Pass, row)


# doors


async def add_door(db: AsyncConnection, name: str, token_hash: bytes) -> bool:
    """False if a door of that name is active. A revoked name may be given a new token."""
    statement = insert(DOORS).values(name=name, token_hash=token_hash)
    added = await db.execute(
        statement.on_conflict_do_update(
            index_elements=[DOORS.c.name],
            set_={"token_hash": token_hash, "created_at": func.now(), "revoked_at": None},
            where=DOORS.c.revoked_at.is_not(None),
        ).returning(DOORS.c.name)
    )
    return added.first() is not None


async def active_door(db: AsyncConnection, token_hash: bytes) -> Door | None:
    query = select(DOORS).where(DOORS.c.token_hash == token_hash, DOORS.c.revoked_at.is_(None))
    row = (await db.execute(query)).first()
    return None if row is None else value(Door, row)


async def doors(db: AsyncConnection) -> list[Door]:
    return [value(Door, row) for row in await db.execute(select(DOORS).order_by(DOORS.c.name))]


async def revoke_door(db: AsyncConnection, name: str) -> bool:
    """False if no active door has that name."""
    revoked = await db.execute(
        update(DOORS)
        .where(DOORS.c.name == name, DOORS.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(DOORS.c.name)
    )
    return revoked.first() is not None
