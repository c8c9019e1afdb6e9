"""The OpenAPI document tells the truth about errors: the common shape, and 400 where
FastAPI would promise a 422 that no service ever sends."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DESCRIPTIONS = {
    400: "Bad input (each field named), or a rule broken",
    401: "Not signed in, or not yours",
    404: "Not found",
    413: "Request body over 64 KiB",
    429: "Too many attempts; try again after Retry-After seconds",
    500: "Unexpected error, with a generic message",
    503: "A dependency (database, payment processor) is unreachable; try again later",
}
_REF = {"$ref": "#/components/schemas/Errors"}


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    field: str | None = None


class Errors(BaseModel):
    """Every error from every service: {"errors": [{"message", "field"?}]}."""

    model_config = ConfigDict(extra="forbid")
    errors: list[ErrorItem] = Field(min_length=1)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: the errors it documents beyond those every route has."""
    return {status: _response(status) for status in statuses}


def _response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": _REF}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    return response


def document_errors(
    schema: dict[str, Any], definitions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Rewrite the generated document, once (FastAPI keeps it): input errors are 400, any
    body may be too large, any operation may meet a database that is down (503) or an
    unexpected error (500). `definitions`: schemas the operations refer to that FastAPI
    did not collect (plain routes' bodies')."""
    if schema.get("x-errors-documented"):
        return schema
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _add_common_errors(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions or {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    definitions = Errors.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definitions.pop("$defs", {}))
    components["Errors"] = definitions
    schema["x-errors-documented"] = True
    return schema


def _add_common_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    takes_input = "requestBody" in operation or operation.get("parameters")
    if responses.pop("422", None) is not None or takes_input:
        responses.setdefault("400", _response(400))
    if "requestBody" in operation:
        responses.setdefault("413", _response(413))
    for status in (500, 503):
        responses.setdefault(str(status), _response(status))
