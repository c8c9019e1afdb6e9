"""The session cookie: a signed JWT every service verifies on its own, without calling auth."""

import functools
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import jwt
from fastapi import Depends, Request, Response
from pydantic import BaseModel

from ticketing.common.errors import NotAuthorized
from ticketing.common.settings import ServiceSettings

COOKIE = "session"
ALGORITHM = "HS256"


class UserPayload(BaseModel):
    id: UUID
    email: str


def issue_token(
    user: UserPayload, settings: ServiceSettings, *, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "iat": now,
        "exp": now + timedelta(seconds=settings.session_ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_key.get_secret_value(), algorithm=ALGORITHM)


def read_token(token: str, settings: ServiceSettings) -> UserPayload | None:
    """Anything but a well-signed, unexpired HS256 token reads as signed out."""
    try:
        user, issued, expires = _signed_claims(token, settings.jwt_key.get_secret_value())
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
    return user if issued <= time.time() < expires else None


@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, key: str) -> tuple[UserPayload, float, float]:
    """Checking the signature was a tenth of a ticket-list request; a token's signature
    and claims never change, so each is checked once. Only the clock is read per request,
    by the caller. Failures raise, and exceptions are never cached."""
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        options={"require": ["sub", "exp", "iat"], "verify_exp": False, "verify_iat": False},
    )
    user = UserPayload(id=UUID(claims["sub"]), email=claims["email"])
    return user, float(claims["iat"]), float(claims["exp"])


def set_session(response: Response, user: UserPayload, settings: ServiceSettings) -> None:
    response.set_cookie(
        COOKIE,
        issue_token(user, settings),
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session(response: Response, settings: ServiceSettings) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )


async def _current_user(request: Request) -> UserPayload | None:
    # async, so FastAPI runs it on the loop instead of a threadpool hop per request
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return read_token(token, request.app.state.settings)


async def _require_user(user: Annotated[UserPayload | None, Depends(_current_user)]) -> UserPayload:
    if user is None:
        raise NotAuthorized()
    return user


CurrentUser = Annotated[UserPayload | None, Depends(_current_user)]
RequireUser = Annotated[UserPayload, Depends(_require_user)]
