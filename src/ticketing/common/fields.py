"""Request fields every service reads the same way, with the original app's sentences."""

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import Path
from pydantic import BeforeValidator
from pydantic.alias_generators import to_camel

from ticketing.common.errors import BadRequest


def required(message: str) -> BeforeValidator:
    """A missing field gets the original app's sentence, not pydantic's "Field required"."""

    def check(value: object) -> object:
        if value is None:
            raise ValueError(message)
        return value

    return BeforeValidator(check)


def path_id(param: str) -> Callable[[str], UUID]:
    """A dependency reading the path parameter `param` as an id: a malformed one is a 400
    on that field ("OrderId must be a valid id"), never a 422 or a lookup."""
    field = to_camel(param)
    label = field[0].upper() + field[1:]

    def parse(raw: Annotated[str, Path(alias=param, json_schema_extra={"format": "uuid"})]) -> UUID:
        try:
            return UUID(raw)
        except ValueError:
            raise BadRequest(f"{label} must be a valid id", field=field) from None

    return parse
