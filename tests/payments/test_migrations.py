"""The first migration builds exactly the tables the models describe, plus the bus tables."""

from tests.migration_checks import schema_differences
from ticketing.payments.models import Base


async def test_the_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "payments", Base.metadata) == []
