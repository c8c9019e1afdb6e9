"""Prometheus metrics every service exposes at /metrics (or on METRICS_PORT), by service.

Metrics are process-global (one registry), so they are declared here once; a service
records business events through `business` with its own `event` label. A gauge read from
elsewhere (the outbox's backlog, from the database) is refreshed by a hook the app
registers with `before_scrape`.
"""

import contextlib
import functools
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketing.common.middleware import HttpMiddleware

REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PUBLISHED = Counter("events_published_total", "Outbox events published", ["service", "subject"])
PUBLISH_LAG = Histogram(
    "outbox_publish_lag_seconds",
    "Commit to JetStream ack",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
)
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet published", ["service"])
DELIVERIES = Counter("events_delivered_total", "Messages delivered", ["service", "subject"])
REDELIVERIES = Counter("events_redelivered_total", "Redeliveries", ["service", "subject"])
APPLIED = Counter("events_applied_total", "Events that took effect", ["service", "subject"])
DUPLICATES = Counter(
    "events_duplicate_total", "Events skipped as already processed", ["service", "subject"]
)
NAKS = Counter("events_nak_total", "Negative acks", ["service", "subject", "reason"])
DEAD_LETTERS = Counter("events_dead_letter_total", "Messages given up on", ["service", "subject"])
BUSINESS = Counter("business_events_total", "Domain outcomes", ["service", "event"])


def business(service: str, event: str) -> None:
    """e.g. business("orders", "reservation_refused") for an oversell attempt turned away."""
    _business_series(service, event).inc()


@functools.cache
def _business_series(service: str, event: str) -> Counter:
    """Looked up once, as RequestMetrics' series: a flash sale counts every refusal."""
    return BUSINESS.labels(service, event)


class RequestMetrics(HttpMiddleware):
    """ASGI middleware: count and time requests by route template (not raw path)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        super().__init__(app)
        self.service = service
        # Each (method, route, status)'s two series, looked up once: `labels()` takes a
        # lock and builds its key on every call, two thirds of recording a request.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = _route_template(scope)
            if route not in ("/metrics", "/healthz", "/readyz"):
                count, latency = self._series_of(scope["method"], route, status)
                count.inc()
                latency.observe(time.perf_counter() - started)

    def _series_of(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        if key not in self._series:
            self._series[key] = (
                REQUESTS.labels(self.service, method, route, str(status)),
                LATENCY.labels(self.service, method, route),
            )
        return self._series[key]


def _route_template(scope: Scope) -> str:
    """The matched route's full path template (/api/tickets/{ticket_id}), never the raw path:
    raw paths would give one label per id."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")  # prefix-aware
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


Refresh = Callable[[], Awaitable[None]]


def before_scrape(app: FastAPI, refresh: Refresh) -> None:
    """Run `refresh` before each scrape of `app`'s /metrics."""
    app.state.before_scrape = [*getattr(app.state, "before_scrape", ()), refresh]


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    refreshes: list[Refresh] = getattr(request.app.state, "before_scrape", [])
    for refresh in refreshes:
        # the scrape still answers, with the last values, while the database is down
        with contextlib.suppress(Exception):
            await refresh()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_app(main: FastAPI) -> FastAPI:
    """/metrics alone, for the internal port. It shares the main app's state, so it runs the
    same `before_scrape` refreshes as the main port would."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = main.state
    app.include_router(router)
    return app
