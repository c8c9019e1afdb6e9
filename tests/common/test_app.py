"""What base_app gives every app at its edge: nosniff on every answer, even an unexpected
500; API docs only when asked for; /metrics off the main port when it has its own, and
refreshed before each scrape."""

from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support import KEYS
from ticketing.common import metrics
from ticketing.common.app import base_app, service_app
from ticketing.common.bus.outbox import stage
from ticketing.common.events import TicketCreated
from ticketing.common.limits import MAX_BODY_BYTES
from ticketing.common.settings import ServiceSettings

DOCS = ("/openapi.json", "/docs", "/redoc")


def an_app(**settings) -> FastAPI:
    """No database or bus: what is checked here is the HTTP edge alone."""
    app = base_app("probe", ServiceSettings.model_construct(**settings))

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        return body

    @app.get("/crash")
    async def crash():
        raise RuntimeError("unexpected")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://probe")


async def test_every_answer_says_nosniff_even_an_unexpected_error():
    async with client(an_app()) as http:
        answers = [
            await http.post("/echo", json={"a": 1}),
            await http.post("/echo", content=b"x" * (MAX_BODY_BYTES + 1)),
            await http.post("/echo", content=b"[", headers={"content-type": "application/json"}),
            await http.get("/nowhere"),
            await http.get("/healthz"),
            await http.get("/metrics"),
            await http.get("/crash"),
        ]
    assert [a.status_code for a in answers] == [200, 413, 400, 404, 200, 200, 500]
    for answer in answers:
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], answer


async def test_the_apps_own_routes_are_tried_before_the_ones_the_edge_brings():
    app = an_app(api_docs=True)
    async with client(app) as http:  # the first request puts the routes in order
        answers = [await http.post("/echo", json={}), await http.get("/healthz")]
        answers += [await http.get(path) for path in DOCS]
    assert [a.status_code for a in answers] == [200] * 5
    own = [getattr(route, "path", None) for route in app.router.routes[:2]]
    assert own == ["/echo", "/crash"]
    assert app.router.routes[2:] == list(app.edge_routes) and len(app.edge_routes) == 6


async def test_api_docs_are_off_unless_asked_for():
    async with client(an_app()) as http:
        assert [(await http.get(path)).status_code for path in DOCS] == [404] * 3
    async with client(an_app(api_docs=True)) as http:
        assert [(await http.get(path)).status_code for path in DOCS] == [200] * 3


@pytest.mark.parametrize(("metrics_port", "status"), [(None, 200), (9000, 404)])
async def test_metrics_leave_the_main_port_when_they_have_their_own(metrics_port, status):
    async with client(an_app(metrics_port=metrics_port)) as http:
        assert (await http.get("/metrics")).status_code == status


async def test_a_scrape_runs_the_refreshes_first_and_answers_even_when_one_fails():
    app = an_app()
    refreshed = []

    async def failing() -> None:
        raise ConnectionError("the database is down")

    async def counting() -> None:
        refreshed.append(True)
        metrics.OUTBOX_PENDING.labels("probe").set(7)

    metrics.before_scrape(app, failing)
    metrics.before_scrape(app, counting)
    async with client(app) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert refreshed == [True]
    assert 'outbox_pending{service="probe"} 7.0' in answer.text


async def test_a_service_counts_its_outbox_backlog_while_nats_is_down(probe_db):
    settings = ServiceSettings(
        database_url=probe_db,
        nats_url="nats://127.0.0.1:9",  # nothing listens: the relay never starts
        jwt_public_key=KEYS["jwt_public_key"],
    )
    app = service_app("probe-backlog", settings)
    async with app.router.lifespan_context(app), client(app) as http:
        async with app.state.engine.begin() as db:
            event = TicketCreated(id=uuid4(), version=0, title="Waits", price=1, user_id=uuid4())
            await stage(db, event)
        answer = await http.get("/metrics")
    assert 'outbox_pending{service="probe-backlog"} 1.0' in answer.text


def _calls(dependant) -> list:
    return [dependant.call, *(call for dep in dependant.dependencies for call in _calls(dep))]


def test_every_route_and_dependency_is_async():
    """FastAPI runs a plain `def` on a worker thread, per request: several times a route's
    own cost for a dependency that only reads the request."""
    import inspect

    from fastapi.routing import APIRoute

    from ticketing.auth import routes as auth
    from ticketing.common import health
    from ticketing.orders import routes as orders
    from ticketing.passes import routes as passes
    from ticketing.payments import routes as payments
    from ticketing.tickets import routes as tickets
    from ticketing.web import routes as web

    routers = [auth.router, orders.router, passes.passes, passes.checkins, payments.router]
    routers += [payments.payouts, tickets.router, health.router, metrics.router, *web.ROUTERS]
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    assert len(routes) > 40
    blocking = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if call is not None
        and not inspect.iscoroutinefunction(call)
        and not inspect.isasyncgenfunction(call)
        and not inspect.iscoroutinefunction(type(call).__call__)  # an instance (QueryModel)
    }
    assert blocking == set()


async def test_requests_are_counted_and_timed_per_route_and_status():
    from prometheus_client import REGISTRY

    def count(status: str) -> float:
        labels = {"service": "probe", "method": "POST", "route": "/echo", "status": status}
        return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    def timed() -> float:
        labels = {"service": "probe", "method": "POST", "route": "/echo"}
        return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0

    before = (count("200"), count("400"), timed())
    async with client(an_app()) as http:
        for body in ({"a": 1}, {"b": 2}, {"c": 3}):
            assert (await http.post("/echo", json=body)).status_code == 200
        assert (await http.post("/echo", content=b"{")).status_code == 400
    assert (count("200"), count("400"), timed()) == (
        before[0] + 3,
        before[1] + 1,
        before[2] + 4,
    )
