"""The gateway: routes by path prefix as the ingress does, round-robin across replicas."""

import itertools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

log = logging.getLogger(__name__)

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# Scraped from each process directly, never through the public entrance.
INTERNAL = {"/metrics"}
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}


class Routes:
    """Longest matching prefix wins; '/' is the catch-all (the web client)."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._prefixes = sorted(table, key=len, reverse=True)
        self._rings = {prefix: list(urls) for prefix, urls in table.items()}
        self._cycles = {prefix: itertools.cycle(urls) for prefix, urls in self._rings.items()}

    def upstream(self, path: str) -> str | None:
        candidates = self.upstreams(path)
        return candidates[0] if candidates else None

    def upstreams(self, path: str) -> list[str]:
        """Every replica for the path, starting with the next one in turn."""
        for prefix in self._prefixes:
            if prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                first = next(self._cycles[prefix])
                ring = self._rings[prefix]
                start = ring.index(first)
                return ring[start:] + ring[:start]
        return []


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


def create_gateway(table: Mapping[str, Sequence[str]], *, timeout: float = 30.0) -> Starlette:
    routes = Routes(table)
    # A proxy must never keep cookies: a shared jar would hand one user's session to the
    # next visitor who arrives without one. This policy accepts no cookie from anyone.
    never_store = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    # A small pool per upstream: httpcore scans every pooled connection on each request,
    # so hundreds of idle ones cost more than they save. Idle ones expire before the
    # services' own keep-alive timeout, so a request never lands on a closing socket.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=2)
    client = httpx.AsyncClient(timeout=timeout, limits=limits, cookies=never_store)

    async def proxy(request: Request) -> Response:
        candidates = routes.upstreams(request.url.path)
        if not candidates or request.url.path in INTERNAL:
            return _error(404, "Not found")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED]
        client_host = request.client.host if request.client else ""
        forwarded = request.headers.get("x-forwarded-for")
        headers.append(
            ("x-forwarded-for", f"{forwarded}, {client_host}" if forwarded else client_host)
        )
        headers.append(("x-forwarded-proto", request.url.scheme))
        headers.append(("x-forwarded-host", request.headers.get("host", "")))
        body = await request.body()
        reply = None
        for base in candidates:
            upstream = client.build_request(
                request.method,
                base + request.url.path,
                params=request.url.query,
                headers=headers,
                content=body,
            )
            try:
                reply = await client.send(upstream, stream=True)
                break
            except httpx.ConnectError as error:
                # Nothing reached the replica, so even a POST may go to the next one.
                log.warning("gateway: %s refused (%s); trying the next replica", base, error)
            except httpx.TransportError as error:
                log.warning(
                    "gateway: %s %s → %s failed: %s", request.method, request.url.path, base, error
                )
                break
        if reply is None:
            return _error(503, "Service unavailable, try again shortly")
        out_headers = [
            (k, v) for k, v in reply.headers.multi_items() if k.lower() not in HOP_BY_HOP
        ]
        response = StreamingResponse(
            reply.aiter_raw(),
            status_code=reply.status_code,
            background=BackgroundTask(reply.aclose),
        )
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]
        return response

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with client:
            yield

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", proxy, methods=methods)], lifespan=lifespan)
