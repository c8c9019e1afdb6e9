"""ServiceSettings: the environment every service reads at start."""

import re

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketing.common.database_url import asyncpg_url


class DatabaseSettings(BaseSettings):
    """All `ticketing migrate` reads: a migration needs no key."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str


class BusSettings(BaseSettings):
    """The bus: what `ticketing streams` reads to make the streams, and every service to
    connect. A missing required variable stops start-up with its name in the message."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    nats_url: str
    # The process's own bus user (`ticketing nats-config`); empty when NATS_URL carries
    # `user:password@` itself.
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")
    bus_prefix: str = ""
    # The limits a JetStream stream is created with (common/bus/connection.StreamLimits);
    # an existing stream keeps whatever limits it has. Bytes: none unless given (JetStream
    # sets them aside in its store at once).
    stream_max_age_seconds: float = Field(30 * 24 * 3600, gt=0)
    stream_max_bytes: int | None = Field(None, gt=0)

    @field_validator("bus_prefix")
    @classmethod
    def _token(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]*", value):
            raise ValueError("BUS_PREFIX may hold only letters, digits, '_' and '-'")
        return value


class ServiceSettings(BusSettings):
    """A missing required variable stops start-up with its name in the message."""

    database_url: str
    jwt_public_key: str  # Ed25519, PEM: verifies session tokens; only auth can sign them
    cookie_secure: bool = True
    # A session lives this long after its last renewal (auth renews a token past half its
    # life), and never longer than the cap from sign-in, which is also how far back each
    # process replays session.revoked at start.
    session_ttl_seconds: int = Field(24 * 3600, gt=0)
    session_max_age_seconds: int = Field(30 * 24 * 3600, gt=0)
    outbox_poll_seconds: float = Field(2.0, gt=0)
    # A sent event stays in the outbox this long, for looking into what was sent; the bus
    # tables are trimmed this often (common/bus/retention.py).
    outbox_keep_seconds: float = Field(7 * 24 * 3600, gt=0)
    bus_trim_every_seconds: float = Field(3600.0, gt=0)
    # A pooled connection unused this long is closed (common/db.close_idle).
    database_idle_seconds: float = Field(60.0, gt=0)
    listener_max_attempts: int = Field(5, ge=1)
    # How long a delivered message may stay unacked before JetStream hands it to another
    # replica: the takeover time after a replica dies mid-message.
    listener_ack_wait_seconds: float = Field(30.0, gt=0)
    # Set: /metrics is served on this port alone, which no Service or Ingress routes to the
    # public; unset: on the main port, as under `ticketing up`, whose gateway keeps it inside.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    # /docs, /redoc and /openapi.json map every route for whoever asks: on for development.
    api_docs: bool = False

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str) -> str:
        """Accept the plain postgresql:// form that every tool prints."""
        try:
            return asyncpg_url(value)
        except ValueError:
            raise ValueError("DATABASE_URL must be a postgresql:// URL") from None

    @field_validator("jwt_public_key")
    @classmethod
    def _ed25519_public(cls, value: str) -> str:
        from ticketing.common.keys import public_key  # here: `serve` imports this module for web

        value = pem_text(value)
        try:
            public_key(value)
        except (ValueError, TypeError):
            raise ValueError(
                "JWT_PUBLIC_KEY must be an Ed25519 public key in PEM form "
                "(-----BEGIN PUBLIC KEY-----)"
            ) from None
        return value

    @model_validator(mode="after")
    def _ttl_within_cap(self) -> "ServiceSettings":
        if self.session_ttl_seconds > self.session_max_age_seconds:
            raise ValueError("SESSION_TTL_SECONDS may not exceed SESSION_MAX_AGE_SECONDS")
        return self


def pem_text(value: str) -> str:
    """A PEM from a one-line .env entry may carry its line breaks as literal \\n."""
    return value.replace("\\n", "\n").strip() + "\n"


def describe_missing(error: Exception) -> str:
    """Turn a settings ValidationError into one line per variable, as an operator reads it."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error)
    lines = []
    for item in errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        reason = "is required" if item["type"] == "missing" else item["msg"]
        lines.append(f"setting {name} {reason}")
    return "; ".join(lines)
