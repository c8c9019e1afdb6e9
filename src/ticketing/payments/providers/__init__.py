"""Card processors behind one interface: Stripe through its SDK, or a local sandbox."""

from typing import TYPE_CHECKING, Any

from ticketing.payments.providers.base import (
    CardDeclined,
    InvalidToken,
    PaymentProvider,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    TransferRejected,
)
from ticketing.payments.providers.sandbox import SandboxProvider
from ticketing.payments.settings import PaymentsSettings

if TYPE_CHECKING:
    from ticketing.payments.providers.stripe import StripeProvider

__all__ = [
    "CardDeclined",
    "InvalidToken",
    "PaymentProvider",
    "PaymentRejected",
    "ProviderError",
    "ProviderUnavailable",
    "SandboxProvider",
    "StripeProvider",
    "TransferRejected",
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
    return SandboxProvider()
