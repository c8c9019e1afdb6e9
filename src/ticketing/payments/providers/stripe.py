"""Stripe through its official SDK: a PaymentIntent created and confirmed in one call."""

import logging
from collections.abc import Mapping
from typing import Any

import stripe

from ticketing.payments.providers.base import (
    CardDeclined,
    Charged,
    ChargeResult,
    InvalidToken,
    NeedsAction,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    TransferRejected,
)

log = logging.getLogger(__name__)


def payment_method_params(token: str) -> dict[str, Any]:
    """A card token (tok_...) from Stripe.js / Elements, or a saved PaymentMethod (pm_...)."""
    if token.startswith("tok_"):
        return {"payment_method_data": {"type": "card", "card": {"token": token}}}
    if token.startswith("pm_"):
        return {"payment_method": token}
    raise InvalidToken(f"No such token: '{token}'")


class StripeProvider:
    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        timeout: float = 30.0,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency,
            "confirm": True,
            # Cards only, confirmed on the server: nothing may redirect the buyer away.
            "payment_method_types": ["card"],
            "metadata": dict(metadata or {}),
            **payment_method_params(token),
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _charge_error(error) from error
        if intent.status == "requires_action" and intent.client_secret:
            # 3-D Secure: the buyer authenticates in the browser (Stripe.js, with the client
            # secret); payment_intent.succeeded or payment_failed tells how it ended.
            return NeedsAction(intent.id, intent.client_secret)
        if intent.status != "succeeded":
            raise CardDeclined("Your card was not charged; try another card.")
        return Charged(intent.id)

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        try:
            await self._client.v1.refunds.create_async(
                {"payment_intent": charge_id}, {"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                return
            raise ProviderError(str(error.user_message or error)) from error
        except stripe.StripeError as error:
            raise ProviderUnavailable(str(error.user_message or error)) from error

    # ledger
    async def transfer(
        self, amount_cents: int, currency: str, *, destination: str, idempotency_key: str
    ) -> str:
        """A Transfer to a connected account (Stripe Connect), from the platform's balance."""
        params = {"amount": amount_cents, "currency": currency, "destination": destination}
        try:
            sent = await self._client.v1.transfers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            # A 400: Stripe did not act on it (no such account, insufficient balance).
            raise TransferRejected(str(error.user_message or error)) from error
        except stripe.StripeError as error:
            # Network, 5xx, a concurrent request with this key: maybe sent, so re-send.
            log.warning("stripe transfer: %r", error)
            raise ProviderUnavailable(str(error.user_message or error)) from error
        transfer_id: str = sent.id
        return transfer_id

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated in stripe


def _charge_error(error: stripe.StripeError) -> ProviderError:
    message = error.user_message or "The payment processor refused the payment."
    if isinstance(error, stripe.CardError):
        return CardDeclined(message)
    if isinstance(error, stripe.InvalidRequestError):
        param = getattr(error, "param", None) or ""
        if "token" in param or "payment_method" in param or error.code == "resource_missing":
            return InvalidToken(message)
        return PaymentRejected(message)
    # Network, 5xx, rate limits, a concurrent request with the same key, bad credentials:
    # none tells us whether money moved, so the attempt keeps its claim.
    log.warning("stripe: %r", error)
    return ProviderUnavailable(message)
