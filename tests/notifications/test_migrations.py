"""The migrations build exactly the tables models.py describes, and the sent-log's key."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.common.bus_support import engine as bus_engine
from tests.migration_checks import schema_differences
from ticketing.common.migrations import _config
from ticketing.common.rows import values
from ticketing.notifications.domain import MailKind, Person, Site, compose
from ticketing.notifications.models import Base, Mail

SITE = Site("Ticketing", "http://t.test", "t@t.test")


async def test_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "notifications", Base.metadata) == []


def a_mail(event_id, recipient, **changes) -> dict:
    facts = {"payout_id": uuid4(), "amount_cents": 100, "currency": "usd"}
    mail = compose(
        MailKind.PAYOUT,
        SITE,
        Person(recipient, "a@b.test"),
        facts,
        event_id=event_id,
        now=datetime.now(UTC),
    )
    return {**values(mail), **changes}


async def test_the_database_refuses_a_second_mail_for_one_event_and_person(postgres):
    async with bus_engine(await postgres.fresh_database("notifications")) as engine:
        event_id, person = uuid4(), uuid4()
        async with engine.begin() as db:
            await db.execute(Mail.__table__.insert().values(a_mail(event_id, person)))
            await db.execute(Mail.__table__.insert().values(a_mail(event_id, uuid4())))
        with pytest.raises(IntegrityError, match="uq_mails_event_id"):
            async with engine.begin() as db:
                await db.execute(Mail.__table__.insert().values(a_mail(event_id, person)))
        with pytest.raises(IntegrityError, match="ck_mails_status"):
            async with engine.begin() as db:
                await db.execute(
                    Mail.__table__.insert().values(a_mail(uuid4(), person, status="lost"))
                )


def _migrate(connection, url: str, revision: str, *, down: bool = False) -> None:
    config = _config("ticketing.notifications:migrations", url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_a_given_up_mail_goes_back_to_waiting_if_the_step_is_taken_back(postgres):
    """The code before it knows no given-up mail: it would try it again, as it used to."""
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    mail = a_mail(uuid4(), uuid4(), status="failed", last_error="550 5.1.1 No such mailbox")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, url, "head")
            await conn.execute(Mail.__table__.insert().values(mail))
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, url, "0001", down=True)
            assert await conn.scalar(text("SELECT status FROM mails")) == "pending"
            with pytest.raises(IntegrityError, match="ck_mails_status"):
                async with conn.begin_nested():
                    await conn.execute(text("UPDATE mails SET status = 'failed'"))
    finally:
        await engine.dispose()
