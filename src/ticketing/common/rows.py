"""Domain values to table rows and back, once for every store: a service's tables name
their columns as its domain values' fields, so no store spells a value out field by field."""

from collections.abc import Sequence
from dataclasses import fields
from enum import Enum
from functools import cache
from typing import Any, TypeVar, get_type_hints

from asyncpg import Record
from sqlalchemy import Column, Row, RowMapping, Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

T = TypeVar("T")


def table(model: type[Any]) -> Table:
    """A model's table, typed as the Table it is (SQLAlchemy types `__table__` as any
    FromClause), for the Core statements a store writes."""
    found: Table = model.__table__
    return found


async def insert_new(db: AsyncConnection, table: Table, row: dict[str, Any]) -> bool:
    """Insert, don't check: True if the row is new, False if its key was there already (a
    replayed event, a replica that has it). The key decides, so two racing inserts agree."""
    inserted = await db.execute(_insert_new(table), row)
    return inserted.first() is not None


@cache
def _insert_new(table: Table) -> ReturningInsert[Any]:
    """Built once per table: every replicated event runs it, and building the statement
    per call cost more than running it."""
    key = list(table.primary_key.columns)
    return insert(table).on_conflict_do_nothing(index_elements=key).returning(*key)


def columns(table: Table, kind: type[Any]) -> tuple[Column[Any], ...]:
    """What a statement reads back for `kind`: the table's columns named as its fields."""
    return tuple(table.c[name] for name in _names(kind))


def fields_of(kind: type[Any]) -> tuple[str, ...]:
    """A domain value's fields, which are its table's column names."""
    return _names(kind)


def values(value: Any) -> dict[str, Any]:
    """A value's fields as column values. Shallow: dataclasses.asdict deep-copies every
    UUID and datetime, and this builds the busiest writes' rows."""
    return {name: getattr(value, name) for name in _names(type(value))}


def value(kind: type[T], row: Row[Any] | RowMapping | Record, table: Table | None = None) -> T:
    """The `kind` a row holds, its fields found by name (by `table`'s columns where a join
    repeats names); an enum field gets its member back from the stored text. A row may be
    asyncpg's own, from a prepared statement (common/prepared.py)."""
    mapping = row._mapping if isinstance(row, Row) else row
    found = [mapping[table.c[name] if table is not None else name] for name in _names(kind)]
    return _made(kind, found)


def many(kind: type[T], rows: Sequence[Row[Any]] | Sequence[Record]) -> list[T]:
    """`value` for each row of one result, for the busiest reads: rows that begin with the
    columns of `kind`'s fields, in order (`select(*columns(table, kind), ...)`), are read by
    position, checked once for the whole result rather than looked up by name each."""
    names = _names(kind)
    if rows and _fields(rows[0])[: len(names)] == names:
        return [_made(kind, list(row[: len(names)])) for row in rows]
    return [value(kind, row) for row in rows]


def _fields(row: Row[Any] | Record) -> tuple[str, ...]:
    return tuple(row.keys()) if isinstance(row, Record) else row._fields


def _made(kind: type[T], found: list[Any]) -> T:
    for index, members in _enums(kind):
        found[index] = members[found[index]]
    return kind(*found)


_NAMES: dict[type[Any], tuple[str, ...]] = {}
_ENUMS: dict[type[Any], tuple[tuple[int, dict[Any, Enum]], ...]] = {}


def _names(kind: type[Any]) -> tuple[str, ...]:
    if kind not in _NAMES:
        _NAMES[kind] = tuple(field.name for field in fields(kind))
    return _NAMES[kind]


def _enums(kind: type[Any]) -> tuple[tuple[int, dict[Any, Enum]], ...]:
    """Worked out once per kind: where its enum fields are, and their members by value
    (a dict lookup; calling the enum takes its slow path on every row of every read)."""
    if kind not in _ENUMS:
        hints = get_type_hints(kind)
        _ENUMS[kind] = tuple(
            (index, {member.value: member for member in hint})
            for index, name in enumerate(_names(kind))
            if isinstance(hint := hints[name], type) and issubclass(hint, Enum)
        )
    return _ENUMS[kind]
