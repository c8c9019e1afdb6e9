"""The door: a phone that remembers its door token and checks each code scanned or typed.

No user session is needed or asked for (no call to auth), so a borrowed phone at the door
shows nobody's account. The token stays in an HttpOnly cookie only /door receives."""

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from ticketing.web import views
from ticketing.web.api_client import Api, ApiError, ApiUnavailable
from ticketing.web.pages import Page

log = logging.getLogger(__name__)

router = APIRouter(prefix="/door")

COOKIE = "door_token"
COOKIE_MAX_AGE = 180 * 24 * 3600  # a door is set up once per device, forgotten by a button
# Printable ASCII, no space or separator: it goes in a cookie and an Authorization header
TOKEN = re.compile(r"[\x21-\x7e]{1,512}")
MAX_CODE = 512  # far above any code's length; more is not a code, and not worth a call
FormText = Annotated[str, Form()]


def _page(request: Request) -> Page:
    page = Page(request, Api(request.app.state.http, request), user=None)
    request.state.page = page  # error pages show the door signed out, as it is
    return page


def _token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return token if TOKEN.fullmatch(token) else None


def _render(
    page: Page,
    *,
    answer: views.DoorAnswer | None = None,
    token_error: str | None = None,
    code_error: str | None = None,
    has_token: bool = True,
    status_code: int = 200,
) -> Response:
    return page.render(
        "door.html",
        status_code=status_code,
        answer=answer,
        token_error=token_error,
        code_error=code_error,
        has_token=has_token,
    )


def _forget(response: Response, request: Request) -> Response:
    secure = request.app.state.settings.cookie_secure
    response.delete_cookie(COOKIE, path="/door", secure=secure, httponly=True, samesite="strict")
    return response


@router.get("")
async def door(request: Request) -> Response:
    return _render(_page(request), has_token=_token(request) is not None)


@router.post("/token")
async def save_token(request: Request, token: FormText = "") -> Response:
    """Remember this door's token on this device."""
    page = _page(request)
    token = token.strip()
    if not TOKEN.fullmatch(token):
        error = "Enter the door token" if not token else "That is not a door token"
        return _render(page, token_error=error, has_token=False, status_code=400)
    response = page.redirect("/door")
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/door",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
    )
    return response


@router.post("/forget")
async def forget_token(request: Request) -> Response:
    return _forget(_page(request).redirect("/door"), request)


@router.post("")
async def check_in(request: Request, code: FormText = "") -> Response:
    """One scan: admitted (green) or why not (red), and the field ready for the next."""
    page = _page(request)
    token = _token(request)
    if token is None:
        return _render(page, has_token=False)
    code = code.strip()
    if not code:
        return _render(page, code_error="Scan or type a code", status_code=400)
    if len(code) > MAX_CODE:
        return _render(page, answer=views.door_answer(404, []))
    try:
        admission = await page.api.check_in(token, code)
    except ApiError as refused:
        if refused.status == 401:
            answer = views.DoorAnswer(False, "This door's token is not valid")
            return _forget(_render(page, answer=answer, has_token=False), request)
        return _render(page, answer=views.door_answer(refused.status, refused.general()))
    except ApiUnavailable as unavailable:
        log.warning("check-in unavailable: %s", unavailable)
        answer = views.DoorAnswer(False, "Cannot check right now — scan again in a moment")
        return _render(page, answer=answer, status_code=503)
    return _render(page, answer=views.door_answer(200, [], admission.title))
