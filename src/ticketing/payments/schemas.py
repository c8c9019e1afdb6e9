"""Payments' request and response bodies: camelCase on the wire."""

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel

from ticketing.common import text

TOKEN_MAX = 255


def _an_id(value: object) -> object:
    try:
        return UUID(str(value)) if not isinstance(value, UUID) else value
    except ValueError:
        raise ValueError("Order id must be a valid id") from None


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PaymentCreate(_Wire):
    token: Annotated[str, WithJsonSchema(text.non_blank_schema(TOKEN_MAX))]
    order_id: Annotated[UUID, BeforeValidator(_an_id)]

    @field_validator("token")
    @classmethod
    def _present(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Token is required")
        if len(value) > TOKEN_MAX or text.has_unsafe(value):
            raise ValueError("Token is not valid")
        return value


class PaymentOut(_Wire):
    id: UUID
