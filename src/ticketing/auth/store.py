"""Auth's data access: users, sessions and recorded sign-in failures, as Core statements on
a connection the caller holds; values out are the domain's."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.auth.domain import Failures, Session, User
from ticketing.auth.models import Session as SessionRow
from ticketing.auth.models import SigninFailure
from ticketing.auth.models import User as UserRow
from ticketing.common.rows import columns, table, value

USERS = table(UserRow)
SESSIONS = table(SessionRow)
FAILURES = table(SigninFailure)


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str


# Users


async def add_user(db: AsyncConnection, email: str, password_hash: str) -> User | None:
    """Insert, don't check: the unique index decides between two racing sign-ups. None when
    the email is in use."""
    row = (
        await db.execute(
            upsert(UserRow)
            .values(email=email, password_hash=password_hash)
            .on_conflict_do_nothing(index_elements=[USERS.c.email])
            .returning(USERS.c.id, USERS.c.email)
        )
    ).first()
    return User(row.id, row.email) if row else None


async def credentials(db: AsyncConnection, email: str) -> Credentials | None:
    row = (
        await db.execute(select(USERS.c.id, USERS.c.password_hash).where(USERS.c.email == email))
    ).first()
    return Credentials(User(row.id, email), row.password_hash) if row else None


async def set_password_hash(db: AsyncConnection, user_id: UUID, password_hash: str) -> None:
    await db.execute(
        update(UserRow).where(USERS.c.id == user_id).values(password_hash=password_hash)
    )


# Sessions


async def add_session(db: AsyncConnection, session: Session) -> None:
    await db.execute(
        insert(SessionRow).values(
            id=session.id,
            user_id=session.user_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
    )


async def delete_sessions_expired_before(db: AsyncConnection, before: datetime) -> int:
    """Revoked or not: past its expiry, a session's tokens are refused everywhere anyway."""
    result = await db.execute(delete(SessionRow).where(SESSIONS.c.expires_at < before))
    return result.rowcount


async def live_session(
    db: AsyncConnection, session_id: UUID, user_id: UUID, now: datetime
) -> Session | None:
    """The session, if unrevoked, unexpired, and this user's."""
    row = (
        await db.execute(
            select(*columns(SESSIONS, Session)).where(
                SESSIONS.c.id == session_id,
                SESSIONS.c.user_id == user_id,
                SESSIONS.c.revoked_at.is_(None),
                SESSIONS.c.expires_at > now,
            )
        )
    ).first()
    return value(Session, row) if row else None


async def extend_session(db: AsyncConnection, session: Session) -> None:
    """To the session's new expiry, never shorter: a racing renewal that reached further
    stands."""
    await db.execute(
        update(SessionRow)
        .where(SESSIONS.c.id == session.id)
        .values(expires_at=func.greatest(SESSIONS.c.expires_at, session.expires_at))
    )


async def revoke_sessions(
    db: AsyncConnection, user_id: UUID, now: datetime, *, session_id: UUID | None
) -> list[Session]:
    """End one session of the user's (`session_id`), or with None every live one; the ones
    this ended."""
    which = (
        [SESSIONS.c.id == session_id, SESSIONS.c.user_id == user_id]
        if session_id is not None
        else [SESSIONS.c.user_id == user_id, SESSIONS.c.expires_at > now]
    )
    ended = await db.execute(
        update(SessionRow)
        .where(*which, SESSIONS.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(SESSIONS.c.id, SESSIONS.c.user_id, SESSIONS.c.created_at, SESSIONS.c.expires_at)
    )
    return [Session(row.id, row.user_id, row.created_at, row.expires_at) for row in ended]


# Sign-in failures (the throttle's rows)


async def lock_keys(db: AsyncConnection, keys: Iterable[bytes]) -> None:
    """Each key's transaction-scoped advisory lock, taken in one order everywhere so that
    two attempts never deadlock; held until the caller's transaction ends."""
    for key in sorted(keys):
        await db.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))


def _lock_id(key: bytes) -> int:
    return int.from_bytes(key[:8], "big", signed=True)


async def count_failures(
    db: AsyncConnection, keys: Iterable[bytes], since: datetime
) -> list[Failures]:
    counted = await db.execute(
        select(FAILURES.c.key, func.count(), func.min(FAILURES.c.at), func.max(FAILURES.c.at))
        .where(FAILURES.c.key.in_(list(keys)), FAILURES.c.at > since)
        .group_by(FAILURES.c.key)
    )
    return [Failures(key, count, oldest, latest) for key, count, oldest, latest in counted]


async def record_failures(db: AsyncConnection, keys: Iterable[bytes], at: datetime) -> list[int]:
    """One row per key; their ids."""
    rows = await db.execute(
        insert(SigninFailure).returning(FAILURES.c.id), [{"key": key, "at": at} for key in keys]
    )
    return list(rows.scalars())


async def clear_failures(db: AsyncConnection, row_ids: list[int], keys: list[bytes]) -> None:
    """The rows `row_ids`, and every failure counted against `keys`."""
    await db.execute(
        delete(SigninFailure).where(or_(FAILURES.c.id.in_(row_ids), FAILURES.c.key.in_(keys)))
    )


async def prune_failures(db: AsyncConnection, before: datetime) -> int:
    result = await db.execute(delete(SigninFailure).where(FAILURES.c.at < before))
    return result.rowcount
