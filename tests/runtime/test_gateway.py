"""The gateway routes by longest prefix, round-robins replicas and passes cookies both ways;
it forwards only paths every server reads alike, states the client's address itself, caps
bodies, and keeps /metrics inside."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from tests.deploy import tools
from tests.support import eventually
from ticketing.common.limits import MAX_BODY_BYTES
from ticketing.runtime import nginx
from ticketing.runtime.gateway import Routes, create_gateway, server_config
from ticketing.runtime.ports import free_port, port_answers
from ticketing.runtime.services import SERVICES


def test_longest_prefix_wins_and_root_catches_the_rest():
    routes = Routes(
        {"/api/users": ["http://auth"], "/api/tickets": ["http://t"], "/": ["http://web"]}
    )
    assert routes.upstreams("/api/users/signup") == ["http://auth"]
    assert routes.upstreams("/api/tickets") == ["http://t"]
    assert routes.upstreams("/api/ticketsx") == ["http://web"]
    assert routes.upstreams("/orders/1") == ["http://web"]


def test_replicas_take_turns_and_each_turn_offers_the_others_after_it():
    routes = Routes({"/api/orders": ["http://a", "http://b", "http://c"]})
    turns = [routes.upstreams("/api/orders") for _ in range(4)]
    assert turns == [
        ["http://a", "http://b", "http://c"],
        ["http://b", "http://c", "http://a"],
        ["http://c", "http://a", "http://b"],
        ["http://a", "http://b", "http://c"],
    ]


def test_each_public_prefix_goes_to_its_service_and_some_serve_two():
    """The table `ticketing up` builds: one service may own several prefixes."""
    table: dict[str, list[str]] = {}
    for spec in SERVICES:
        for prefix in spec.routes:
            table.setdefault(prefix, []).append(f"http://{spec.name}")
    routes = Routes(table)
    assert routes.upstreams("/api/passes/1/qr.svg") == ["http://passes"]
    assert routes.upstreams("/api/checkins") == ["http://passes"]
    assert routes.upstreams("/api/checkinsx") == ["http://web"]
    assert routes.upstreams("/api/orders") == ["http://orders"]
    assert routes.upstreams("/api/payouts/balance") == ["http://payments"]
    assert routes.upstreams("/api/payments/webhook") == ["http://payments"]
    assert routes.upstreams("/api/payoutsx") == ["http://web"]
    assert all(urls == [urls[0]] for urls in table.values()), "a prefix served twice"


def test_no_route_is_no_upstream():
    assert Routes({"/api/users": ["http://auth"]}).upstreams("/elsewhere") == []


def _echo_app(seen: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next):
        seen.append(
            {
                "raw_path": request.scope["raw_path"],
                "query": request.scope["query_string"],
                "headers": request.headers.items(),
            }
        )
        return await call_next(request)

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


@asynccontextmanager
async def serving(config: uvicorn.Config) -> AsyncIterator[None]:
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def seen() -> list[dict]:
    """Every request that reached the upstream: raw path, query, headers."""
    return []


@pytest.fixture
async def upstream(seen) -> AsyncIterator[str]:
    """A real HTTP server that echoes what reached it, with uvicorn's `server` banner."""
    port = free_port()
    async with serving(uvicorn.Config(_echo_app(seen), port=port, log_level="warning")):
        yield f"http://127.0.0.1:{port}"


RELAY_KEY = "relaykeyfortests0123456789abcdef"


@pytest.fixture(params=["python", "nginx"])
def kind(request) -> str:
    """Both gateways `ticketing up` may run: nginx where it is installed, else Python's."""
    if request.param == "nginx":
        tools.nginx()  # skips where it is missing; fails on CI, which installs it
    return request.param


