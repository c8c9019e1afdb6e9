import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.payments.builders import PaymentsBus
from tests.payments.webhooks import SECRET, WEBHOOK_PATH, AppTransport
from tests.services import Service
from ticketing.payments.app import create_app
from ticketing.payments.providers import PaymentProvider, SandboxProvider, WebhookSender
from ticketing.payments.settings import PaymentsSettings


@pytest.fixture
def service() -> Service:
    defaults = {"payment_provider": "sandbox", "stripe_webhook_secret": SECRET}
    return Service("payments", PaymentsSettings, create_app, defaults=defaults)


@pytest.fixture
def to_the_app() -> AppTransport:
    return AppTransport()


@pytest.fixture
def webhooks(to_the_app: AppTransport) -> WebhookSender:
    """The sandbox's webhooks, signed as Stripe signs them and delivered to the app itself,
    so every charge in these tests is also told by webhook, as Stripe tells it."""
    url = f"http://payments{WEBHOOK_PATH}"
    return WebhookSender(SECRET, url, transport=to_the_app, first_delay=0.05, max_delay=0.5)


@pytest.fixture
def provider(webhooks: WebhookSender) -> PaymentProvider:
    """The card processor the app uses; a test overrides it with a misbehaving one."""
    return SandboxProvider(webhooks)


@pytest.fixture
def app(settings: PaymentsSettings, provider: PaymentProvider, to_the_app) -> FastAPI:
    app = create_app(settings, provider=provider)
    to_the_app.app = app
    return app


@pytest.fixture
def bus(app: FastAPI, engine: AsyncEngine) -> PaymentsBus:
    runtime = app.state.bus
    return PaymentsBus(runtime.nc.jetstream(), runtime.names, engine)
