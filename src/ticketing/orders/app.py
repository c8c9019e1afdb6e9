"""Orders' composition root."""

from fastapi import FastAPI

from ticketing.common.app import background_task, service_app
from ticketing.orders import listeners, routes, taken
from ticketing.orders.settings import OrdersSettings


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    app = service_app(
        "orders",
        settings,
        subscriptions=listeners.SUBSCRIPTIONS,
        follows_revocations=True,
        background=background_task(taken.follow_changes, name="taken listings"),
    )
    app.state.taken = taken.TakenListings()
    routes.plain.add_to(app)
    app.include_router(routes.router, prefix="/api/orders")
    return app
