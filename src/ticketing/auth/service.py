"""Auth use cases; each runs inside the caller's transaction."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.auth import passwords, throttle
from ticketing.auth.models import User
from ticketing.auth.settings import AuthSettings
from ticketing.common.errors import BadRequest


async def sign_up(db: AsyncSession, email: str, password: str) -> User:
    """Insert, don't check: the unique index decides between two racing sign-ups."""
    password_hash = await passwords.hash_password(password)
    row = (
        await db.execute(
            insert(User)
            .values(email=email, password_hash=password_hash)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User)
        )
    ).scalar_one_or_none()
    if row is None:
        raise BadRequest("Email in use")
    return row


async def sign_in(
    db: AsyncSession,
    email: str,
    password: str,
    *,
    address: str | None,
    device: str | None,
    settings: AuthSettings,
) -> User | None:
    """The user, or None for bad credentials. The attempt is let through by the throttle
    and counted as a failure before the password is checked, on a connection and in a
    transaction of its own (throttle.claim), and uncounted here if the password is right.
    A hash of an old kind is replaced in the caller's transaction.

    The password is checked holding no pooled connection: a burst of sign-ins would
    otherwise hold the whole pool for the length of its hashes, and every other request
    (currentuser reads the sessions table) would queue behind them."""
    attempt = throttle.Attempt.of(email, address, device)
    claim = await throttle.claim(db.bind, attempt, settings)
    async with db.bind.connect() as conn:
        found = (
            await conn.execute(select(User.id, User.password_hash).where(User.email == email))
        ).first()
    stored = found.password_hash if found else passwords.DUMMY_HASH
    right, new_hash = await passwords.verify_and_update(password, stored)
    if right and found is not None:
        user = await db.get_one(User, found.id)
        if new_hash is not None:
            user.password_hash = new_hash
        await throttle.succeeded(db, claim)
        return user
    await throttle.prune(db, settings, datetime.now(UTC))
    return None
