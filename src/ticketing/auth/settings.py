"""Auth's own settings: how hard sign-in throttling bites, and the key that signs sessions."""

from pydantic import Field, SecretStr, field_validator, model_validator

from ticketing.common.keys import private_key, public_key
from ticketing.common.settings import ServiceSettings, pem_text


class AuthSettings(ServiceSettings):
    signin_window_seconds: int = Field(15 * 60, gt=0)
    signin_max_failures_per_account: int = Field(5, gt=0)
    signin_max_failures_per_address: int = Field(20, gt=0)
    signin_max_failures_per_email: int = Field(100, gt=0)
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
