"""A local card processor that answers Stripe's test tokens the way Stripe's test mode does."""

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import uuid4

from ticketing.payments.providers.base import (
    CardDeclined,
    InvalidToken,
    ProviderError,
    TransferRejected,
)

APPROVED = {"tok_visa", "tok_mastercard", "tok_amex", "pm_card_visa", "pm_card_mastercard"}
DECLINED = {
    "tok_chargeDeclined": "Your card was declined.",
    "tok_chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    "tok_chargeDeclinedExpiredCard": "Your card has expired.",
    "pm_card_chargeDeclined": "Your card was declined.",
}


@dataclass(frozen=True)
class SandboxCharge:
    id: str
    amount_cents: int
    currency: str
    token: str


@dataclass(frozen=True)
class SandboxTransfer:
    id: str
    amount_cents: int
    currency: str
    destination: str


class SandboxProvider:
    """Keeps charges and refunds in memory; a repeated idempotency key replays its first
    answer, success or decline, as Stripe does."""

    def __init__(self) -> None:
        self.charges: dict[str, SandboxCharge] = {}
        self.refunds: dict[str, str] = {}  # charge id -> refund id
        self._answers: dict[str, SandboxCharge | ProviderError] = {}
        self._refund_keys: dict[str, str] = {}
        self.transfers: dict[str, SandboxTransfer] = {}
        self._transfer_answers: dict[str, SandboxTransfer | TransferRejected] = {}

    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        if idempotency_key not in self._answers:
            self._answers[idempotency_key] = self._decide(amount_cents, currency, token)
        answer = self._answers[idempotency_key]
        if isinstance(answer, ProviderError):
            raise answer
        return answer.id

    def _decide(
        self, amount_cents: int, currency: str, token: str
    ) -> SandboxCharge | ProviderError:
        if token in DECLINED:
            return CardDeclined(DECLINED[token])
        if token not in APPROVED:
            return InvalidToken(f"No such token: '{token}'")
        charge = SandboxCharge(f"pi_sandbox_{uuid4().hex[:24]}", amount_cents, currency, token)
        self.charges[charge.id] = charge
        return charge

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        if idempotency_key in self._refund_keys or charge_id in self.refunds:
            return
        if charge_id not in self.charges:
            raise ProviderError(f"No such payment_intent: '{charge_id}'")
        self.refunds[charge_id] = f"re_sandbox_{uuid4().hex[:24]}"
        self._refund_keys[idempotency_key] = charge_id

    # ledger
    async def transfer(
        self, amount_cents: int, currency: str, *, destination: str, idempotency_key: str
    ) -> str:
        """Any `acct_` id is a connected account here; a repeated key replays its answer."""
        if idempotency_key not in self._transfer_answers:
            self._transfer_answers[idempotency_key] = self._send(
                amount_cents, currency, destination
            )
        answer = self._transfer_answers[idempotency_key]
        if isinstance(answer, TransferRejected):
            raise answer
        return answer.id

    def _send(
        self, amount_cents: int, currency: str, destination: str
    ) -> SandboxTransfer | TransferRejected:
        if not destination.startswith("acct_"):
            return TransferRejected(f"No such destination: '{destination}'")
        sent = SandboxTransfer(
            f"tr_sandbox_{uuid4().hex[:24]}", amount_cents, currency, destination
        )
        self.transfers[sent.id] = sent
        return sent

    async def aclose(self) -> None:
        return None
