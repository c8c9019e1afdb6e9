"""Auth's own settings: how hard sign-in throttling bites, the key that signs sessions,
and the device cookie's key."""

from pydantic import Field, SecretStr, field_validator, model_validator

from ticketing.common.keys import private_key, public_key
from ticketing.common.settings import ServiceSettings, pem_text


class AuthSettings(ServiceSettings):
    signin_window_seconds: int = Field(15 * 60, gt=0)
    # One account from one address, or from one device that signed in to it before.
    signin_max_failures_per_account: int = Field(5, gt=0)
    signin_max_failures_per_address: int = Field(20, gt=0)
    # One account from everywhere else: this many failures, then each attempt waits the
    # first delay, doubled for every further failure, up to the longest; never locked.
    signin_email_failures_before_delay: int = Field(10, gt=0)
    signin_email_first_delay_seconds: int = Field(1, gt=0)
    signin_email_max_delay_seconds: int = Field(60, gt=0)
    # Ended sessions and old sign-in failures are deleted this often (service.forget_ended).
    session_purge_every_seconds: float = Field(3600.0, gt=0)
    # Signs device cookies. Unset, a key is derived from auth's token-signing key; set it to
    # rotate device cookies on their own (every browser then counts as a new device once).
    device_key: SecretStr | None = None

    @field_validator("device_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("DEVICE_KEY must be at least 32 characters")
        return value

    jwt_private_key: SecretStr  # Ed25519, PEM: auth alone signs session tokens

    @field_validator("jwt_private_key")
    @classmethod
    def _ed25519_private(cls, value: SecretStr) -> SecretStr:
        pem = pem_text(value.get_secret_value())
        try:
            private_key(pem)
        except (ValueError, TypeError):
            raise ValueError(
                "JWT_PRIVATE_KEY must be an unencrypted Ed25519 private key in PEM form "
                "(-----BEGIN PRIVATE KEY-----)"
            ) from None
        return SecretStr(pem)

    @model_validator(mode="after")
    def _keys_are_a_pair(self) -> "AuthSettings":
        """Tokens signed with a key the services don't trust would sign nobody in."""
        signing = private_key(self.jwt_private_key.get_secret_value())
        if signing.public_key() != public_key(self.jwt_public_key):
            raise ValueError("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are not one key pair")
        return self
