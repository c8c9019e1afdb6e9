"""deploy/nginx.conf, run for real: it routes every path as the ingress and the gateway do."""

import asyncio
import json
import re
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy import tools
from tests.deploy.manifests import DEPLOY, ROUTES
from tests.support import eventually
from ticketing.runtime.gateway import Routes
from ticketing.runtime.ports import free_port

WEB_ADDRESS = "172.30.89.11"  # web's fixed address in compose.yaml, as nginx.conf names it
WEB = "127.0.0.2"  # web's stand-in here: another loopback address than the visitors'
PATHS = [
    "/",
    "/orders/new",
    "/api/users",
    "/api/users/currentuser",
    "/api/usersx",
    "/api/tickets",
    "/api/tickets/3f0c?q=show",
    "/api/ticketsx",
    "/api/orders",
    "/api/orders/1",
    "/api/payments",
    "/api/payments/",
    "/api/payments/webhook",
    "/api/payouts",
    "/api/payouts/balance",
    "/api/payoutsx",
    "/api/passes",
    "/api/passes/3f0c/qr.svg",
    "/api/passesx",
    "/api/checkins",
    "/api/checkins/",
    "/api/checkinsx",
    "/api/unknown",
]


class Echo(BaseHTTPRequestHandler):
    """A stand-in service that says who it is and what reached it."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "service": self.server.name,
                "path": self.path,
                "forwardedFor": self.headers.get("x-forwarded-for"),
                "forwardedProto": self.headers.get("x-forwarded-proto"),
                "host": self.headers.get("host"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def ingress_backend(path: str) -> str:
    """Kubernetes' Prefix rule: whole path segments, the longest matching prefix wins."""
    segments = _segments(path)
    matching = [p for p in ROUTES if segments[: len(_segments(p))] == _segments(p)]
    return ROUTES[max(matching, key=len)]


def _segments(path: str) -> list[str]:
    return [s for s in path.split("?")[0].split("/") if s]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, int]]:
    servers = {}
    for name in set(ROUTES.values()) - {"payments"}:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    ports = {name: s.server_address[1] for name, s in servers.items()}
    ports["payments"] = free_port()  # nobody listens: payments is down
    yield ports
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
async def nginx(upstreams, tmp_path_factory) -> AsyncIterator[str]:
    binary = tools.nginx()
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = (DEPLOY / "nginx.conf").read_text()
    config = _replace_once(config, "listen 80;", f"listen 127.0.0.1:{port};")
    config = _replace_once(config, f"set_real_ip_from {WEB_ADDRESS};", f"set_real_ip_from {WEB};")
    for name, upstream_port in upstreams.items():
        config = _replace_once(config, f"server {name}:8000;", f"server 127.0.0.1:{upstream_port};")
    (folder / "nginx.conf").write_text(config)
    log = (folder / "nginx.log").open("w")
    globals_ = f"daemon off; pid {folder}/nginx.pid;"
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", globals_]
    tested = await asyncio.create_subprocess_exec(*command, "-t", stderr=subprocess.PIPE)
    _, complaint = await asyncio.wait_for(tested.communicate(), timeout=30)
    assert tested.returncode == 0, complaint.decode()
    process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            await eventually(lambda: client.get(f"{url}/api/users"), timeout=10)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
        log.close()


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"nginx.conf should hold {old!r} exactly once"
    return text.replace(old, new)


async def test_nginx_routes_each_path_as_the_ingress_and_the_gateway_do(nginx):
    gateway = Routes({prefix: [name] for prefix, name in ROUTES.items()})
    async with httpx.AsyncClient(base_url=nginx) as client:
        for path in PATHS:
            expected = ingress_backend(path)
            assert gateway.upstreams(path.split("?")[0]) == [expected], path
            if expected == "payments":  # down here: reaching it is its 503, not web's 200
                assert (await client.get(path)).status_code == 503, path
                continue
            reply = await client.get(path)
            assert reply.status_code == 200, path
            assert reply.json()["service"] == expected, path
            assert reply.json()["path"] == path, "path and query pass through untouched"


async def test_nginx_tells_the_service_who_asked_and_how(nginx):
    async with httpx.AsyncClient(base_url=nginx) as client:
        seen = (await client.get("/api/tickets", headers={"host": "shop.example"})).json()
    assert seen["forwardedFor"] == "127.0.0.1"
    assert seen["forwardedProto"] == "http"
    assert seen["host"] == "shop.example"


async def test_nginx_replaces_the_address_a_client_claims(nginx):
    """The services trust nginx's X-Forwarded-For; a client's own must not get through."""
    claims = {"x-forwarded-for": "203.0.113.7"}
    async with httpx.AsyncClient(base_url=nginx) as client:
        for path in ("/api/users/currentuser", "/"):
            seen = (await client.get(path, headers=claims)).json()
            assert seen["forwardedFor"] == "127.0.0.1", path


async def test_nginx_believes_the_browser_address_web_names_and_nobody_elses(nginx):
    """Web calls the API for a browser: auth's sign-in limits must count the browser."""
    claims = {"x-forwarded-for": "203.0.113.7"}
    web = httpx.AsyncHTTPTransport(local_address=WEB)
    async with httpx.AsyncClient(base_url=nginx, transport=web) as client:
        seen = (await client.get("/api/users/currentuser", headers=claims)).json()
    assert seen["forwardedFor"] == "203.0.113.7"


def test_the_address_nginx_believes_is_webs_in_compose():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    address = compose["services"]["web"]["networks"]["default"]["ipv4_address"]
    assert address == "${WEB_ADDRESS:-" + WEB_ADDRESS + "}"


async def test_a_service_that_is_down_answers_503_in_the_common_error_shape(nginx):
    async with httpx.AsyncClient(base_url=nginx) as client:
        reply = await client.get("/api/payments")
    assert reply.status_code == 503
    assert reply.headers["content-type"].startswith("application/json")
    (error,) = reply.json()["errors"]
    assert re.search("unavailable", error["message"], re.I)


def test_the_nginx_config_knows_no_service_the_design_does_not():
    config = (DEPLOY / "nginx.conf").read_text()
    upstreams = set(re.findall(r"upstream (\w+)", config))
    assert upstreams == set(ROUTES.values())
    assert (
        Path(DEPLOY / "compose.yaml").read_text().count("./nginx.conf:/etc/nginx/nginx.conf") == 1
    )
