"""Plain routes: the busiest endpoints, answered without FastAPI's per-request work.

On every request FastAPI solves the route's dependencies, parses the content type and the
body, validates it, validates and serialises the answer, and dispatches through each
router the app included. On a refused reservation, the flash sale's most common answer,
that was a fifth of the request's CPU (in-process, the same app either way). A plain
route's endpoint takes the Request and returns the Response: it reads the session
(`auth.require_user`) and the body (`read_body`) and writes its answer (`json_response`)
itself, raising the errors every route raises, so its answers keep the common shape.

It is still an APIRoute, so the API documents it (its body from `body`, its answer from
`response_model`), and it sits on the app itself, before the routers the app includes.
"""

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from ticketing.common.errors import BadRequest

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]
M = TypeVar("M", bound=BaseModel)

NOT_JSON = "The body must be JSON, sent as application/json"
MISSING = "Field required"
UNREADABLE = "There was an error parsing the body"
_DEFINITIONS = "#/components/schemas/{model}"


class PlainRoute(APIRoute):
    """The endpoint is the route's whole handler."""

    body: type[BaseModel] | None = None

    def get_route_handler(self) -> Endpoint:
        endpoint: Endpoint = self.endpoint
        return endpoint


@dataclass
class PlainRoutes:
    """A module's plain routes under `prefix`; `add_to(app)` puts them on the app."""

    prefix: str
    _routes: list[tuple[str, Endpoint, dict[str, Any], type[BaseModel] | None]] = field(
        default_factory=list
    )

    def get(self, path: str, **documented: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route("GET", path, **documented)

    def post(self, path: str, **documented: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route("POST", path, **documented)

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type[BaseModel] | None = None,
        **documented: Any,
    ) -> Callable[[Endpoint], Endpoint]:
        """`body`: the model the endpoint reads with `read_body`. `documented`: what
        `APIRouter.api_route` takes for the API document (status_code, response_model,
        responses, openapi_extra)."""

        def register(endpoint: Endpoint) -> Endpoint:
            self._routes.append((path, endpoint, {"methods": [method], **documented}, body))
            return endpoint

        return register

    def add_to(self, app: FastAPI) -> None:
        for path, endpoint, documented, body in self._routes:
            options = dict(documented)  # kept whole: every app made from the module adds them
            extra = options.pop("openapi_extra", None) or {}
            app.router.add_api_route(
                self.prefix + path,
                endpoint,
                openapi_extra=extra | _body_document(body),
                route_class_override=PlainRoute,
                **options,
            )
            route = app.router.routes[-1]
            assert isinstance(route, PlainRoute)
            route.body = body


def _body_document(body: type[BaseModel] | None) -> dict[str, Any]:
    if body is None:
        return {}
    schema = body.model_json_schema(ref_template=_DEFINITIONS)
    schema.pop("$defs", None)  # the document's components hold them (definitions())
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def definitions(app: FastAPI) -> dict[str, Any]:
    """The schemas plain routes' bodies refer to, for the document's components."""
    found: dict[str, Any] = {}
    for route in app.router.routes:
        if isinstance(route, PlainRoute) and route.body is not None:
            schema = route.body.model_json_schema(ref_template=_DEFINITIONS)
            found |= schema.get("$defs", {})
    return found


async def read_body(request: Request, model: type[M]) -> M:
    """The body as `model`, or a 400 naming each field wrong, read as FastAPI reads one:
    the standard library's JSON, then the model. (pydantic's own JSON reader refuses some
    text the model's validators would name a field for, a lone surrogate in a title.)
    JSON only: a cross-site form can send text/plain without asking first, never
    application/json."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json" and not _json_suffixed(kind):
        raise BadRequest(NOT_JSON)
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": MISSING}])
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:  # where it broke, but no field: it names none
        message = f"JSON decode error at character {error.pos}"
        invalid = {"type": "json_invalid", "loc": ("body",), "msg": message}
        raise RequestValidationError([invalid]) from None
    except (ValueError, RecursionError):  # not UTF-8, a number past int's digits, nesting
        raise BadRequest(UNREADABLE) from None
    try:
        return model.model_validate(parsed)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None


def _json_suffixed(kind: str) -> bool:
    return kind.startswith("application/") and kind.endswith("+json")


def json_response(answer: BaseModel, status_code: int = 200) -> Response:
    """Serialised once, by pydantic, in the wire's camelCase."""
    return Response(
        answer.model_dump_json(by_alias=True), status_code, media_type="application/json"
    )
