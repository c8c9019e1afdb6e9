"""The gateway: routes by path prefix as the ingress does, round-robin across replicas."""

import hmac
import ipaddress
import itertools
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from urllib.parse import quote, unquote

import aiohttp
import uvicorn
from multidict import CIMultiDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from yarl import URL

from ticketing.common.limits import MAX_BODY_BYTES, too_large

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
# Who the client is and how it came in: the gateway says so itself, never the client.
CLIENT_CLAIMS = {
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-real-ip",
}
# Sent by the web client alone, with the browser's address in X-Forwarded-For; never passed on.
RELAY_HEADER = "x-ticketing-relay"
NOT_FORWARDED = HOP_BY_HOP | CLIENT_CLAIMS | {RELAY_HEADER, "content-length"}
NOT_RELAYED_FOR_HEAD = HOP_BY_HOP | {"server"}  # no version banner for whoever probes
NOT_RELAYED = NOT_RELAYED_FOR_HEAD | {"content-length"}
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class Routes:
    """Longest matching prefix wins; '/' is the catch-all (the web client)."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._prefixes = sorted(table, key=len, reverse=True)
        self._rings = {prefix: list(urls) for prefix, urls in table.items()}
        self._cycles = {prefix: itertools.cycle(urls) for prefix, urls in self._rings.items()}

    def upstreams(self, path: str) -> list[str]:
        """Every replica for the path, starting with the next one in turn."""
        for prefix in self._prefixes:
            if prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                first = next(self._cycles[prefix])
                ring = self._rings[prefix]
                start = ring.index(first)
                return ring[start:] + ring[:start]
        return []


class BadPath(ValueError):
    pass


def checked_path(raw: str) -> str:
    """The decoded path of a raw request path that means the same to every server on the
    way, or BadPath.

    The path is checked, routed and forwarded as the client spelled it, so nothing
    downstream may read it differently: no dot segment ('.', '..', '%2e' in any case),
    which a client library or the service's router would resolve after the check; no
    encoded or back slash, which a router may treat as a separator; no empty segment
    but a trailing one; no control character, encoded or not."""
    if not raw.startswith("/") or "\\" in raw or BAD_ESCAPE.search(raw):
        raise BadPath(raw)
    if not raw.isascii() or not raw.isprintable() or " " in raw:
        raise BadPath(raw)
    lowered = raw.lower()
    if "%2f" in lowered or "%5c" in lowered:
        raise BadPath(raw)
    segments = [unquote(segment) for segment in raw.split("/")[1:]]
    for index, segment in enumerate(segments):
        if segment in (".", "..") or not segment.isprintable():
            raise BadPath(raw)
        if not segment and index != len(segments) - 1:
            raise BadPath(raw)
    return "/" + "/".join(segments)


def _internal(path: str) -> bool:
    """Whatever the spelling the services could resolve it to: '/metrics/', '/METRICS'."""
    return path.rstrip("/").lower() in INTERNAL


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message}]},
        status_code=status,
        headers={"x-content-type-options": "nosniff"},
    )


async def _not_routed(_request: Request, error: Exception) -> JSONResponse:
    status = getattr(error, "status_code", 404)
    return _error(status, "Method not allowed" if status == 405 else "Not found")


async def _capped_body(request: Request) -> bytes | None:
    """The body, or None past the services' own limit: counted as it arrives, so a client
    cannot make the gateway hold more than that in memory, with or without a length."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_gateway(
    table: Mapping[str, Sequence[str]], *, timeout: float = 30.0, relay_key: str | None = None
) -> Starlette:
    """`relay_key`: the secret the web client shows when it calls the API for a browser, so
    the browser's address, not web's, reaches auth's sign-in limits. Without it every sign-in
    made through a page would share web's address and its limit."""
    routes = Routes(table)
    session: aiohttp.ClientSession | None = None

    async def proxy(request: Request) -> Response:
        scope = request.scope
        raw = (scope.get("raw_path") or quote(scope["path"]).encode()).decode("latin-1")
        try:
            path = checked_path(raw)
        except BadPath:
            return _error(400, "Invalid path")
        candidates = routes.upstreams(path)
        if not candidates or _internal(path):
            return _error(404, "Not found")
        assert session is not None, "the gateway's lifespan opens the session"
        body = await _capped_body(request)
        if body is None:
            return _error(413, too_large())
        headers = _forwarded_headers(request, relay_key)
        query = scope.get("query_string", b"").decode("latin-1")
        target = raw + (f"?{query}" if query else "")
        for base in candidates:
            try:
                async with session.request(
                    request.method,
                    # encoded: sent exactly as checked, never re-quoted or normalised
                    URL(base + target, encoded=True),
                    headers=headers,
                    data=body,
                    allow_redirects=False,  # the browser follows, with its cookies
                ) as reply:
                    return _relayed(reply, await reply.read(), head=request.method == "HEAD")
            except aiohttp.ClientConnectorError as error:
                # Nothing reached the replica, so even a POST may go to the next one.
                log.warning("gateway: %s refused (%s); trying the next replica", base, error)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("gateway: %s %s → %s failed: %r", request.method, path, base, error)
                break
        return _error(503, "Service unavailable, try again shortly")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal session
        # aiohttp rather than httpx: httpcore's pool scans every connection for every request,
        # so under a flash sale's crowd of concurrent requests the gateway did little else.
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
    return Starlette(
        routes=[Route("/{path:path}", proxy, methods=methods)],
        lifespan=lifespan,
        exception_handlers={404: _not_routed, 405: _not_routed},  # e.g. `OPTIONS *`, TRACE
    )


