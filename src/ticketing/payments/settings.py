"""Payments' own settings: which card processor, how stuck work is retried, and the
sellers' fee and hold."""

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ticketing.common.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    payment_provider: Literal["sandbox", "stripe"] | None = None  # None: stripe iff a key is set
    stripe_secret_key: SecretStr | None = None
    stripe_api_base: str | None = None  # e.g. a local stub in tests; Stripe's own when unset
    stripe_timeout_seconds: float = Field(30.0, gt=0)
    stripe_max_network_retries: int = Field(2, ge=0)
    currency: str = "usd"
    # An attempt still in flight this long after it was last driven is re-sent with its own
    # idempotency key; longer than a provider call can take, retries included.
    attempt_stale_seconds: float = Field(300.0, gt=0)
    reconcile_interval_seconds: float = Field(10.0, gt=0)
    # ledger: the platform's cut of each sale, and how long a seller's money stays pending
    # when no admission at the door releases it sooner (a fraction of a day in tests).
    platform_fee_percent: Decimal = Field(Decimal(5), ge=0, le=50)
    payout_hold_days: float = Field(7.0, ge=0)

    # webhooks: the endpoint's signing secret (whsec_...), which Stripe's dashboard or
    # `stripe listen` gives; the sandbox signs its own with it. Unset: no webhook is accepted.
    stripe_webhook_secret: SecretStr | None = None
    # Where the sandbox sends its webhooks, e.g. http://127.0.0.1:<port>/api/payments/webhook.
    sandbox_webhook_url: str | None = None

    @field_validator("stripe_secret_key", "stripe_api_base", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`STRIPE_SECRET_KEY=` in a .env file means "no key", not an empty key."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("stripe_webhook_secret", "sandbox_webhook_url", mode="before")
    @classmethod
    def _blank_webhook_setting_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        value = value.strip().lower()
        if len(value) != 3 or not value.isalpha():
            raise ValueError("CURRENCY must be a three-letter ISO code such as usd")
        return value

    @model_validator(mode="after")
    def _choose_provider(self) -> "PaymentsSettings":
        if self.payment_provider is None:
            self.payment_provider = "stripe" if self.stripe_secret_key else "sandbox"
        if self.payment_provider == "stripe" and self.stripe_secret_key is None:
            raise ValueError("STRIPE_SECRET_KEY is required when PAYMENT_PROVIDER is stripe")
        return self
