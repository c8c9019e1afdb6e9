"""The migrations build exactly the tables models.py describes."""

import pytest
from sqlalchemy.exc import IntegrityError

from tests.common.bus_support import engine as bus_engine
from tests.migration_checks import schema_differences
from tests.passes.builders import make_pass
from ticketing.passes.domain import PassStatus
from ticketing.passes.models import Base


async def test_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "passes", Base.metadata) == []


async def test_the_database_refuses_a_second_valid_pass_for_a_ticket(postgres):
    async with bus_engine(await postgres.fresh_database("passes")) as engine:
        first = await make_pass(engine)
        await make_pass(engine, ticket_id=first.ticket_id, status=PassStatus.REVOKED)
        with pytest.raises(IntegrityError, match="uq_passes_valid_ticket"):
            await make_pass(engine, ticket_id=first.ticket_id)


async def test_the_database_refuses_a_second_pass_for_an_order_or_an_odd_status(postgres):
    async with bus_engine(await postgres.fresh_database("passes")) as engine:
        first = await make_pass(engine)
        with pytest.raises(IntegrityError, match="uq_passes_order_id"):
            await make_pass(engine, order_id=first.order_id)
        with pytest.raises(IntegrityError, match="ck_passes_status"):
            await make_pass(engine, status="lost")
