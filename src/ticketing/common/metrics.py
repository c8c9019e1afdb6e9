"""Prometheus metrics every service exposes at /metrics (or on METRICS_PORT), by service.

Metrics are process-global (one registry), so they are declared here once; a service
records business events through `business` with its own `event` label.
"""

import time

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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
    BUSINESS.labels(service, event).inc()


class RequestMetrics:
    """ASGI middleware: count and time requests by route template (not raw path)."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = _route_template(scope)
            if route not in ("/metrics", "/healthz", "/readyz"):
                method = scope["method"]
                REQUESTS.labels(self.service, method, route, str(status)).inc()
                LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


def _route_template(scope) -> str:
    """The matched route's full path template (/api/tickets/{ticket_id}), never the raw path:
    raw paths would give one label per id."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")  # prefix-aware
    if path := getattr(context, "path", None):
        return path
    return getattr(scope.get("route"), "path", None) or "unmatched"


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    if getattr(state, "engine", None) is not None and getattr(state, "bus", None):
        from ticketing.common.bus.outbox import pending_count

        try:
            async with state.engine.connect() as db:
                OUTBOX_PENDING.labels(state.service).set(await pending_count(db))
        except Exception:  # the scrape still answers while the database is down
            pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_app(main: FastAPI) -> FastAPI:
    """/metrics alone, for the internal port: it reads the main app's state (engine, bus,
    service name), so the outbox gauge is the same as on the main port."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = main.state
    app.include_router(router)
    return app
