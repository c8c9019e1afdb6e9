"""The engine every service builds keeps bound values out of error messages and logs."""

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ticketing.common.db import make_engine

EMAIL = "someone.private@example.com"


async def test_a_failing_statement_names_no_bound_value(postgres, caplog):
    """Error messages end up in logs and error reports; a user's e-mail must not."""
    engine = make_engine(await postgres.empty_database())
    failure = None
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT 1 / 0 WHERE CAST(:email AS text) <> ''"), {"email": EMAIL}
            )
    except DBAPIError as error:
        logging.getLogger("ticketing").exception("statement failed")
        failure = error
    finally:
        await engine.dispose()
    assert failure is not None and "division by zero" in str(failure)
    assert EMAIL not in str(failure)
    assert EMAIL not in repr(failure)
    assert EMAIL not in caplog.text
