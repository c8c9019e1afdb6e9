"""WebSettings: the API's address, how pages pay, the forms' signing key; no database or bus."""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """The web client calls the API as a browser would, so it needs only its address."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_base_url: str
    stripe_publishable_key: str | None = None
    cookie_secure: bool = True
    page_size: int = Field(20, ge=1, le=100)
    api_timeout_seconds: float = Field(10.0, gt=0)
    # As ServiceSettings: the HTTP edge (common.app.base_app) reads them for every app.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    api_docs: bool = False
    # Signs the forms' CSRF tokens. Every web replica needs the same one, or a form one
    # replica served is refused by the next; no default, so a missing one stops start-up.
    csrf_key: SecretStr
    # Shown to the `ticketing up` gateway so it keeps the browser's address for auth's
    # sign-in limits; behind nginx, its real_ip settings trust web's address instead.
    relay_key: SecretStr | None = None

    @field_validator("stripe_publishable_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`STRIPE_PUBLISHABLE_KEY=` (compose's default) means the sandbox's pages, not a key."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("csrf_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CSRF_KEY must be at least 32 characters (a 256-bit HMAC key)")
        return value
