"""A plain route answers as a FastAPI route would: the session, the body and every error in
the common shape, counted by its route template, and documented in the API."""

from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client import REGISTRY
from pydantic import BaseModel

from tests.support import KEYS, cookie_for
from ticketing.common.app import base_app
from ticketing.common.auth import require_user
from ticketing.common.plain import NOT_JSON, PlainRoutes, json_response, read_body
from ticketing.common.settings import ServiceSettings


class Seat(BaseModel):
    row: str
    number: int


class Booking(BaseModel):
    seat: Seat
    note: str | None = None


class Booked(BaseModel):
    user_id: UUID
    seat: Seat


SETTINGS = ServiceSettings.model_construct(api_docs=True, **KEYS)


ROW_FILTER = {"parameters": [{"name": "row", "in": "query", "schema": {"type": "string"}}]}
# A module's routes, as a service's: every app made here adds the same ones.
PLAIN = PlainRoutes("/api/bookings")


@PLAIN.post("", body=Booking, status_code=201, response_model=Booked)
async def book(request: Request) -> Response:
    """Book a seat."""
    user = require_user(request)
    booking = await read_body(request, Booking)
    return json_response(Booked(user_id=user.id, seat=booking.seat), 201)


@PLAIN.get("", response_model=list[Booked], openapi_extra=ROW_FILTER)
async def bookings(request: Request) -> Response:
    """Bookings, by row."""
    row = request.query_params.get("row", "A")
    return json_response(Booked(user_id=UUID(int=0), seat=Seat(row=row, number=1)))


@PLAIN.post("/crash")
async def crash(request: Request) -> Response:
    raise RuntimeError("unexpected")


@PLAIN.post("/unreachable")
async def unreachable(request: Request) -> Response:
    raise ConnectionRefusedError("the database is down")


def an_app() -> FastAPI:
    app = base_app("plain", SETTINGS)
    PLAIN.add_to(app)
    return app


def client(app: FastAPI, user_id: UUID | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    cookies = cookie_for(SETTINGS, user_id) if user_id else None
    return httpx.AsyncClient(transport=transport, base_url="http://plain", cookies=cookies)


async def test_a_signed_in_user_gets_the_answer_in_the_wire_shape():
    user_id = uuid4()
    async with client(an_app(), user_id) as http:
        answer = await http.post("/api/bookings", json={"seat": {"row": "F", "number": 12}})
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"user_id": str(user_id), "seat": {"row": "F", "number": 12}}


async def test_no_session_is_a_401_before_the_body_is_read():
    async with client(an_app()) as http:
        answer = await http.post("/api/bookings", content=b"{", headers=JSON)
    assert (answer.status_code, answer.json()) == (401, {"errors": [{"message": "Not authorized"}]})


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("content", "headers", "fields"),
    [
        (b'{"seat": {"row": "F"}}', JSON, ["seat.number"]),
        (
            b'{"seat": {"row": 1, "number": "x"}, "note": 5}',
            JSON,
            ["seat.row", "seat.number", "note"],
        ),
        (b"{}", JSON, ["seat"]),
        (b"[]", JSON, [None]),
        (b'{"seat": ', JSON, [None]),
        (b"", JSON, [None]),
        (b"\xff\xfe", JSON, [None]),
        (b'{"a": ' * 9_000 + b"1" + b"}" * 9_000, JSON, [None]),
    ],
)
async def test_a_body_that_breaks_the_model_is_a_400_naming_each_field(content, headers, fields):
    async with client(an_app(), uuid4()) as http:
        answer = await http.post("/api/bookings", content=content, headers=headers)
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert [e.get("field") for e in errors] == fields
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_only_json_is_read_so_a_cross_site_form_cannot_post(content_type):
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"seat": {"row": "F", "number": 12}}'
    async with client(an_app(), uuid4()) as http:
        answer = await http.post("/api/bookings", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, {"errors": [{"message": NOT_JSON}]})


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/ld+json"])
async def test_json_by_any_of_its_names_is_read(content_type):
    body = b'{"seat": {"row": "F", "number": 12}}'
    async with client(an_app(), uuid4()) as http:
        answer = await http.post(
            "/api/bookings", content=body, headers={"content-type": content_type}
        )
    assert answer.status_code == 201


async def test_it_is_counted_by_its_route_template():
    def count(status: str) -> float:
        labels = {"service": "plain", "method": "POST", "route": "/api/bookings", "status": status}
        return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    before = count("201"), count("400")
    async with client(an_app(), uuid4()) as http:
        await http.post("/api/bookings", json={"seat": {"row": "A", "number": 1}})
        await http.post("/api/bookings", json={})
    assert (count("201"), count("400")) == (before[0] + 1, before[1] + 1)


async def test_the_api_documents_its_body_and_answer():
    async with client(an_app()) as http:
        document = (await http.get("/openapi.json")).json()
    operation = document["paths"]["/api/bookings"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert operation["requestBody"]["required"] is True
    assert body["required"] == ["seat"]
    assert body["properties"]["seat"] == {"$ref": "#/components/schemas/Seat"}
    assert operation["description"] == "Book a seat."
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Booked"}
    schemas = document["components"]["schemas"]
    assert {"Seat", "Booked"} <= set(schemas)
    assert {"400", "413", "500", "503"} <= set(operation["responses"])


async def test_a_read_is_answered_and_documented_with_its_parameters():
    async with client(an_app()) as http:
        answer = await http.get("/api/bookings", params={"row": "K"})
        document = (await http.get("/openapi.json")).json()
    assert (answer.status_code, answer.json()["seat"]) == (200, {"row": "K", "number": 1})
    operation = document["paths"]["/api/bookings"]["get"]
    assert operation["parameters"] == ROW_FILTER["parameters"]
    assert "requestBody" not in operation


async def test_it_passes_the_apps_middleware_and_error_handlers_as_any_route_does():
    async with client(an_app(), uuid4()) as http:
        answers = {
            201: await http.post("/api/bookings", json={"seat": {"row": "A", "number": 1}}),
            400: await http.post("/api/bookings", json={}),
            500: await http.post("/api/bookings/crash"),
            503: await http.post("/api/bookings/unreachable"),
        }
        answers[401] = await client(an_app()).post("/api/bookings", json={})
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
        # an unexpected error is answered outside the middleware, as on any route
        assert ("x-request-id" in answer.headers) is (status != 500)
    assert answers[500].json() == {"errors": [{"message": "Something went wrong"}]}
    assert answers[503].json() == {"errors": [{"message": "Error connecting to database"}]}


async def test_another_method_on_its_path_is_the_apps_405():
    async with client(an_app(), uuid4()) as http:
        answer = await http.put("/api/bookings", json={"seat": {"row": "A", "number": 1}})
    assert (answer.status_code, answer.json()) == (
        405,
        {"errors": [{"message": "Method not allowed"}]},
    )


async def test_every_app_made_from_the_same_routes_documents_them_alike():
    """The routes are a module's (PLAIN): each app a service makes adds them anew."""
    documents = []
    for _ in range(2):
        async with client(an_app()) as http:
            documents.append((await http.get("/openapi.json")).json())
    first, second = (d["paths"]["/api/bookings"]["get"] for d in documents)
    assert first["parameters"] == second["parameters"] == ROW_FILTER["parameters"]
