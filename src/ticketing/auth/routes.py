"""Auth's HTTP API: /api/users/*.

Its routes take the engine, not a pooled connection: a sign-up or sign-in hashes first and
connects after, and a request with no session cookie never connects at all."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.auth import devices, passwords, service
from ticketing.auth.schemas import CurrentUserOut, SigninIn, SignupIn, UserOut
from ticketing.auth.settings import AuthSettings
from ticketing.common.auth import UserPayload, clear_session, session_of, set_session_cookie
from ticketing.common.db import Engine
from ticketing.common.openapi import error_responses
from ticketing.common.refusals import Invalid

router = APIRouter()


async def _settings(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.settings
    return settings


Settings = Annotated[AuthSettings, Depends(_settings)]


@router.post("/signup", status_code=201)
async def signup(body: SignupIn, response: Response, engine: Engine, settings: Settings) -> UserOut:
    """Create an account and sign in to it."""
    password_hash = await passwords.hash_password(body.password)
    async with engine.begin() as db:
        now = datetime.now(UTC)
        user = await service.sign_up(db, body.email, password_hash)
        issued = await service.start_session(db, user, settings, now)
    _set_cookie(response, issued, settings)
    return UserOut(id=user.id, email=user.email)


@router.post("/signin", responses=error_responses(429))
async def signin(
    body: SigninIn, request: Request, response: Response, engine: Engine, settings: Settings
) -> UserOut:
    """Sign in with email and password."""
    # The peer as uvicorn gives it: X-Forwarded-For counts only from a trusted proxy.
    address = request.client.host if request.client else None
    device = devices.recognised(request.cookies.get(devices.COOKIE), body.email, settings)
    checked = await service.check_password(
        engine, body.email, body.password, address=address, device=device, settings=settings
    )
    async with engine.begin() as db:
        now = datetime.now(UTC)
        user = await service.sign_in(db, checked, settings, now)
        if user is not None:
            issued = await service.start_session(db, user, settings, now)
    if user is None:  # after the commit: the failure stays counted
        raise Invalid("Invalid credentials")
    _set_cookie(response, issued, settings)
    devices.remember(response, user.email, device, settings)
    return UserOut(id=user.id, email=user.email)


@router.post("/signout")
async def signout(
    request: Request,
    response: Response,
    engine: Engine,
    settings: Settings,
    everywhere: bool = False,
) -> dict[str, str]:
    """Sign out: this session ends in every service, or with `everywhere=true` every
    session of this user; the cookie is cleared."""
    token = session_of(request)
    if token is not None:
        async with engine.begin() as db:
            await service.sign_out(db, token, datetime.now(UTC), everywhere=everywhere)
    clear_session(response, settings)
    return {}


@router.get("/currentuser")
async def currentuser(
    request: Request, response: Response, engine: Engine, settings: Settings
) -> CurrentUserOut:
    """Who is signed in, or null; a session past half its life gets a fresh cookie."""
    user = await _signed_in(request, response, engine, settings)
    return CurrentUserOut(currentUser=UserOut(id=user.id, email=user.email) if user else None)


async def _signed_in(
    request: Request, response: Response, engine: AsyncEngine, settings: AuthSettings
) -> UserPayload | None:
    """Auth owns the sessions, so it asks its table, not the revocation feed: a signed-out
    session reads as null here at once."""
    token = session_of(request)
    if token is None:
        return None
    async with engine.begin() as db:
        now = datetime.now(UTC)
        session = await service.live_session(db, token, now)
        if session is None:
            return None
        issued = await service.renew(db, session, token, settings, now)
    if issued is not None:
        _set_cookie(response, issued, settings)
    return token.user


def _set_cookie(response: Response, issued: service.Issued, settings: AuthSettings) -> None:
    set_session_cookie(response, issued.token, max_age=issued.max_age, settings=settings)
