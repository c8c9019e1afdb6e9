"""Every error, from every service, has the one shape {"errors": [{"message", "field"?}]}."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from ticketing.common.errors import (
    BadRequest,
    DatabaseConnectionError,
    NotAuthorized,
    NotFound,
    TooManyRequests,
    install_error_handlers,
)


class Body(BaseModel):
    title: str = Field(min_length=1)
    price: int


def an_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bad")
    async def bad():
        raise BadRequest("Ticket is already reserved")

    @app.get("/field")
    async def field():
        raise BadRequest("Title is required", field="title")

    @app.get("/unauthorized")
    async def unauthorized():
        raise NotAuthorized()

    @app.get("/missing")
    async def missing():
        raise NotFound("Ticket not found")

    @app.get("/throttled")
    async def throttled():
        raise TooManyRequests(30)

    @app.get("/db")
    async def db():
        raise DatabaseConnectionError()

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    @app.post("/validate")
    async def validate(body: Body):
        return body

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=an_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/bad", 400, {"errors": [{"message": "Ticket is already reserved"}]}),
        ("/field", 400, {"errors": [{"message": "Title is required", "field": "title"}]}),
        ("/unauthorized", 401, {"errors": [{"message": "Not authorized"}]}),
        ("/missing", 404, {"errors": [{"message": "Ticket not found"}]}),
        ("/db", 503, {"errors": [{"message": "Error connecting to database"}]}),
        ("/boom", 500, {"errors": [{"message": "Something went wrong"}]}),
        ("/no-such-route", 404, {"errors": [{"message": "Not found"}]}),
    ],
)
async def test_each_error_class_renders_in_the_common_shape(client, path, status, body):
    response = await client.get(path)
    assert response.status_code == status
    assert response.json() == body


async def test_too_many_requests_says_when_to_retry(client):
    response = await client.get("/throttled")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["errors"][0]["message"]


async def test_an_unexpected_error_hides_its_details(client):
    response = await client.get("/boom")
    assert "secret" not in response.text


async def test_validation_errors_are_400_with_a_field_each(client):
    response = await client.post("/validate", json={"title": ""})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {e["field"] for e in errors} == {"title", "price"}
    assert all(e["message"] for e in errors)


async def test_malformed_json_is_a_400_in_the_common_shape(client):
    response = await client.post(
        "/validate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


async def test_wrong_method_is_405_in_the_common_shape(client):
    response = await client.delete("/bad")
    assert response.status_code == 405
    assert response.json() == {"errors": [{"message": "Method not allowed"}]}


async def test_an_oversized_body_is_refused_before_parsing(postgres, nats):
    from tests.support import AUTH_KEYS, running
    from ticketing.auth.app import create_app
    from ticketing.auth.settings import AuthSettings

    settings = AuthSettings(
        database_url=await postgres.fresh_database("auth"), nats_url=nats.url, **AUTH_KEYS
    )

    async def chunks():
        yield b"{"
        for _ in range(80):
            yield b" " * 1024

    async with running(create_app(settings)) as client:
        big = {"email": "a@b.io", "password": "x" * (70 * 1024)}
        response = await client.post("/api/users/signup", json=big)
        chunked = await client.post(
            "/api/users/signup",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"].startswith("Request body must be at most")
    assert chunked.status_code == 413


async def test_metrics_count_requests_by_route_template(postgres, nats):
    from tests.support import AUTH_KEYS, running
    from ticketing.auth.app import create_app
    from ticketing.auth.settings import AuthSettings

    settings = AuthSettings(
        database_url=await postgres.fresh_database("auth"), nats_url=nats.url, **AUTH_KEYS
    )
    async with running(create_app(settings)) as client:
        await client.get("/api/users/currentuser")
        await client.post("/api/users/signin", json={"email": "bad"})
        text = (await client.get("/metrics")).text
    assert (
        'http_requests_total{method="GET",route="/api/users/currentuser",service="auth",status="200"}'
        in text
    )
    assert 'route="/api/users/signin",service="auth",status="400"' in text


async def test_a_request_id_is_echoed_or_made(client):
    from ticketing.common.correlation import RequestCorrelation

    app = an_app()
    app.add_middleware(RequestCorrelation)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        given = await http.get("/missing", headers={"x-request-id": "abc-1"})
        made = await http.get("/missing")
    assert given.headers["x-request-id"] == "abc-1"
    assert len(made.headers["x-request-id"]) == 32
