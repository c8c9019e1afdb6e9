"""Session keys in settings: a bad or missing one stops start-up, naming the variable."""

import pytest
from pydantic import ValidationError

from tests.support import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY
from ticketing.auth.settings import AuthSettings
from ticketing.common.keys import env_lines, generate_key_pair
from ticketing.common.settings import ServiceSettings, describe_missing

BASE = {"database_url": "postgresql://unused/unused", "nats_url": "nats://unused"}


@pytest.mark.parametrize(
    "value", ["", "not a key", JWT_PRIVATE_KEY, "x" * 64], ids=["empty", "text", "private", "old"]
)
def test_anything_but_an_ed25519_public_key_is_refused_by_name(value):
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(**BASE, jwt_public_key=value, _env_file=None)
    assert "JWT_PUBLIC_KEY must be an Ed25519 public key" in describe_missing(refused.value)


def test_a_missing_public_key_is_named(monkeypatch):
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(**BASE, _env_file=None)
    assert "setting JWT_PUBLIC_KEY is required" in describe_missing(refused.value)


def test_auth_refuses_a_private_key_that_does_not_match_the_public_one():
    another_private, _ = generate_key_pair()
    with pytest.raises(ValidationError, match="not one key pair"):
        AuthSettings(
            **BASE, jwt_public_key=JWT_PUBLIC_KEY, jwt_private_key=another_private, _env_file=None
        )
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY must be"):
        AuthSettings(
            **BASE, jwt_public_key=JWT_PUBLIC_KEY, jwt_private_key=JWT_PUBLIC_KEY, _env_file=None
        )


def test_the_one_line_form_ticketing_keys_prints_is_accepted(monkeypatch):
    for line in env_lines(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY).splitlines():
        name, value = line.split("=", 1)
        assert "\n" not in value
        monkeypatch.setenv(name, value)
    settings = AuthSettings(**BASE, _env_file=None)
    assert settings.jwt_public_key == JWT_PUBLIC_KEY
