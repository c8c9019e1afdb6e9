"""Payments' composition root: the card processor is chosen here, or handed in by a test."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.payments import listeners, providers, reconciler, routes
from ticketing.payments.providers import PaymentProvider
from ticketing.payments.settings import PaymentsSettings


def create_app(
    settings: PaymentsSettings | None = None, *, provider: PaymentProvider | None = None
) -> FastAPI:
    settings = settings or PaymentsSettings()
    provider = provider or providers.from_settings(settings)
    app = service_app(
        "payments",
        settings,
        subscriptions=listeners.subscriptions(provider, settings),
        background=reconciler.background(provider, settings),
        follows_revocations=True,
    )
    app.state.provider = provider
    app.include_router(routes.router, prefix="/api/payments")
    app.include_router(routes.payouts, prefix="/api/payouts")
    return app
