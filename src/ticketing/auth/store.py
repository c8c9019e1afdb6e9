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

users = UserRow.__table__.c
sessions = SessionRow.__table__.c
failures = SigninFailure.__table__.c


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
            .on_conflict_do_nothing(index_elements=[users.email])
            .returning(users.id, users.email)
        )
    ).first()
    return User(row.id, row.email) if row else None


async def credentials(db: AsyncConnection, email: str) -> Credentials | None:
    row = (
        await db.execute(select(users.id, users.password_hash).where(users.email == email))
    ).first()
    return Credentials(User(row.id, email), row.password_hash) if row else None


async def set_password_hash(db: AsyncConnection, user_id: UUID, password_hash: str) -> None:
    await db.execute(update(UserRow).where(users.id == user_id).values(password_hash=password_hash))


# Sessions


async def add_session(db: AsyncConnection, session: Session) -> None:
    """Store a new session, dropping its user's expired ones in the same statement."""
    expired = (
        delete(SessionRow)
        .where(sessions.user_id == session.user_id, sessions.expires_at <= session.created_at)
        .cte("expired")
    )
    await db.execute(
        insert(SessionRow)
        .values(
            id=session.id,
            user_id=session.user_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
        .add_cte(expired)
    )


async def live_session(
    db: AsyncConnection, session_id: UUID, user_id: UUID, now: datetime
) -> Session | None:
    """The session, if unrevoked, unexpired, and this user's."""
    row = (
        await db.execute(
            select(sessions.id, sessions.user_id, sessions.created_at, sessions.expires_at).where(
                sessions.id == session_id,
                sessions.user_id == user_id,
                sessions.revoked_at.is_(None),
                sessions.expires_at > now,
            )
        )
    ).first()
    return Session(row.id, row.user_id, row.created_at, row.expires_at) if row else None


async def extend_session(db: AsyncConnection, session: Session) -> None:
    """To the session's new expiry, never shorter: a racing renewal that reached further
    stands."""
    await db.execute(
        update(SessionRow)
        .where(sessions.id == session.id)
        .values(expires_at=func.greatest(sessions.expires_at, session.expires_at))
    )


async def revoke_sessions(
    db: AsyncConnection, user_id: UUID, now: datetime, *, session_id: UUID | None
) -> list[Session]:
    """End one session of the user's (`session_id`), or with None every live one; the ones
    this ended."""
    which = (
        [sessions.id == session_id, sessions.user_id == user_id]
        if session_id is not None
        else [sessions.user_id == user_id, sessions.expires_at > now]
    )
    ended = await db.execute(
        update(SessionRow)
        .where(*which, sessions.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(sessions.id, sessions.user_id, sessions.created_at, sessions.expires_at)
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
        select(failures.key, func.count(), func.min(failures.at), func.max(failures.at))
        .where(failures.key.in_(list(keys)), failures.at > since)
        .group_by(failures.key)
    )
    return [Failures(key, count, oldest, latest) for key, count, oldest, latest in counted]


async def record_failures(db: AsyncConnection, keys: Iterable[bytes], at: datetime) -> list[int]:
    """One row per key; their ids."""
    rows = await db.execute(
        insert(SigninFailure).returning(failures.id), [{"key": key, "at": at} for key in keys]
    )
    return list(rows.scalars())


async def clear_failures(db: AsyncConnection, row_ids: list[int], keys: list[bytes]) -> None:
    """The rows `row_ids`, and every failure counted against `keys`."""
    await db.execute(
        delete(SigninFailure).where(or_(failures.id.in_(row_ids), failures.key.in_(keys)))
    )


async def prune_failures(db: AsyncConnection, before: datetime) -> None:
    await db.execute(delete(SigninFailure).where(failures.at < before))
