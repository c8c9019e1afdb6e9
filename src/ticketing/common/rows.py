"""Domain values to table rows and back, once for every store: a service's tables name
their columns as its domain values' fields, so no store spells a value out field by field."""

from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar, get_type_hints

from sqlalchemy import Column, Row, RowMapping, Table

T = TypeVar("T")


def table(model: type[Any]) -> Table:
    """A model's table, typed as the Table it is (SQLAlchemy types `__table__` as any
    FromClause), for the Core statements a store writes."""
    found: Table = model.__table__
    return found


def columns(table: Table, kind: type[Any]) -> tuple[Column[Any], ...]:
    """What a statement reads back for `kind`: the table's columns named as its fields."""
    return tuple(table.c[name] for name in _names(kind))


def values(value: Any) -> dict[str, Any]:
    """A value's fields as column values. Shallow: dataclasses.asdict deep-copies every
    UUID and datetime, and this builds the busiest writes' rows."""
    return {name: getattr(value, name) for name in _names(type(value))}


def value(kind: type[T], row: Row[Any] | RowMapping, table: Table | None = None) -> T:
    """The `kind` a row holds, its fields found by name (by `table`'s columns where a join
    repeats names); an enum field gets its member back from the stored text."""
    found = row._mapping if isinstance(row, Row) else row
    data = {name: found[table.c[name] if table is not None else name] for name in _names(kind)}
    for name, enum in _enums(kind).items():
        data[name] = enum(data[name])
    return kind(**data)


_NAMES: dict[type[Any], tuple[str, ...]] = {}
_ENUMS: dict[type[Any], dict[str, type[Enum]]] = {}


def _names(kind: type[Any]) -> tuple[str, ...]:
    if kind not in _NAMES:
        _NAMES[kind] = tuple(field.name for field in fields(kind))
    return _NAMES[kind]


def _enums(kind: type[Any]) -> dict[str, type[Enum]]:
    """Worked out once per kind: a store maps every row it reads through here."""
    if kind not in _ENUMS:
        hints = get_type_hints(kind)
        _ENUMS[kind] = {
            name: hint
            for name in _names(kind)
            if isinstance(hint := hints[name], type) and issubclass(hint, Enum)
        }
    return _ENUMS[kind]
