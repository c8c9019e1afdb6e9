"""The gateway routes by longest prefix, round-robins replicas and passes cookies both ways."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from tests.support import eventually
from ticketing.runtime.gateway import Routes, create_gateway
from ticketing.runtime.ports import free_port


def test_longest_prefix_wins_and_root_catches_the_rest():
    routes = Routes(
        {"/api/users": ["http://auth"], "/api/tickets": ["http://t"], "/": ["http://web"]}
    )
    assert routes.upstream("/api/users/signup") == "http://auth"
    assert routes.upstream("/api/tickets") == "http://t"
    assert routes.upstream("/api/ticketsx") == "http://web"
    assert routes.upstream("/orders/1") == "http://web"


def test_replicas_take_turns():
    routes = Routes({"/api/orders": ["http://a", "http://b"]})
    assert [routes.upstream("/api/orders") for _ in range(4)] == ["http://a", "http://b"] * 2


def test_no_route_is_none():
    assert Routes({"/api/users": ["http://auth"]}).upstream("/elsewhere") is None


def _echo_app() -> FastAPI:
    app = FastAPI()

    @app.post("/signup-form")
    async def signed_up():
        """A form post answered as the web client does: a redirect carrying the cookie."""
        response = RedirectResponse("/tickets", status_code=303)
        response.set_cookie("session", "new")
        return response

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request, response: Response):
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return {
            "path": path,
            "query": request.url.query,
            "cookie": request.cookies.get("session"),
            "cookies": dict(request.cookies),
            "body": (await request.body()).decode(),
            "forwarded": request.headers.get("x-forwarded-for"),
        }

    return app


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    """A real HTTP server that echoes what reached it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_echo_app(), port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@asynccontextmanager
async def through_gateway(table: dict[str, list[str]]) -> AsyncIterator[httpx.AsyncClient]:
    gateway = create_gateway(table)
    transport = httpx.ASGITransport(app=gateway)
    async with (
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(transport=transport, base_url="http://gw") as client,
    ):
        yield client


async def test_requests_reach_the_upstream_with_body_query_cookie_and_both_cookies_return(
    upstream,
):
    async with through_gateway({"/api/users": [upstream]}) as client:
        response = await client.post(
            "/api/users/signin?x=1", content=b"hello", headers={"cookie": "session=abc"}
        )
        unrouted = await client.get("/nope")
    body = response.json()
    assert (body["path"], body["query"], body["cookie"], body["body"]) == (
        "api/users/signin",
        "x=1",
        "abc",
        "hello",
    )
    assert body["forwarded"]
    assert sorted(c.split("=")[0] for c in response.headers.get_list("set-cookie")) == ["a", "b"]
    assert unrouted.status_code == 404
    assert unrouted.json() == {"errors": [{"message": "Not found"}]}


async def test_a_redirect_goes_back_to_the_browser_as_it_is_with_its_cookie(upstream):
    """Following it inside the gateway would drop the Set-Cookie on the way (sign-up and
    sign-in are form posts answered with 303) and show the browser the wrong page."""
    async with through_gateway({"/": [upstream]}) as client:
        response = await client.post("/signup-form")
    assert (response.status_code, response.headers["location"]) == (303, "/tickets")
    assert response.headers["set-cookie"].startswith("session=new")


async def test_an_unreachable_upstream_is_a_503_in_the_common_shape():
    async with through_gateway({"/api/users": [f"http://127.0.0.1:{free_port()}"]}) as client:
        response = await client.get("/api/users/currentuser")
    assert response.status_code == 503
    assert response.json()["errors"][0]["message"]


async def test_metrics_stay_internal(upstream):
    async with through_gateway({"/": [upstream]}) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/anything")).status_code == 200


async def test_a_refused_replica_is_skipped_for_the_next_one(upstream):
    dead = f"http://127.0.0.1:{free_port()}"
    async with through_gateway({"/api/orders": [dead, upstream]}) as client:
        replies = [await client.post("/api/orders", content=b"{}") for _ in range(4)]
    assert [r.status_code for r in replies] == [200] * 4
    assert all(r.json()["path"] == "api/orders" for r in replies)


async def test_the_gateway_never_hands_one_visitors_cookie_to_another(upstream):
    async with through_gateway({"/api/users": [upstream]}) as alice:
        signed_in = await alice.post("/api/users/signin", headers={"cookie": "session=alice"})
        alice.cookies.clear()  # a new visitor: nothing of alice's on the client side
        anonymous = await alice.get("/api/users/currentuser")
    assert signed_in.json()["cookie"] == "alice"
    assert signed_in.headers.get_list("set-cookie")  # the upstream did set cookies
    assert anonymous.json()["cookies"] == {}
