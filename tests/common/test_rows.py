"""Rows to domain values and back (common/rows.py), on a real PostgreSQL result."""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, select

from tests.common.bus_support import engine as engine_on
from ticketing.common.rows import columns, insert_new, many, value, values


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Thing:
    id: UUID
    name: str
    colour: Colour
    version: int = 0


THINGS = Table(
    "things",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("colour", String(10), nullable=False),
    Column("name", String(50), nullable=False),
)


@pytest.fixture
async def db(postgres):
    async with engine_on(await postgres.empty_database()) as engine, engine.begin() as conn:
        await conn.run_sync(THINGS.metadata.create_all)
        yield conn


async def test_a_value_goes_in_and_comes_back_with_its_enum(db):
    thing = Thing(uuid4(), "kite", Colour.BLUE, 3)
    assert await insert_new(db, THINGS, values(thing)) is True
    assert await insert_new(db, THINGS, values(thing)) is False  # the key was there
    row = (await db.execute(select(THINGS))).first()  # columns in the table's order
    back = value(Thing, row)
    assert back == thing and back.colour is Colour.BLUE


async def test_many_reads_by_position_or_by_name_and_agrees_with_value(db):
    things = [Thing(uuid4(), f"t{i}", Colour.RED, i) for i in range(3)]
    for thing in things:
        await insert_new(db, THINGS, values(thing))
    in_field_order = (await db.execute(select(*columns(THINGS, Thing), THINGS.c.id))).all()
    in_table_order = (await db.execute(select(THINGS))).all()
    assert sorted(many(Thing, in_field_order), key=lambda t: t.version) == things
    assert sorted(many(Thing, in_table_order), key=lambda t: t.version) == things
    assert many(Thing, []) == []
