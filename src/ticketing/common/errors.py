"""The error hierarchy and the handlers that render every error as {"errors": [...]}."""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ExceptionHandler

from ticketing.common import refusals

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    message = "Bad request"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        self.field = field
        super().__init__(self.message)

    def serialize(self) -> list[dict[str, str]]:
        item = {"message": self.message}
        if self.field:
            item["field"] = self.field
        return [item]

    def headers(self) -> dict[str, str] | None:
        return None


class BadRequest(AppError):
    status_code = 400


class NotAuthorized(AppError):
    status_code = 401
    message = "Not authorized"


class NotFound(AppError):
    status_code = 404
    message = "Not found"


class TooManyRequests(AppError):
    status_code = 429
    message = "Too many attempts, try again later"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DatabaseConnectionError(AppError):
    status_code = 503
    message = "Error connecting to database"


def errors_response(
    status: int, items: list[dict[str, str]], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"errors": items}, status_code=status, headers=headers)


def _field_of(location: Sequence[object]) -> str | None:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def validation_items(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    items = []
    for error in errors:
        item = {"message": _clean(error["msg"])}
        if field := _field_of(tuple(error.get("loc", ()))):
            item["field"] = field
        items.append(item)
    return items


async def _app_error(_: Request, exc: AppError) -> JSONResponse:
    return errors_response(exc.status_code, exc.serialize(), exc.headers())


REFUSAL_STATUS: dict[type[refusals.Refusal], int] = {
    refusals.Invalid: 400,
    refusals.NotYours: 401,
    refusals.Missing: 404,
    refusals.Conflict: 409,
    refusals.Gone: 410,
}


def refusal_response(exc: refusals.Refusal) -> JSONResponse:
    status = next((code for kind, code in REFUSAL_STATUS.items() if isinstance(exc, kind)), 400)
    item = {"message": exc.message}
    if exc.field:
        item["field"] = exc.field
    return errors_response(status, [item])


async def _refusal(_: Request, exc: refusals.Refusal) -> JSONResponse:
    return refusal_response(exc)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return errors_response(400, validation_items(exc.errors()))


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return errors_response(exc.status_code, [{"message": message}], getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Already loaded in a service with a database; a service without one (web) loads
    # SQLAlchemy only if an error ever reaches this last resort.
    from ticketing.common.db import unreachable

    if unreachable(exc):
        log.warning("database unreachable: %s", exc)
        return errors_response(503, DatabaseConnectionError().serialize())
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return errors_response(500, [{"message": "Something went wrong"}])


E = TypeVar("E", bound=Exception)


def on_error(
    app: FastAPI, kind: type[E], handler: Callable[[Request, E], Awaitable[Response]]
) -> None:
    """`app.add_exception_handler`, typed as Starlette calls it: with the kind registered.
    (Starlette's own annotation asks for a handler of any Exception.)"""
    app.add_exception_handler(kind, cast(ExceptionHandler, handler))


def install_error_handlers(app: FastAPI) -> None:
    on_error(app, AppError, _app_error)
    on_error(app, refusals.Refusal, _refusal)
    on_error(app, RequestValidationError, _validation_error)
    on_error(app, HTTPException, _http_error)
    # Database and network errors are answered where routes raise them, so a 503 is counted
    # as a 503 and nothing re-raises it to the server's log as a crash; the catch-all below
    # is the last resort for everything else.
    for kind in (OSError, TimeoutError, Exception):
        on_error(app, kind, _unexpected)


def install_database_errors(app: FastAPI) -> None:
    """For an app with a database: its errors answered as the network's are, above."""
    from sqlalchemy.exc import SQLAlchemyError

    on_error(app, SQLAlchemyError, _unexpected)
