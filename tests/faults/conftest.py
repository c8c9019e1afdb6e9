"""Servers of the fault tests' own, so stopping one never touches the session-wide ones."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import Nats, Postgres
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.postgres import EmbeddedPostgres


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[Nats]:
    server = EmbeddedNats(tmp_path / "nats")
    try:
        yield Nats.embedded(server)
    finally:
        server.stop()


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[tuple[Postgres, EmbeddedPostgres]]:
    server = EmbeddedPostgres(tmp_path / "postgres")
    try:
        yield Postgres(server.start()), server
    finally:
        server.stop()
