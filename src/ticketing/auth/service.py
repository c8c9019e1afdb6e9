"""Auth use cases: sign up, sign in, and the sessions a sign-in starts, renews and ends.

Each runs in the caller's transaction, except the password check (check_password), which
holds no connection while it hashes. A session lives `session_ttl_seconds` from its last
renewal and never past `session_max_age_seconds` from sign-in. Ending one stages
session.revoked in the same transaction, so every service hears of it (guarantee 2) and
refuses the token.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.auth import domain, passwords, store, throttle
from ticketing.auth.domain import Session, User
from ticketing.auth.settings import AuthSettings
from ticketing.common.auth import SessionToken, UserPayload, issue_token
from ticketing.common.bus import outbox
from ticketing.common.events import SessionRevoked, UserCreated
from ticketing.common.refusals import Invalid

ENDED_SESSION_KEPT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Forgotten:
    sessions: int
    failures: int


@dataclass(frozen=True, slots=True)
class Issued:
    """A signed session token, and how long its cookie is kept."""

    token: str
    max_age: int


@dataclass(frozen=True, slots=True)
class Checked:
    """A sign-in's password check: the user if the password was right (with a hash to
    replace theirs, if theirs is of an old kind), and the throttle's claim on the attempt."""

    claim: throttle.Claim
    user: User | None
    new_hash: str | None


async def sign_up(db: AsyncConnection, email: str, password_hash: str) -> User:
    """The account and its user.created in one transaction: whoever writes to people learns
    the address from the event, never from auth's tables."""
    user = await store.add_user(db, email, password_hash)
    if user is None:
        raise Invalid("Email in use")
    await outbox.stage(db, UserCreated(id=user.id, email=user.email))
    return user


async def check_password(
    engine: AsyncEngine,
    email: str,
    password: str,
    *,
    address: str | None,
    device: str | None,
    settings: AuthSettings,
) -> Checked:
    """The attempt is let through by the throttle and counted as a failure before the
    password is checked, on a connection and in a transaction of its own (throttle.claim);
    sign_in uncounts it if the password is right.

    The password is checked holding no pooled connection: a burst of sign-ins would
    otherwise hold the whole pool for the length of its hashes, and every other request
    (currentuser reads the sessions table) would queue behind them."""
    claim = await throttle.claim(engine, domain.Attempt.of(email, address, device), settings)
    async with engine.connect() as db:
        found = await store.credentials(db, email)
    stored = found.password_hash if found else passwords.DUMMY_HASH
    right, new_hash = await passwords.verify_and_update(password, stored)
    if right and found is not None:
        return Checked(claim, found.user, new_hash)
    return Checked(claim, None, None)


async def sign_in(
    db: AsyncConnection, checked: Checked, settings: AuthSettings, now: datetime
) -> User | None:
    """The user, or None for bad credentials. A right password uncounts the attempt and
    replaces a hash of an old kind; a wrong one stays counted."""
    if checked.user is None:
        await throttle.prune(db, settings, now)
        return None
    if checked.new_hash is not None:
        await store.set_password_hash(db, checked.user.id, checked.new_hash)
    await throttle.succeeded(db, checked.claim)
    return checked.user


async def start_session(
    db: AsyncConnection, user: User, settings: AuthSettings, now: datetime
) -> Issued:
    """A new session for a sign-up or sign-in; the user's expired ones are dropped."""
    session = domain.new_session(uuid4(), user.id, now, settings.session_ttl_seconds)
    await store.add_session(db, session)
    payload = UserPayload(id=user.id, email=user.email)
    return _issue(payload, session.id, now, session.expires_at, settings)


async def live_session(db: AsyncConnection, token: SessionToken, now: datetime) -> Session | None:
    """The token's session, if auth still has it unrevoked and unexpired, for this user."""
    return await store.live_session(db, token.session_id, token.user.id, now)


async def renew(
    db: AsyncConnection,
    session: Session,
    token: SessionToken,
    settings: AuthSettings,
    now: datetime,
) -> Issued | None:
    """Sliding: a token past half its life is replaced by one for the same session that
    lasts `session_ttl_seconds` from now, up to the cap counted from sign-in."""
    if not token.past_half_life(now.timestamp()):
        return None
    longer = domain.renewed(
        session,
        token.expires_at,
        now,
        settings.session_ttl_seconds,
        settings.session_max_age_seconds,
    )
    if longer is None:
        return None
    await store.extend_session(db, longer)
    return _issue(token.user, longer.id, now, longer.expires_at, settings)


async def sign_out(
    db: AsyncConnection, token: SessionToken, now: datetime, *, everywhere: bool = False
) -> int:
    """End the token's session, or every live session of its user; how many ended. A token
    whose session has already ended ends nothing, not even with `everywhere`."""
    if await live_session(db, token, now) is None:
        return 0
    ended = await store.revoke_sessions(
        db, token.user.id, now, session_id=None if everywhere else token.session_id
    )
    await outbox.stage_many(
        db,
        [
            SessionRevoked(session_id=s.id, user_id=s.user_id, expires_at=s.expires_at)
            for s in ended
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
    return Issued(token, domain.cookie_max_age(now, expires_at))


async def forget_ended(db: AsyncConnection, settings: AuthSettings, now: datetime) -> Forgotten:
    """What auth deletes now and then: sessions expired over an hour ago (a renewal that
    found one live just before its expiry still finds its row), and sign-in failures past
    the throttle's window. Without it, the sessions of a user who never signs in again and
    the failures of a guessing burst that stopped would stay for ever."""
    sessions = await store.delete_sessions_expired_before(db, now - ENDED_SESSION_KEPT)
    return Forgotten(sessions, await throttle.prune(db, settings, now))
