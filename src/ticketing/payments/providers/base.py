"""The PaymentProvider interface and what its failures mean for the money."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    pass


class PaymentRejected(ProviderError):
    """The processor refused: nothing was charged, and the buyer may try another card."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CardDeclined(PaymentRejected):
    pass


class InvalidToken(PaymentRejected):
    pass


class TransferRejected(ProviderError):
    """The processor refused a transfer (no such account, say): nothing left."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(ProviderError):
    """No answer we can trust: the charge may or may not have landed. Re-send with the
    same idempotency key to find out; never with a new one."""


# webhooks


@dataclass(frozen=True, slots=True)
class Charged:
    """The money moved: `id` is the processor's id for the charge (a PaymentIntent's)."""

    id: str


@dataclass(frozen=True, slots=True)
class NeedsAction:
    """Nothing moved yet: the buyer must authenticate (3-D Secure) in the browser with
    `client_secret`; the processor tells how it ended by webhook. `id` is the PaymentIntent."""

    id: str
    client_secret: str


ChargeResult = Charged | NeedsAction


class PaymentProvider(Protocol):
    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        """Charge now: Charged, or NeedsAction when the card asks its holder to authenticate."""
        ...

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        """Refund the whole charge; a charge already refunded counts as done."""
        ...

    # ledger
    async def transfer(
        self, amount_cents: int, currency: str, *, destination: str, idempotency_key: str
    ) -> str:
        """Send money to a seller's connected account; returns the transfer's id. Raises
        TransferRejected (nothing sent) or ProviderUnavailable (re-send with the same key)."""
        ...

    async def aclose(self) -> None: ...
