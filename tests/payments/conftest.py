import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.payments.builders import PaymentsBus
from tests.services import Service
from ticketing.payments.app import create_app
from ticketing.payments.providers import PaymentProvider, SandboxProvider
from ticketing.payments.settings import PaymentsSettings


@pytest.fixture
def service() -> Service:
    return Service(
        "payments", PaymentsSettings, create_app, defaults={"payment_provider": "sandbox"}
    )


@pytest.fixture
def provider() -> PaymentProvider:
    """The card processor the app uses; a test overrides it with a misbehaving one."""
    return SandboxProvider()


@pytest.fixture
def app(settings: PaymentsSettings, provider: PaymentProvider) -> FastAPI:
    return create_app(settings, provider=provider)


@pytest.fixture
def bus(app: FastAPI, engine: AsyncEngine) -> PaymentsBus:
    runtime = app.state.bus
    return PaymentsBus(runtime.nc.jetstream(), runtime.names, engine)
