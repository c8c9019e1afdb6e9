"""Auth's HTTP API: /api/users/*."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.auth import devices, service, sessions
from ticketing.auth.schemas import CurrentUserOut, SigninIn, SignupIn, UserOut
from ticketing.common.auth import UserPayload, clear_session, session_of, set_session_cookie
from ticketing.common.db import Db
from ticketing.common.errors import BadRequest
from ticketing.common.openapi import error_responses

router = APIRouter()


@router.post("/signup", status_code=201)
async def signup(body: SignupIn, request: Request, response: Response, db: Db) -> UserOut:
    """Create an account and sign in to it."""
    settings = request.app.state.settings
    async with db.begin():
        user = await service.sign_up(db, body.email, body.password)
        payload = UserPayload(id=user.id, email=user.email)
        issued = await sessions.start(db, payload, settings)
    _set_cookie(response, issued, settings)
    return UserOut(id=user.id, email=user.email)


@router.post("/signin", responses=error_responses(429))
async def signin(body: SigninIn, request: Request, response: Response, db: Db) -> UserOut:
    """Sign in with email and password."""
    settings = request.app.state.settings
    # The peer as uvicorn gives it: X-Forwarded-For counts only from a trusted proxy.
    address = request.client.host if request.client else None
    device = devices.recognised(request.cookies.get(devices.COOKIE), body.email, settings)
    async with db.begin():
        user = await service.sign_in(
            db, body.email, body.password, address=address, device=device, settings=settings
        )
        if user is not None:
            payload = UserPayload(id=user.id, email=user.email)
            issued = await sessions.start(db, payload, settings)
    if user is None:
        raise BadRequest("Invalid credentials")
    _set_cookie(response, issued, settings)
    devices.remember(response, user.email, device, settings)
    return UserOut(id=user.id, email=user.email)


@router.post("/signout")
async def signout(request: Request, response: Response, db: Db, everywhere: bool = False) -> dict:
    """Sign out: this session ends in every service, or with `everywhere=true` every
    session of this user; the cookie is cleared."""
    settings = request.app.state.settings
    token = session_of(request)
    if token is not None:
        async with db.begin():
            if await sessions.live(db, token, datetime.now(UTC)) is not None:
                await sessions.revoke(db, token, everywhere=everywhere)
    clear_session(response, settings)
    return {}


@router.get("/currentuser")
async def currentuser(request: Request, response: Response, db: Db) -> CurrentUserOut:
    """Who is signed in, or null; a session past half its life gets a fresh cookie."""
    user = await _signed_in(request, response, db)
    return CurrentUserOut(currentUser=UserOut(id=user.id, email=user.email) if user else None)


async def _signed_in(request: Request, response: Response, db: AsyncSession) -> UserPayload | None:
    """Auth owns the sessions, so it asks its table, not the revocation feed: a signed-out
    session reads as null here at once."""
    token = session_of(request)
    if token is None:
        return None
    settings = request.app.state.settings
    now = datetime.now(UTC)
    async with db.begin():
        session = await sessions.live(db, token, now)
        if session is None:
            return None
        issued = await sessions.renew(db, session, token, settings, now)
    if issued is not None:
        _set_cookie(response, issued, settings)
    return token.user


def _set_cookie(response: Response, issued: sessions.Issued, settings) -> None:
    set_session_cookie(response, issued.token, max_age=issued.max_age, settings=settings)
