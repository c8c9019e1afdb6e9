"""Auth's HTTP API: /api/users/*."""

from fastapi import APIRouter, Request, Response

from ticketing.auth import devices, service
from ticketing.auth.schemas import CurrentUserOut, SigninIn, SignupIn, UserOut
from ticketing.common.auth import CurrentUser, UserPayload, clear_session, set_session
from ticketing.common.db import Db
from ticketing.common.errors import BadRequest
from ticketing.common.openapi import error_responses

router = APIRouter()


@router.post("/signup", status_code=201)
async def signup(body: SignupIn, request: Request, response: Response, db: Db) -> UserOut:
    """Create an account and sign in to it."""
    async with db.begin():
        user = await service.sign_up(db, body.email, body.password)
    set_session(response, UserPayload(id=user.id, email=user.email), request.app.state.settings)
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
    if user is None:
        raise BadRequest("Invalid credentials")
    set_session(response, UserPayload(id=user.id, email=user.email), settings)
    devices.remember(response, user.email, device, settings)
    return UserOut(id=user.id, email=user.email)


@router.post("/signout")
async def signout(request: Request, response: Response) -> dict:
    """Sign out: the session cookie is cleared."""
    clear_session(response, request.app.state.settings)
    return {}


@router.get("/currentuser")
async def currentuser(user: CurrentUser) -> CurrentUserOut:
    """Who is signed in, or null."""
    return CurrentUserOut(currentUser=UserOut(id=user.id, email=user.email) if user else None)
