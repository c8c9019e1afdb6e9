"""Several services in one test process, as `ticketing up` composes them, minus the processes.

Each service gets its own fresh database; all share one bus prefix. `client` routes by path
prefix to the in-process apps, the way the gateway does, so a journey reads like curl.
"""

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from tests.support import AUTH_KEYS, bus_prefix
from ticketing.common.bus.connection import make_streams
from ticketing.common.settings import BusSettings
from ticketing.runtime.gateway import Routes
from ticketing.runtime.services import SERVICES

PASS_CODE_SECRET = "system-test-pass-code-secret-0123456789abcdef"


class PrefixTransport(httpx.AsyncBaseTransport):
    """Dispatches each request to the in-process app that owns its path prefix."""

    def __init__(self) -> None:
        self._transports: dict[str, httpx.ASGITransport] = {}

    def add(self, prefix: str, app: FastAPI) -> None:
        self._transports[prefix] = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        candidates = Routes({p: [p] for p in self._transports}).upstreams(request.url.path)
        if not candidates:
            return httpx.Response(404, json={"errors": [{"message": "Not found"}]})
        return await self._transports[candidates[0]].handle_async_request(request)


@dataclass
class System:
    prefix: str
    apps: dict[str, FastAPI] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    transport: PrefixTransport = field(default_factory=PrefixTransport)

    def client(self, **kwargs) -> httpx.AsyncClient:
        """A new browser: its own cookie jar."""
        return httpx.AsyncClient(transport=self.transport, base_url="http://ticketing", **kwargs)


def _settings_class(name: str):
    module = importlib.import_module(f"ticketing.{name}.settings")
    classes = [
        v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
    ]
    return classes[0]


@asynccontextmanager
async def running_system(
    postgres, nats, services: list[str] | None = None, **overrides
) -> AsyncIterator[System]:
    """`overrides` are settings fields applied to every service that has them."""
    # Notifications only when a test names it, with an SMTP server of its own: by default it
    # would write to port 25 of this machine, whose mail server is none of the tests' business.
    names = services or [s.name for s in SERVICES if s.name not in ("web", "notifications")]
    system = System(prefix=bus_prefix())
    # As `ticketing up` does first: the services' own bus users may not make the streams.
    await make_streams(BusSettings(nats_url=nats.url, bus_prefix=system.prefix))
    async with AsyncExitStack() as stack:
        for spec in [s for s in SERVICES if s.name in names and s.name != "web"]:
            settings_cls = _settings_class(spec.name)
            fields = {
                "nats_url": nats.url,
                **AUTH_KEYS,  # filtered below: only auth's settings take the private key
                "bus_prefix": system.prefix,
                "cookie_secure": False,
                "pass_code_secret": PASS_CODE_SECRET,  # only passes' settings take it
            }
            if spec.database:
                fields["database_url"] = await postgres.fresh_database(spec.name)
            if nats.server is not None:  # each service as its own bus user, as deployed
                fields["nats_user"], fields["nats_password"] = nats.credentials(spec.name)
            fields.update(overrides)
            settings = settings_cls(
                **{k: v for k, v in fields.items() if k in settings_cls.model_fields}
            )
            app = importlib.import_module(f"ticketing.{spec.name}.app").create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            if app.state.bus is not None:
                await asyncio.wait_for(app.state.bus.ready.wait(), timeout=15)
            system.apps[spec.name] = app
            system.settings[spec.name] = settings
            for route in spec.routes:
                system.transport.add(route, app)
        if "web" in names:
            await _start_web(system, stack, overrides)
        yield system


async def _start_web(system: System, stack: AsyncExitStack, overrides: dict) -> None:
    """Last, at "/": its pages call the other apps through the same transport, as a browser
    through the gateway would. It has no database, bus or JWT key."""
    from ticketing.web.app import create_app
    from ticketing.web.settings import WebSettings

    fields = {"api_base_url": "http://ticketing", "cookie_secure": False}
    fields.update({k: v for k, v in overrides.items() if k in WebSettings.model_fields})
    settings = WebSettings(**fields)
    app = create_app(settings, transport=system.transport)
    await stack.enter_async_context(app.router.lifespan_context(app))
    system.apps["web"] = app
    system.settings["web"] = settings
    system.transport.add("/", app)
