"""The gateway: routes by path prefix as the ingress does, round-robin across replicas."""

import itertools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import aiohttp
from multidict import CIMultiDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
NOT_RELAYED = HOP_BY_HOP | {"content-length"}


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
    session: aiohttp.ClientSession | None = None

    async def proxy(request: Request) -> Response:
        candidates = routes.upstreams(request.url.path)
        if not candidates or request.url.path in INTERNAL:
            return _error(404, "Not found")
        assert session is not None, "the gateway's lifespan opens the session"
        headers = _forwarded_headers(request)
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        for base in candidates:
            try:
                async with session.request(
                    request.method,
                    base + target,
                    headers=headers,
                    data=body,
                    allow_redirects=False,  # the browser follows, with its cookies
                ) as reply:
                    return _relayed(reply, await reply.read(), head=request.method == "HEAD")
            except aiohttp.ClientConnectorError as error:
                # Nothing reached the replica, so even a POST may go to the next one.
                log.warning("gateway: %s refused (%s); trying the next replica", base, error)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning(
                    "gateway: %s %s → %s failed: %r", request.method, request.url.path, base, error
                )
                break
        return _error(503, "Service unavailable, try again shortly")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal session
        # aiohttp rather than httpx: under a flash sale's 200 concurrent requests, httpcore's
        # pool scanned every connection for every request and took most of the gateway's CPU.
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=64, keepalive_timeout=2)
        session = aiohttp.ClientSession(
            connector=connector,
            # A proxy must never keep cookies: a shared jar would hand one user's session
            # to the next visitor who arrives without one.
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=timeout),
            auto_decompress=False,  # relay the body exactly as the service sent it
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        async with session:
            yield

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", proxy, methods=methods)], lifespan=lifespan)


def _forwarded_headers(request: Request) -> CIMultiDict[str]:
    headers = CIMultiDict(
        (k, v) for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED
    )
    client_host = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    headers.add("x-forwarded-for", f"{forwarded}, {client_host}" if forwarded else client_host)
    headers.add("x-forwarded-proto", request.url.scheme)
    headers.add("x-forwarded-host", request.headers.get("host", ""))
    return headers


def _relayed(reply: aiohttp.ClientResponse, content: bytes, *, head: bool) -> Response:
    """The service's status, headers (Set-Cookie included, each one) and body, as sent.

    Buffered, not streamed: every answer here is a page or a small JSON document, and a
    streamed response cost a task group per request."""
    dropped = HOP_BY_HOP if head else NOT_RELAYED  # HEAD: the length of the GET it stands for
    response = Response(content, status_code=reply.status)
    response.raw_headers = [
        (k, v) for k, v in reply.raw_headers if k.decode("latin-1").lower() not in dropped
    ]
    if not head:
        response.raw_headers.append((b"content-length", str(len(content)).encode()))
    return response