def server_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        # The edge: no one in front of it may speak for the client, not even from 127.0.0.1.
        proxy_headers=False,
        server_header=False,  # the upstream's own date header passes through
        date_header=False,
        ws="none",  # nothing here speaks WebSocket; not loading it saves memory
    )


def _client_address(request: Request, relay_key: str | None) -> str:
    """The peer's address; for the web client relaying a browser's request, the browser's.
    Replaced, never appended to: the services trust the gateway's word for the address
    (FORWARDED_ALLOW_IPS), and a client-sent value would let it choose its own."""
    peer = request.client.host if request.client else ""
    shown = request.headers.get(RELAY_HEADER, "")
    if not relay_key or not hmac.compare_digest(shown.encode(), relay_key.encode()):
        return peer
    claimed = request.headers.get("x-forwarded-for", "").strip()
    try:
        return str(ipaddress.ip_address(claimed))
    except ValueError:
        return peer


def _forwarded_headers(request: Request, relay_key: str | None = None) -> CIMultiDict[str]:
    """The client's headers, its Host included (as nginx's `$host`: the web client compares a
    form's Origin with it), without any it may not claim."""
    headers = CIMultiDict(
        (k, v) for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED
    )
    headers["x-forwarded-for"] = _client_address(request, relay_key)
    headers["x-forwarded-proto"] = request.url.scheme
    if host := request.headers.get("host"):  # the Host this answer is served for
        headers["x-forwarded-host"] = host
    return headers


def _relayed(reply: aiohttp.ClientResponse, content: bytes, *, head: bool) -> Response:
    """The service's status, headers (Set-Cookie included, each one) and body, as sent.

    Buffered, not streamed: every answer here is a page or a small JSON document, and a
    streamed response cost a task group per request."""
    # HEAD: the length of the GET it stands for
    dropped = NOT_RELAYED_FOR_HEAD if head else NOT_RELAYED
    response = Response(content, status_code=reply.status)
    response.raw_headers = [
        (k, v) for k, v in reply.raw_headers if k.decode("latin-1").lower() not in dropped
    ]
    if not any(k.lower() == b"x-content-type-options" for k, _ in response.raw_headers):
        response.raw_headers.append((b"x-content-type-options", b"nosniff"))
    if not head:
        response.raw_headers.append((b"content-length", str(len(content)).encode()))
    return response
