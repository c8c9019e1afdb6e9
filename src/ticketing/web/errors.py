"""Friendly error pages: what the visitor can do next, never a traceback."""

import logging

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException

from ticketing.common.errors import on_error
from ticketing.web.api_client import ApiError, ApiUnavailable
from ticketing.web.pages import SignInRequired, sign_in_url, templates

log = logging.getLogger(__name__)

TITLES = {
    400: "That did not work",
    404: "Page not found",
    405: "That did not work",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Ticketing is unavailable",
}


def error_page(request: Request, status: int, messages: list[str] | None = None) -> Response:
    page = getattr(request.state, "page", None)
    context = {
        "user": page.user if page else None,
        "flash": None,
        "title": TITLES.get(status, TITLES[400]),
        "status": status,
        "messages": messages or [],
    }
    template = "not_found.html" if status == 404 else "error.html"
    return templates.TemplateResponse(request, template, context, status_code=status)


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse(sign_in_url(exc.next_path), status_code=303)


async def _api_unavailable(request: Request, exc: ApiUnavailable) -> Response:
    log.warning("API unavailable for %s %s: %s", request.method, request.url.path, exc)
    request.state.page = None  # the header cannot ask who is signed in either
    return error_page(request, 503, exc.messages)


async def _api_error(request: Request, exc: ApiError) -> Response:
    """A refusal no form on the page shows: 401 means sign in, or not yours (a 404)."""
    page = getattr(request.state, "page", None)
    if exc.status == 401 and (page is None or page.user is None):
        return await _sign_in_required(request, SignInRequired(request.url.path))
    if exc.status in (401, 403, 404):
        return error_page(request, 404)
    return error_page(request, exc.status, exc.general())


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):  # no service owns it: answer programs in kind
        message = "Not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"errors": [{"message": message}]}, status_code=exc.status_code)
    if exc.status_code == 404:
        return error_page(request, 404)
    return error_page(request, exc.status_code, [str(exc.detail)])


async def _bad_input(request: Request, exc: RequestValidationError) -> Response:
    return error_page(request, 400, ["The form or link was not understood."])


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    request.state.page = None
    return error_page(request, 500)


def install_page_errors(app: FastAPI) -> None:
    """Pages for people, where a service answers programs with {"errors": [...]}."""
    on_error(app, SignInRequired, _sign_in_required)
    on_error(app, ApiUnavailable, _api_unavailable)
    on_error(app, ApiError, _api_error)
    on_error(app, HTTPException, _http_error)
    on_error(app, RequestValidationError, _bad_input)
    on_error(app, Exception, _unexpected)
