"""Payments' request and response bodies: camelCase on the wire."""

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from ticketing.common import text
from ticketing.common.money import PriceOut
from ticketing.payments.domain import (
    PAYOUT_ACCOUNT_PATTERN,
    Balance,
    Payout,
    PayoutStatus,
    ProcessorEvent,
)

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


# ledger ----------------------------------------------------------------------------------------

_PAYOUT_ACCOUNT = re.compile(PAYOUT_ACCOUNT_PATTERN)


class PayoutAccountIn(_Wire):
    # Surrounding spaces allowed, as for prices: the validator strips them.
    account_id: Annotated[
        str, WithJsonSchema({"type": "string", "pattern": rf"^\s*{PAYOUT_ACCOUNT_PATTERN}\s*$"})
    ]

    @field_validator("account_id", mode="before")
    @classmethod
    def _connect_id(cls, value: object) -> object:
        """A Stripe Connect account id, `acct_` and letters or digits, nothing else."""
        if not isinstance(value, str) or not _PAYOUT_ACCOUNT.fullmatch(value.strip()):
            raise ValueError("Account id must look like acct_ followed by letters or digits")
        return value.strip()


class PayoutAccountOut(_Wire):
    account_id: str


class BalanceOut(_Wire):
    pending: PriceOut
    available: PriceOut  # below zero: a debt, a sale refunded after it was paid out
    paid_out: PriceOut
    currency: str

    @classmethod
    def from_domain(cls, balance: Balance) -> "BalanceOut":
        return cls(
            pending=balance.pending,
            available=balance.available,
            paid_out=balance.paid_out,
            currency=balance.currency,
        )


class PayoutOut(_Wire):
    id: UUID
    amount: PriceOut
    status: PayoutStatus

    @classmethod
    def from_domain(cls, payout: Payout) -> "PayoutOut":
        return cls(id=payout.id, amount=payout.amount_cents, status=payout.status)


# webhooks


class ActionRequiredOut(_Wire):
    """202: the card asks its holder to authenticate (3-D Secure) before it is charged."""

    status: Literal["requires_action"] = "requires_action"
    client_secret: str


class _StripeObject(BaseModel):
    """The fields payments reads of an event's object: a PaymentIntent or a Charge."""

    id: str | None = Field(None, max_length=255)
    payment_intent: str | None = Field(None, max_length=255)  # a Charge's
    refunded: bool = False
    metadata: dict[str, object] = Field(default_factory=dict)


class _StripeData(BaseModel):
    object: _StripeObject


class StripeEventIn(BaseModel):
    """A Stripe event, read after its signature was verified."""

    id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=100)
    data: _StripeData

    def processor_event(self) -> ProcessorEvent:
        found = self.data.object
        is_charge = self.type.startswith("charge.")
        return ProcessorEvent(
            id=self.id,
            type=self.type,
            object_id=found.payment_intent if is_charge else found.id,
            attempt_id=_uuid_or_none(found.metadata.get("attempt_id")),
            fully_refunded=found.refunded,
        )


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


class WebhookOut(_Wire):
    received: bool = True
