"""Auth deletes what has ended, by itself: sessions past their expiry and sign-in failures
past the throttle's window; never a session that still signs someone in."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import insert, select

from tests.support import eventually, running
from ticketing.auth import service
from ticketing.auth.app import create_app
from ticketing.auth.models import Session, SigninFailure
from ticketing.common import periodic

from .test_routes import signup

SESSIONS = Session.__table__
FAILURES = SigninFailure.__table__


async def _add_session(db, user_id: str, *, expired: timedelta, revoked: bool = False) -> UUID:
    """A session that expired `expired` ago (negative: still to come)."""
    now = datetime.now(UTC)
    session_id = uuid4()
    await db.execute(
        insert(SESSIONS).values(
            id=session_id,
            user_id=UUID(user_id),
            created_at=now - timedelta(days=2),
            expires_at=now - expired,
            revoked_at=now - timedelta(days=1) if revoked else None,
        )
    )
    return session_id


async def _add_failure(db, *, ago: timedelta) -> bytes:
    key = uuid4().bytes
    await db.execute(insert(FAILURES).values(key=key, at=datetime.now(UTC) - ago))
    return key


async def _sessions_of(db, user_id: str) -> set[UUID]:
    rows = await db.execute(select(SESSIONS.c.id).where(SESSIONS.c.user_id == UUID(user_id)))
    return {row.id for row in rows}


async def _failure_keys(db, keys: list[bytes]) -> set[bytes]:
    rows = await db.execute(select(FAILURES.c.key).where(FAILURES.c.key.in_(keys)))
    return {row.key for row in rows}


async def test_ended_sessions_and_old_failures_go_and_whatever_still_counts_stays(
    client, engine, settings
):
    user = (await signup(client)).json()["id"]  # the client now holds a live session
    window = timedelta(seconds=settings.signin_window_seconds)
    async with engine.begin() as db:
        (signed_in,) = await _sessions_of(db, user)
        await _add_session(db, user, expired=timedelta(hours=2))  # ended
        await _add_session(db, user, expired=timedelta(days=3), revoked=True)  # ended
        just_ended = await _add_session(db, user, expired=timedelta(minutes=10))
        revoked_live = await _add_session(db, user, expired=-timedelta(hours=5), revoked=True)
        old_failure = await _add_failure(db, ago=window + timedelta(minutes=1))
        counting = await _add_failure(db, ago=window - timedelta(minutes=1))

    async with engine.begin() as db:
        gone = await service.forget_ended(db, settings, datetime.now(UTC))

    assert gone.sessions >= 2 and gone.failures >= 1  # other tests' rows may go too
    async with engine.connect() as db:
        assert await _sessions_of(db, user) == {signed_in, just_ended, revoked_live}
        assert await _failure_keys(db, [old_failure, counting]) == {counting}
    current = (await client.get("/api/users/currentuser")).json()
    assert current["currentUser"]["id"] == user  # the live session still signs its user in


async def test_a_running_auth_deletes_ended_sessions_soon_after_it_starts_and_then_again(
    monkeypatch, settings
):
    """Nobody signs in again: nothing else would ever delete these."""
    monkeypatch.setattr(periodic, "FIRST_ROUND_SECONDS", 0.2)
    app = create_app(settings.model_copy(update={"session_purge_every_seconds": 0.5}))
    async with running(app) as client:
        user = (await signup(client)).json()["id"]
        for _ in range(2):  # the first round, then a later one
            async with app.state.engine.begin() as db:
                (live,) = await _sessions_of(db, user)
                await _add_session(db, user, expired=timedelta(days=1))

            async def only_the_live_one_left() -> bool:
                async with app.state.engine.connect() as db:
                    return await _sessions_of(db, user) == {live}  # noqa: B023

            await eventually(only_the_live_one_left)
