"""Card processors behind one interface: Stripe through its SDK, or a local sandbox."""

from ticketing.payments.providers.base import (
    CardDeclined,
    InvalidToken,
    PaymentProvider,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
)
from ticketing.payments.providers.sandbox import SandboxProvider
from ticketing.payments.providers.stripe import StripeProvider
from ticketing.payments.settings import PaymentsSettings

__all__ = [
    "CardDeclined",
    "InvalidToken",
    "PaymentProvider",
    "PaymentRejected",
    "ProviderError",
    "ProviderUnavailable",
    "SandboxProvider",
    "StripeProvider",
    "from_settings",
]


def from_settings(settings: PaymentsSettings) -> PaymentProvider:
    if settings.payment_provider == "stripe":
        assert settings.stripe_secret_key is not None  # the settings refuse stripe without one
        return StripeProvider(
            settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
        )
    return SandboxProvider()
