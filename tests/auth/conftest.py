from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import AUTH_KEYS, running
from ticketing.auth.app import create_app
from ticketing.auth.settings import AuthSettings


@pytest.fixture
async def settings(postgres, nats) -> AuthSettings:
    return AuthSettings(
        database_url=await postgres.fresh_database("auth"),
        nats_url=nats.url,
        **AUTH_KEYS,
        cookie_secure=False,
        signin_max_failures_per_account=3,
        signin_max_failures_per_address=6,
    )


@pytest.fixture
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as http:
        yield http
