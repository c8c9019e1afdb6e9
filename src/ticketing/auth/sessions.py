"""Sessions auth keeps so that signing out means it: each token names one (`sid`).

A session lives `session_ttl_seconds` from its last renewal and never past
`session_max_age_seconds` from sign-in. Revoking one stages session.revoked in the same
transaction, so every service hears of it (guarantee 2) and refuses the token.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.auth.models import Session
from ticketing.auth.settings import AuthSettings
from ticketing.common.auth import SessionToken, UserPayload, issue_token
from ticketing.common.bus import outbox
from ticketing.common.events import SessionRevoked


@dataclass(frozen=True)
class Issued:
    token: str
    max_age: int


async def start(
    db: AsyncSession, user: UserPayload, settings: AuthSettings, now: datetime | None = None
) -> Issued:
    """A new session for a sign-up or sign-in; the user's expired ones are dropped."""
    now = now or datetime.now(UTC)
    await db.execute(delete(Session).where(Session.user_id == user.id, Session.expires_at <= now))
    session = Session(
        id=uuid4(),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_seconds),
    )
    db.add(session)
    await db.flush()
    return _issue(user, session.id, now, session.expires_at, settings)


async def live(db: AsyncSession, token: SessionToken, now: datetime) -> Session | None:
    """The token's session, if auth still has it unrevoked and unexpired, for this user."""
    return (
        await db.execute(
            select(Session).where(
                Session.id == token.session_id,
                Session.user_id == token.user.id,
                Session.revoked_at.is_(None),
                Session.expires_at > now,
            )
        )
    ).scalar_one_or_none()


async def renew(
    db: AsyncSession, session: Session, token: SessionToken, settings: AuthSettings, now: datetime
) -> Issued | None:
    """Sliding: a token past half its life is replaced by one for the same session that
    lasts `session_ttl_seconds` from now, up to the cap counted from sign-in."""
    if not token.past_half_life(now.timestamp()):
        return None
    cap = session.created_at + timedelta(seconds=settings.session_max_age_seconds)
    expires_at = min(now + timedelta(seconds=settings.session_ttl_seconds), cap)
    if int(expires_at.timestamp()) <= token.expires_at:  # a token holds whole seconds
        return None  # at the cap: this token is as long as the session can be
    await db.execute(
        update(Session)
        .where(Session.id == session.id)
        .values(expires_at=func.greatest(Session.expires_at, expires_at))
    )
    return _issue(token.user, session.id, now, expires_at, settings)


async def revoke(db: AsyncSession, token: SessionToken, *, everywhere: bool = False) -> int:
    """End the token's session, or every live session of its user; how many ended."""
    now = datetime.now(UTC)
    where = (
        [Session.user_id == token.user.id, Session.expires_at > now]
        if everywhere
        else [Session.id == token.session_id, Session.user_id == token.user.id]
    )
    ended = (
        await db.execute(
            update(Session)
            .where(*where, Session.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(Session.id, Session.user_id, Session.expires_at)
        )
    ).all()
    await outbox.stage_many(
        db,
        [
            SessionRevoked(session_id=row.id, user_id=row.user_id, expires_at=row.expires_at)
            for row in ended
        ],
    )
    return len(ended)


def _issue(
    user: UserPayload, session_id: UUID, now: datetime, expires_at: datetime, settings: AuthSettings
) -> Issued:
    token = issue_token(
        user,
        session_id,
        settings.jwt_private_key.get_secret_value(),
        issued_at=now,
        expires_at=expires_at,
    )
    return Issued(token, max(int((expires_at - now).total_seconds()), 1))
