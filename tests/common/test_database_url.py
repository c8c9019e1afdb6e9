"""One database URL, in the two forms its readers want; nothing but the scheme changes."""

import pytest

from ticketing.common.database_url import asyncpg_url, libpq_dsn

SOCKET = "postgresql://postgres:p%40ss@/postgres?host=/tmp/sockets&port=5433"


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:pw@db:5432/orders",
        "postgresql+asyncpg://u:pw@db:5432/orders",
        "postgres://u:pw@db:5432/orders",
    ],
)
def test_either_form_gives_both(given):
    assert asyncpg_url(given) == "postgresql+asyncpg://u:pw@db:5432/orders"
    assert libpq_dsn(given) == "postgresql://u:pw@db:5432/orders"


def test_credentials_and_options_pass_through_as_written():
    assert libpq_dsn(asyncpg_url(SOCKET)) == SOCKET


@pytest.mark.parametrize("given", ["mysql://u:pw@db/orders", "db:5432/orders"])
def test_anything_but_postgresql_is_refused(given):
    with pytest.raises(ValueError, match="postgresql://"):
        asyncpg_url(given)
