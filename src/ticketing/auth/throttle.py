"""Sign-in throttling shared by every replica: failures are rows in auth's own database.

Three keys: the account from one address (tight), one address across accounts, and one
account across addresses (loose, against spread-out guessing). A locked-out pair does not
stop the owner signing in from elsewhere.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.auth.models import SigninFailure
from ticketing.auth.settings import AuthSettings
from ticketing.common.errors import TooManyRequests


@dataclass(frozen=True)
class Attempt:
    email: str
    address: str

    def keys(self, settings: AuthSettings) -> dict[str, int]:
        return {
            f"pair:{self.email}|{self.address}": settings.signin_max_failures_per_account,
            f"addr:{self.address}": settings.signin_max_failures_per_address,
            f"email:{self.email}": settings.signin_max_failures_per_email,
        }


async def check(db: AsyncSession, attempt: Attempt, settings: AuthSettings, now: datetime) -> None:
    window = timedelta(seconds=settings.signin_window_seconds)
    for key, limit in attempt.keys(settings).items():
        count, oldest = (
            await db.execute(
                select(func.count(), func.min(SigninFailure.at)).where(
                    SigninFailure.key == key, SigninFailure.at > now - window
                )
            )
        ).one()
        if count >= limit:
            retry_after = int((oldest + window - now).total_seconds()) + 1
            raise TooManyRequests(retry_after)


async def record_failure(db: AsyncSession, attempt: Attempt, settings: AuthSettings) -> None:
    await db.execute(insert(SigninFailure), [{"key": k} for k in attempt.keys(settings)])


async def forget_pair(db: AsyncSession, attempt: Attempt) -> None:
    await db.execute(
        delete(SigninFailure).where(SigninFailure.key == f"pair:{attempt.email}|{attempt.address}")
    )


async def prune(db: AsyncSession, settings: AuthSettings, now: datetime) -> None:
    cutoff = now - timedelta(seconds=settings.signin_window_seconds)
    await db.execute(delete(SigninFailure).where(SigninFailure.at < cutoff))
