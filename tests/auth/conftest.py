import pytest

from tests.services import Service
from tests.support import AUTH_KEYS
from ticketing.auth.app import create_app
from ticketing.auth.settings import AuthSettings


@pytest.fixture
def service() -> Service:
    return Service(
        "auth",
        AuthSettings,
        create_app,
        keys=AUTH_KEYS,
        defaults={"signin_max_failures_per_account": 3, "signin_max_failures_per_address": 6},
    )
