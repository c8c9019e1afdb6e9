"""Orders' request and response bodies: camelCase on the wire, prices as numbers."""

from contextlib import suppress
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from ticketing.common.money import PriceOut
from ticketing.orders.domain import Listing, Order


def _ticket_id(value: object) -> UUID:
    """One message for every malformed id, as the original app gave."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        with suppress(ValueError):
            return UUID(value)
    raise ValueError("TicketId must be a valid id")


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class OrderCreate(_Camel):
    ticket_id: Annotated[UUID, BeforeValidator(_ticket_id)]


class OrderTicketOut(_Camel):
    id: UUID
    title: str
    price: PriceOut


class OrderOut(_Camel):
    id: UUID
    user_id: UUID
    status: str
    expires_at: datetime
    version: int
    ticket: OrderTicketOut

    @classmethod
    def from_domain(cls, order: Order, listing: Listing) -> "OrderOut":
        return cls(
            id=order.id,
            user_id=order.user_id,
            status=order.status,
            expires_at=order.expires_at,
            version=order.version,
            ticket=OrderTicketOut(id=listing.id, title=listing.title, price=listing.price_cents),
        )
