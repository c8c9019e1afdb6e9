"""A local card processor that answers Stripe's test tokens the way Stripe's test mode does,
and, given a webhook secret and address, sends the webhooks Stripe would."""

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from ticketing.payments.providers.base import (
    CardDeclined,
    Charged,
    ChargeResult,
    InvalidToken,
    NeedsAction,
    ProviderError,
    TransferRejected,
)
from ticketing.payments.providers.webhooks import WebhookSender

APPROVED = {"tok_visa", "tok_mastercard", "tok_amex", "pm_card_visa", "pm_card_mastercard"}
DECLINED = {
    "tok_chargeDeclined": "Your card was declined.",
    "tok_chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    "tok_chargeDeclinedExpiredCard": "Your card has expired.",
    "pm_card_chargeDeclined": "Your card was declined.",
}
# Cards whose issuer asks for 3-D Secure: the intent waits for the buyer to authenticate.
ACTION_REQUIRED = {"tok_threeDSecure2Required", "pm_card_threeDSecure2Required"}


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


@dataclass
class SandboxIntent:
    """A PaymentIntent waiting for its buyer's authentication (then succeeded or failed)."""

    id: str
    amount_cents: int
    currency: str
    token: str
    client_secret: str
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "requires_action"


class SandboxProvider:
    """Keeps charges and refunds in memory; a repeated idempotency key replays its first
    answer, success or decline, as Stripe does. With `webhooks`, each charge, decline,
    authentication and refund is also told by a signed webhook, as Stripe tells them."""

    def __init__(self, webhooks: WebhookSender | None = None) -> None:
        self.webhooks = webhooks
        self.charges: dict[str, SandboxCharge] = {}
        self.refunds: dict[str, str] = {}  # charge id -> refund id
        self.intents: dict[str, SandboxIntent] = {}  # those that asked for authentication
        self._answers: dict[str, ChargeResult | ProviderError] = {}
        self._refund_keys: dict[str, str] = {}
        self.transfers: dict[str, SandboxTransfer] = {}
        self._transfer_answers: dict[str, SandboxTransfer | TransferRejected] = {}

        self._metadata: dict[str, dict[str, str]] = {}  # by charge id

    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        if idempotency_key not in self._answers:
            self._answers[idempotency_key] = self._decide(
                amount_cents, currency, token, dict(metadata or {})
            )
        answer = self._answers[idempotency_key]
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    def _decide(
        self, amount_cents: int, currency: str, token: str, metadata: dict[str, str]
    ) -> ChargeResult | ProviderError:
        intent_id = f"pi_sandbox_{uuid4().hex[:24]}"
        if token in DECLINED:
            failed = _intent(intent_id, "requires_payment_method", amount_cents, currency, metadata)
            self._send("payment_intent.payment_failed", failed)
            return CardDeclined(DECLINED[token])
        if token in ACTION_REQUIRED:
            secret = f"{intent_id}_secret_{uuid4().hex[:24]}"
            intent = SandboxIntent(intent_id, amount_cents, currency, token, secret, metadata)
            self.intents[intent_id] = intent
            return NeedsAction(intent_id, secret)
        if token not in APPROVED:
            return InvalidToken(f"No such token: '{token}'")
        return self._land(SandboxCharge(intent_id, amount_cents, currency, token), metadata)

    def _land(self, charge: SandboxCharge, metadata: dict[str, str]) -> Charged:
        self.charges[charge.id] = charge
        self._metadata[charge.id] = metadata
        succeeded = _intent(charge.id, "succeeded", charge.amount_cents, charge.currency, metadata)
        self._send("payment_intent.succeeded", succeeded)
        return Charged(charge.id)

    def complete_action(self, intent_id: str) -> None:
        """The buyer authenticated: the charge lands, and payment_intent.succeeded tells."""
        intent = self.awaiting(intent_id)
        intent.status = "succeeded"
        charge = SandboxCharge(intent.id, intent.amount_cents, intent.currency, intent.token)
        self._land(charge, intent.metadata)

    def fail_action(self, intent_id: str) -> None:
        """The buyer failed authentication: nothing is charged, payment_failed tells."""
        intent = self.awaiting(intent_id)
        intent.status = "requires_payment_method"
        failed = _intent(
            intent.id, intent.status, intent.amount_cents, intent.currency, intent.metadata
        )
        self._send("payment_intent.payment_failed", failed)

    def awaiting(self, intent_id: str) -> SandboxIntent:
        intent = self.intents.get(intent_id)
        if intent is None or intent.status != "requires_action":
            raise ProviderError(f"No payment_intent awaiting authentication: '{intent_id}'")
        return intent

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        if idempotency_key in self._refund_keys or charge_id in self.refunds:
            return
        if charge_id not in self.charges:
            raise ProviderError(f"No such payment_intent: '{charge_id}'")
        self.refunds[charge_id] = f"re_sandbox_{uuid4().hex[:24]}"
        self._refund_keys[idempotency_key] = charge_id
        charge = self.charges[charge_id]
        refunded = {
            "id": f"ch_sandbox_{uuid4().hex[:24]}",
            "object": "charge",
            "payment_intent": charge_id,
            "amount": charge.amount_cents,
            "amount_refunded": charge.amount_cents,
            "currency": charge.currency,
            "refunded": True,
            "metadata": self._metadata.get(charge_id, {}),
        }
        self._send("charge.refunded", refunded)

    def _send(self, event_type: str, data_object: dict[str, Any]) -> None:
        if self.webhooks is not None:
            self.webhooks.send(event_type, data_object)

    # ledger
    async def transfer(
        self, amount_cents: int, currency: str, *, destination: str, idempotency_key: str
    ) -> str:
        """Any `acct_` id is a connected account here; a repeated key replays its answer."""
        if idempotency_key not in self._transfer_answers:
            self._transfer_answers[idempotency_key] = self._move(
                amount_cents, currency, destination
            )
        answer = self._transfer_answers[idempotency_key]
        if isinstance(answer, TransferRejected):
            raise answer
        return answer.id

    def _move(
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
        if self.webhooks is not None:
            await self.webhooks.aclose()


def _intent(
    intent_id: str, status: str, amount_cents: int, currency: str, metadata: dict[str, str]
) -> dict[str, Any]:
    """A PaymentIntent as a Stripe event carries it."""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": amount_cents,
        "currency": currency,
        "metadata": metadata,
    }


def authentication_page(intent: SandboxIntent) -> str:
    """The sandbox's stand-in for the bank's 3-D Secure page: self-contained (no script, no
    outside resource), its two buttons posting back to the address it was served from."""
    amount = f"{intent.amount_cents / 100:.2f} {intent.currency.upper()}"
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authenticate your payment (sandbox)</title>
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
button{{font:inherit;padding:.5rem 1rem;margin:.25rem .5rem .25rem 0}}</style></head>
<body>
<h1>Authenticate your payment</h1>
<p>The sandbox card processor asks you to confirm a payment of
<strong>{html.escape(amount)}</strong> ({html.escape(intent.id)}),
as your bank would with 3-D Secure.</p>
<form method="post">
<button name="action" value="complete">Complete authentication</button>
<button name="action" value="fail">Fail authentication</button>
</form>
</body>
</html>
"""
