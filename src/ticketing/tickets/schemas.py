"""Tickets' request and response bodies: camelCase on the wire, price as a number."""

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import to_json

from ticketing.common import text
from ticketing.common.fields import required
from ticketing.common.money import PriceIn, PriceOut, from_cents
from ticketing.tickets import domain
from ticketing.tickets.domain import Ticket

Title = Annotated[
    str,
    BeforeValidator(domain.clean_title),
    WithJsonSchema(text.non_blank_schema(domain.TITLE_MAX)),
]
Price = Annotated[PriceIn, required("Price is required")]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class TicketIn(_Camel):
    """POST and PUT take the same fields, both required, as the original app did."""

    # Required in the document; a missing one still gets the original app's message.
    model_config = ConfigDict(json_schema_extra={"required": ["title", "price"]})

    title: Title = Field(None, validate_default=True)
    price: Price = Field(None, validate_default=True)  # in cents once parsed

    @property
    def price_cents(self) -> int:
        return self.price


class TicketFilters(_Camel):
    """GET /api/tickets query: search, price range, paging, and the seller's own view."""

    q: str | None = Field(
        None, max_length=200, json_schema_extra={"pattern": f"^[^{text.CONTROL}]*$"}
    )
    min_price: PriceIn | None = None
    max_price: PriceIn | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200)
    mine: bool = False

    @field_validator("q")
    @classmethod
    def _searchable(cls, value: str | None) -> str | None:
        if value is not None and text.has_unsafe(value):
            raise ValueError("Search must not contain control characters")
        return value

    @field_validator("max_price")
    @classmethod
    def _range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_price")
        if value is not None and low is not None and low > value:
            raise ValueError("maxPrice must not be less than minPrice")
        return value


class TicketOut(_Camel):
    id: UUID
    title: str
    price: PriceOut
    user_id: UUID
    version: int
    order_id: UUID | None
    status: str

    @staticmethod
    def page_json(tickets: Sequence[Ticket]) -> bytes:
        """The busiest answer in the system, straight to JSON: this model's fields, as it
        would write them, from plain dicts in one call (a model for each ticket, even
        unvalidated, cost three times the rest of the page)."""
        return to_json([_wire(ticket) for ticket in tickets])

    @classmethod
    def of(cls, ticket: Ticket) -> "TicketOut":
        return cls(**_fields(ticket))


def _wire(ticket: Ticket) -> dict[str, Any]:
    """Ids as text already: read on the driver they are asyncpg's own UUID type, which
    pydantic-core serialises by its slow path (five times the cost of `str`)."""
    order_id = ticket.order_id
    return {
        "id": str(ticket.id),
        "title": ticket.title,
        "price": from_cents(ticket.price_cents),
        "userId": str(ticket.user_id),
        "version": ticket.version,
        "orderId": None if order_id is None else str(order_id),
        "status": ticket.status.value,
    }


def _fields(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "title": ticket.title,
        "price": ticket.price_cents,
        "user_id": ticket.user_id,
        "version": ticket.version,
        "order_id": ticket.order_id,
        "status": ticket.status.value,
    }
