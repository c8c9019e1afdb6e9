"""Orders' composition root."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.orders import listeners, routes
from ticketing.orders.settings import OrdersSettings


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    app = service_app(
        "orders", settings, subscriptions=listeners.SUBSCRIPTIONS, follows_revocations=True
    )
    routes.plain.add_to(app)
    app.include_router(routes.router, prefix="/api/orders")
    return app
