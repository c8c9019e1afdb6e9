"""Request fields every service reads the same way, with the original app's sentences."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.alias_generators import to_camel

from ticketing.common.errors import BadRequest


def required(message: str) -> BeforeValidator:
    """A missing field gets the original app's sentence, not pydantic's "Field required"."""

    def check(value: object) -> object:
        if value is None:
            raise ValueError(message)
        return value

    return BeforeValidator(check)


def path_id(param: str) -> Callable[[str], Awaitable[UUID]]:
    """A dependency reading the path parameter `param` as an id: a malformed one is a 400
    on that field ("OrderId must be a valid id"), never a 422 or a lookup."""
    field = to_camel(param)
    label = field[0].upper() + field[1:]

    async def parse(
        raw: Annotated[str, Path(alias=param, json_schema_extra={"format": "uuid"})],
    ) -> UUID:
        try:
            return UUID(raw)
        except ValueError:
            raise BadRequest(f"{label} must be a valid id", field=field) from None

    return parse


M = TypeVar("M", bound=BaseModel)


class QueryModel(Generic[M]):
    """A dependency reading the query string into `model`, answering a bad value as any
    request field (400, the field's name): FastAPI's own query models (`Query()` on a
    model) inspect every field's annotation again on every request, several times the
    cost of the validation itself. `openapi` documents the parameters as FastAPI would:
    pass it to the route as `openapi_extra`."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        schema = model.model_json_schema(by_alias=True)
        required = set(schema.get("required", ()))
        self.openapi: dict[str, Any] = {
            "parameters": [
                {"name": name, "in": "query", "required": name in required, "schema": field}
                for name, field in schema["properties"].items()
            ]
        }

    async def __call__(self, request: Request) -> M:
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as error:
            raise RequestValidationError(
                [error | {"loc": ("query", *error["loc"])} for error in error.errors()]
            ) from None
