"""The session cookie: a JWT auth alone signs (Ed25519) and every service verifies with the
public key, without calling auth; a signed-out session's id is refused from the revocation
feed."""

import functools
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

import jwt
from fastapi import Depends, Request, Response
from pydantic import BaseModel

from ticketing.common.errors import NotAuthorized
from ticketing.common.keys import private_key, public_key
from ticketing.common.revocations import RevokedSessions
from ticketing.common.settings import ServiceSettings

COOKIE = "session"
ALGORITHM = "EdDSA"


class UserPayload(BaseModel):
    id: UUID
    email: str


@dataclass(frozen=True)
class SessionToken:
    user: UserPayload
    session_id: UUID
    issued_at: float
    expires_at: float

    def past_half_life(self, now: float) -> bool:
        return now >= self.issued_at + (self.expires_at - self.issued_at) / 2


def issue_token(
    user: UserPayload,
    session_id: UUID,
    signing_key: str,
    *,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """Only auth holds `signing_key` (JWT_PRIVATE_KEY); tests hold their own pair."""
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "sid": str(session_id),
        "iat": issued_at,
        "exp": expires_at,
    }
    return jwt.encode(claims, private_key(signing_key), algorithm=ALGORITHM)


def read_token(token: str, settings: ServiceSettings) -> SessionToken | None:
    """Anything but a well-signed (Ed25519 only), unexpired token with a session id reads
    as signed out. Whether the session was revoked is the caller's question."""
    try:
        session = _signed_claims(token, settings.jwt_public_key)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
    return session if session.issued_at <= time.time() < session.expires_at else None


@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, key: str) -> SessionToken:
    """Checking the signature was a tenth of a ticket-list request; a token's signature
    and claims never change, so each is checked once. Only the clock and the revocation
    list are read per request, by the callers. Failures raise, and are never cached."""
    claims = jwt.decode(
        token,
        public_key(key),
        algorithms=[ALGORITHM],  # never the token's own say: no HS256-with-the-public-key
        options={
            "require": ["sub", "sid", "exp", "iat"],
            "verify_exp": False,
            "verify_iat": False,
        },
    )
    user = UserPayload(id=UUID(claims["sub"]), email=claims["email"])
    return SessionToken(user, UUID(claims["sid"]), float(claims["iat"]), float(claims["exp"]))


def set_session_cookie(
    response: Response, token: str, *, max_age: int, settings: ServiceSettings
) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session(response: Response, settings: ServiceSettings) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )


def session_of(request: Request) -> SessionToken | None:
    """The cookie's session, if well signed, unexpired and not known to be revoked."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    session = read_token(token, request.app.state.settings)
    if session is None:
        return None
    revoked: RevokedSessions | None = getattr(request.app.state, "revoked_sessions", None)
    if revoked is not None and revoked.is_revoked(session.session_id):
        return None
    return session


def current_user(request: Request) -> UserPayload | None:
    """The signed-in user, or None: for plain routes, and under `CurrentUser`."""
    session = session_of(request)
    return session.user if session else None


async def _current_user(request: Request) -> UserPayload | None:
    # async, so FastAPI runs it on the loop instead of a threadpool hop per request
    return current_user(request)


def require_user(request: Request) -> UserPayload:
    """The signed-in user, or a 401: for plain routes (common/plain.py), and under
    `RequireUser`."""
    session = session_of(request)
    if session is None:
        raise NotAuthorized()
    return session.user


async def _require_user(request: Request) -> UserPayload:
    """Reads the session itself rather than through `_current_user`: a dependency of a
    dependency is another round of FastAPI's resolution, on every signed-in request."""
    return require_user(request)


CurrentUser = Annotated[UserPayload | None, Depends(_current_user)]
RequireUser = Annotated[UserPayload, Depends(_require_user)]
