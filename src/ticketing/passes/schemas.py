"""Passes' request and response bodies: camelCase on the wire, prices as numbers."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

from ticketing.common.fields import required
from ticketing.common.money import PriceIn, PriceOut
from ticketing.passes import domain
from ticketing.passes.domain import Pass

Code = Annotated[
    str,
    BeforeValidator(domain.check_code),
    required("Code is required"),
    WithJsonSchema({"type": "string", "pattern": f"^[A-Za-z0-9_-]{{{domain.CODE_LENGTH}}}$"}),
]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CheckIn(_Camel):
    model_config = ConfigDict(json_schema_extra={"required": ["code"]})

    code: Code = Field(None, validate_default=True)


class CheckInOut(_Camel):
    ticket_id: UUID
    title: str
    admitted_at: datetime

    @classmethod
    def from_domain(cls, admitted: Pass) -> "CheckInOut":
        assert admitted.admitted_at is not None  # an admitted pass has its time
        return cls(
            ticket_id=admitted.ticket_id, title=admitted.title, admitted_at=admitted.admitted_at
        )


class Resale(_Camel):
    model_config = ConfigDict(json_schema_extra={"required": ["price"]})

    price: Annotated[PriceIn, required("Price is required")] = Field(None, validate_default=True)


class ResaleOut(_Camel):
    pass_id: UUID
    ticket_id: UUID
    price: PriceOut
    price_cap: PriceOut
    status: Literal["listed"] = "listed"

    @classmethod
    def from_domain(cls, listed: Pass, cap: Decimal) -> "ResaleOut":
        assert listed.listed_price_cents is not None  # a listed pass has its price
        return cls(
            pass_id=listed.id,
            ticket_id=listed.ticket_id,
            price=listed.listed_price_cents,
            price_cap=domain.price_cap(listed, cap),
        )


class PassOut(_Camel):
    id: UUID
    ticket_id: UUID
    order_id: UUID
    title: str
    status: str
    code: str
    admitted_at: datetime | None
    price: PriceOut
    price_cap: PriceOut
    listed_price: PriceOut | None

    @classmethod
    def from_domain(cls, found: Pass, *, key: bytes, cap: Decimal) -> "PassOut":
        return cls(
            id=found.id,
            ticket_id=found.ticket_id,
            order_id=found.order_id,
            title=found.title,
            status=found.status,
            code=domain.code_for(found.id, key),
            admitted_at=found.admitted_at,
            price=found.price_cents,
            price_cap=domain.price_cap(found, cap),
            listed_price=found.listed_price_cents,
        )
