from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from tests.system import System, running_system


@pytest.fixture
async def system(postgres, nats) -> AsyncIterator[System]:
    async with running_system(postgres, nats, expiration_window_seconds=900) as running:
        yield running


async def signed_up(system: System, name: str = "user") -> httpx.AsyncClient:
    client = system.client()
    response = await client.post(
        "/api/users/signup",
        json={"email": f"{name}-{uuid4().hex[:8]}@example.com", "password": "password123"},
    )
    assert response.status_code == 201, response.text
    return client
