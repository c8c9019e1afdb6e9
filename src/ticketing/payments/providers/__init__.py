"""Card processors behind one interface: Stripe through its SDK, or a local sandbox."""

import logging
from typing import TYPE_CHECKING, Any

from ticketing.payments.providers.base import (
    CardDeclined,
    Charged,
    ChargeResult,
    InvalidToken,
    NeedsAction,
    PaymentProvider,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    TransferRejected,
)
from ticketing.payments.providers.sandbox import SandboxProvider
from ticketing.payments.providers.webhooks import WebhookSender
from ticketing.payments.settings import PaymentsSettings

if TYPE_CHECKING:
    from ticketing.payments.providers.stripe import StripeProvider

log = logging.getLogger(__name__)

__all__ = [
    "CardDeclined",
    "ChargeResult",
    "Charged",
    "InvalidToken",
    "NeedsAction",
    "PaymentProvider",
    "PaymentRejected",
    "ProviderError",
    "ProviderUnavailable",
    "SandboxProvider",
    "StripeProvider",
    "TransferRejected",
    "WebhookSender",
    "from_settings",
]


def __getattr__(name: str) -> Any:
    """StripeProvider on first use: the SDK (with requests and httpx's CLI under it) is
    heavy to load, and a process charging through the sandbox never needs it."""
    if name == "StripeProvider":
        from ticketing.payments.providers.stripe import StripeProvider

        return StripeProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def from_settings(settings: PaymentsSettings) -> PaymentProvider:
    if settings.payment_provider == "stripe":
        from ticketing.payments.providers.stripe import StripeProvider

        assert settings.stripe_secret_key is not None  # the settings refuse stripe without one
        return StripeProvider(
            settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
        )
    return SandboxProvider(_sandbox_webhooks(settings))


def _sandbox_webhooks(settings: PaymentsSettings) -> WebhookSender | None:
    """The sandbox signs its webhooks with the secret the endpoint checks them with; it makes
    none up. Without a secret and an address it sends none, and a card needing 3-D Secure
    can then never be completed: said once, at start."""
    secret, url = settings.stripe_webhook_secret, settings.sandbox_webhook_url
    if secret is None or url is None:
        log.warning(
            "the sandbox sends no webhooks: STRIPE_WEBHOOK_SECRET and SANDBOX_WEBHOOK_URL are "
            "both needed (3-D Secure payments cannot complete without them)"
        )
        return None
    return WebhookSender(secret.get_secret_value(), url)
