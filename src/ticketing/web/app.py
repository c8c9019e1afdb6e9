"""Web's composition root: pages, static files, and the one HTTP client to the public API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ticketing.common.app import Piece, base_app
from ticketing.web import routes
from ticketing.web.api_client import http_client
from ticketing.web.errors import install_page_errors
from ticketing.web.security import CsrfProtection, SecurityHeaders
from ticketing.web.settings import WebSettings


def _api_client(settings: WebSettings, transport: httpx.AsyncBaseTransport | None) -> Piece:
    @asynccontextmanager
    async def api_client(app: FastAPI) -> AsyncIterator[None]:
        async with http_client(
            settings.api_base_url, transport, settings.api_timeout_seconds
        ) as http:
            app.state.http = http
            yield

    return api_client


def create_app(
    settings: WebSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`transport` lets a test route the API calls to in-process apps."""
    settings = settings or WebSettings()
    # No database or bus: the base app, answering errors with pages
    app = base_app("web", settings, _api_client(settings, transport), errors=install_page_errors)
    app.add_middleware(
        CsrfProtection,
        key=settings.csrf_key.get_secret_value().encode(),
        cookie_secure=settings.cookie_secure,
    )
    app.add_middleware(SecurityHeaders, stripe=bool(settings.stripe_publishable_key))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in routes.ROUTERS:
        app.include_router(router)
    return app