@pytest.fixture
def launch(kind, tmp_path):
    """Starts the gateway of this kind for a table, on a real port, so raw paths arrive as
    a client sent them; yields its base URL."""

    @asynccontextmanager
    async def launched(
        table: dict[str, list[str]], relay_key: str | None = None
    ) -> AsyncIterator[str]:
        port = free_port()
        if kind == "python":
            app = create_gateway(table, relay_key=relay_key)
            async with serving(server_config(app, "127.0.0.1", port)):
                yield f"http://127.0.0.1:{port}"
            return
        folder = tmp_path / f"nginx-{port}"
        text = nginx.config(table, host="127.0.0.1", port=port, folder=folder, relay_key=relay_key)
        nginx.write_config(folder, text)
        log = (tmp_path / f"nginx-{port}.log").open("w")
        process = await asyncio.create_subprocess_exec(
            *nginx.command(tools.nginx(), folder),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await eventually(lambda: process.returncode is None and port_answers(port))
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            await process.wait()
            log.close()

    return launched


@pytest.fixture
async def gateway(upstream, launch) -> AsyncIterator[int]:
    """The gateway in front of the echoing upstream, with the web client's relay key."""
    async with launch({"/api/users": [upstream], "/": [upstream]}, RELAY_KEY) as url:
        yield int(url.rpartition(":")[2])


async def raw_request(
    port: int, target: str, headers: str = "", method: str = "GET"
) -> tuple[int, dict, bytes]:
    """One request with its target exactly as given: httpx would resolve dot segments."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} {target} HTTP/1.1\r\nHost: gw\r\n{headers}Connection: close\r\n\r\n"
    writer.write(head.encode("latin-1"))
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head_bytes, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    return int(status_line.split()[1]), fields, body


@asynccontextmanager
async def client_through(launch, table: dict[str, list[str]]) -> AsyncIterator[httpx.AsyncClient]:
    async with launch(table) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_requests_reach_the_upstream_with_body_query_cookie_and_both_cookies_return(
    upstream, launch
):
    async with client_through(launch, {"/api/users": [upstream]}) as client:
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


async def test_a_redirect_goes_back_to_the_browser_as_it_is_with_its_cookie(upstream, launch):
    """Following it inside the gateway would drop the Set-Cookie on the way (sign-up and
    sign-in are form posts answered with 303) and show the browser the wrong page."""
    async with client_through(launch, {"/": [upstream]}) as client:
        response = await client.post("/signup-form")
    assert (response.status_code, response.headers["location"]) == (303, "/tickets")
    assert response.headers["set-cookie"].startswith("session=new")


async def test_an_unreachable_upstream_is_a_503_in_the_common_shape(launch):
    async with client_through(
        launch, {"/api/users": [f"http://127.0.0.1:{free_port()}"]}
    ) as client:
        response = await client.get("/api/users/currentuser")
    assert response.status_code == 503
    assert response.json()["errors"][0]["message"]


async def test_metrics_stay_internal(upstream, launch):
    async with client_through(launch, {"/": [upstream]}) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/anything")).status_code == 200


async def test_a_refused_replica_is_skipped_for_the_next_one(upstream, launch):
    dead = f"http://127.0.0.1:{free_port()}"
    async with client_through(launch, {"/api/orders": [dead, upstream]}) as client:
        replies = [await client.post("/api/orders", content=b"{}") for _ in range(4)]
    assert [r.status_code for r in replies] == [200] * 4
    assert all(r.json()["path"] == "api/orders" for r in replies)


async def test_the_gateway_never_hands_one_visitors_cookie_to_another(upstream, launch):
    async with client_through(launch, {"/api/users": [upstream]}) as alice:
        signed_in = await alice.post("/api/users/signin", headers={"cookie": "session=alice"})
        alice.cookies.clear()  # a new visitor: nothing of alice's on the client side
        anonymous = await alice.get("/api/users/currentuser")
    assert signed_in.json()["cookie"] == "alice"
    assert signed_in.headers.get_list("set-cookie")  # the upstream did set cookies
    assert anonymous.json()["cookies"] == {}


@pytest.mark.parametrize(
    "target",
    [
        "/./metrics",
        "/x/../metrics",
        "/api/users/../../metrics",
        "/api/users/%2e%2e/%2e%2e/metrics",
        "/api/users/%2E%2E/%2E%2E/metrics",
        "/api/users/.%2e/metrics",
        "/api/users/..%2f..%2fmetrics",
        "/api/users/..%2F..%2Fmetrics",
        "/api/users/..%5c..%5cmetrics",
        "/api/users/..\\..\\metrics",
        "/%2e/metrics",
        "//metrics",
        "/x//../metrics",
        "/metrics/",
        "/METRICS",
        "/%6detrics",
        "/metrics?x=1",
        "/metrics%00",
        "/api/users/%",
    ],
)
async def test_no_spelling_of_a_path_reaches_metrics_or_the_upstream(gateway, seen, target):
    status, _, body = await raw_request(gateway, target)
    assert status in (400, 404), (status, body)
    assert set(json.loads(body)) == {"errors"}
    assert seen == []


async def test_what_the_gateway_cannot_route_is_answered_in_the_common_shape(gateway, seen):
    for method, target in [("OPTIONS", "*"), ("TRACE", "/api/users/x")]:
        status, _, body = await raw_request(gateway, target, method=method)
        # nginx cannot read `*` as a path; Python's gateway finds no route for it
        assert status in (400, 404, 405) and set(json.loads(body)) == {"errors"}
    assert seen == []


async def test_a_checked_path_and_its_query_are_forwarded_exactly_as_sent(gateway, seen):
    status, _, _ = await raw_request(gateway, "/api/users/a%20b/%C3%A9?next=%2Fx%2F..&q=a+b")
    assert status == 200
    assert (seen[0]["raw_path"], seen[0]["query"]) == (
        b"/api/users/a%20b/%C3%A9",
        b"next=%2Fx%2F..&q=a+b",
    )


async def test_the_upstream_hears_the_peer_address_not_what_the_client_claims(gateway, seen):
    claims = (
        "X-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\n"
        "X-Real-IP: 203.0.113.9\r\nX-Forwarded-Host: evil.example\r\n"
        "X-Forwarded-Proto: https\r\n"
    )
    status, _, _ = await raw_request(gateway, "/api/users/currentuser", claims)
    assert status == 200
    headers = [(k, v) for k, v in seen[0]["headers"] if k.startswith(("x-", "forwarded"))]
    assert sorted(headers) == [
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-host", "gw"),
        ("x-forwarded-proto", "http"),
    ]
    assert ("host", "gw") in seen[0]["headers"], "the client's Host, as nginx's $host"


@pytest.mark.parametrize(
    ("relay", "claimed", "heard"),
    [
        (RELAY_KEY, "203.0.113.9", "203.0.113.9"),  # the web client, for a browser
        (RELAY_KEY, "2001:db8::1", "2001:db8::1"),
        (RELAY_KEY, "203.0.113.9, 10.0.0.1", "127.0.0.1"),  # one address or none
        (RELAY_KEY, "x" * 380, "127.0.0.1"),
        ("a-guess", "203.0.113.9", "127.0.0.1"),
        (RELAY_KEY[:-1], "203.0.113.9", "127.0.0.1"),
        ("", "203.0.113.9", "127.0.0.1"),
    ],
)
async def test_only_the_web_client_with_the_relay_key_names_the_address(
    gateway, seen, relay, claimed, heard
):
    claims = f"X-Forwarded-For: {claimed}\r\nX-Ticketing-Relay: {relay}\r\n"
    status, _, _ = await raw_request(gateway, "/api/users/currentuser", claims)
    assert status == 200
    forwarded = dict(seen[0]["headers"])
    assert forwarded["x-forwarded-for"] == heard
    assert "x-ticketing-relay" not in forwarded, "the key never travels further"


async def test_a_body_over_the_limit_is_a_413_and_never_reaches_the_upstream(gateway, seen):
    async def chunks():
        for _ in range(5):
            yield b" " * (MAX_BODY_BYTES // 4)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway}") as client:
        declared = await client.post("/api/users/signup", content=b"x" * (MAX_BODY_BYTES + 1))
        chunked = await client.post("/api/users/signup", content=chunks())
        at_the_limit = await client.post("/api/users/signup", content=b"x" * MAX_BODY_BYTES)
    assert "content-length" not in chunked.request.headers
    for refused in (declared, chunked):
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["message"]
    assert at_the_limit.status_code == 200
    assert len(seen) == 1


async def test_answers_say_nosniff_and_carry_no_server_banner(gateway, upstream, kind):
    """nginx always names itself (without its version, and never the service's banner)."""
    async with httpx.AsyncClient() as client:
        direct = await client.get(f"{upstream}/api/users/x")
        relayed = await client.get(f"http://127.0.0.1:{gateway}/api/users/x")
        own = await client.get(f"http://127.0.0.1:{gateway}/metrics")
    assert direct.headers["server"] == "uvicorn"  # the banner the gateway must not relay
    for response in (relayed, own):
        assert response.headers.get("server") == (None if kind == "python" else "nginx")
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("kind", ["nginx"])
async def test_nginx_serves_its_own_error_answers_only_in_place_of_an_error(gateway, seen, kind):
    """Its error answers live at internal paths; a client asking for one is not found."""
    tools.nginx()
    for target in ("/.gateway/503", "/.gateway/400"):
        status, _, body = await raw_request(gateway, target)
        assert (status, json.loads(body)) == (404, {"errors": [{"message": "Not found"}]})
    assert seen == []


@pytest.mark.parametrize("kind", ["nginx"])
async def test_nginx_answers_a_header_too_large_for_it_in_the_common_shape(gateway, seen, kind):
    tools.nginx()
    status, _, body = await raw_request(gateway, "/api/users/x", f"X-Big: {'a' * 70_000}\r\n")
    assert (status, set(json.loads(body))) == (400, {"errors"})
    assert seen == []


async def keep_alive_get(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> int:
    """One request on a connection kept open, as a browser or the load generator keeps it."""
    reader, writer = connection
    writer.write(b"GET /seat HTTP/1.1\r\nHost: gw\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    assert length is not None, head
    await reader.readexactly(int(length[1]))
    return int(head.split()[1])


@pytest.mark.parametrize("kind", ["nginx"])
async def test_nginx_keeps_a_bursts_connections_to_the_service_for_the_next_burst(launch, kind):
    """A flash sale's buyers come at once: nginx opens a connection to the service for each
    request in flight, and keeps them all when the burst ends, so the next burst finds them
    open rather than opening most of them again."""
    burst = 150  # more than nginx kept before (64); no more than it keeps now
    peers: set[tuple[str, int]] = set()
    app = FastAPI()

    @app.get("/seat")
    async def slow(request: Request) -> dict[str, str]:
        assert request.client is not None
        peers.add((request.client.host, request.client.port))  # one per connection
        await asyncio.sleep(0.2)  # so that the whole burst is in flight at once
        return {}

    port = free_port()
    upstream = uvicorn.Config(app, port=port, log_level="warning", proxy_headers=False)
    async with serving(upstream), launch({"/": [f"http://127.0.0.1:{port}"]}) as url:
        gateway_port = int(url.rpartition(":")[2])
        buyers = [await asyncio.open_connection("127.0.0.1", gateway_port) for _ in range(burst)]
        try:
            for which in ("first", "second"):
                statuses = await asyncio.gather(*(keep_alive_get(buyer) for buyer in buyers))
                assert set(statuses) == {200}
                assert len(peers) == burst, f"{len(peers)} connections after the {which} burst"
        finally:
            for _, writer in buyers:
                writer.close()


def test_the_nginx_configuration_refuses_a_relay_key_it_could_not_match_as_written():
    with pytest.raises(ValueError):
        nginx.config(
            {"/": ["http://127.0.0.1:1"]},
            host="127.0.0.1",
            port=1,
            folder=Path("x"),
            relay_key="a.b*",
        )


def test_an_nginx_that_takes_the_configuration_is_used_and_one_that_does_not_says_why(
    tmp_path,
):
    """`ticketing up` tests the configuration first, so an nginx that cannot run it (too old
    for it, say) leaves the Python gateway in its place rather than no gateway at all."""
    installed = tools.nginx()
    folder = tmp_path / "nginx"
    text = nginx.config({"/": ["http://127.0.0.1:1"]}, host="127.0.0.1", port=1, folder=folder)
    nginx.write_config(folder, text)
    assert nginx.refusal(installed, folder) is None
    old = tmp_path / "old-nginx"
    old.write_text("#!/bin/sh\necho 'nginx: invalid option: \"e\"' >&2\nexit 1\n")
    old.chmod(0o755)
    assert nginx.refusal(str(old), folder) == 'nginx: invalid option: "e"'
    assert nginx.refusal(str(tmp_path / "absent"), folder)
