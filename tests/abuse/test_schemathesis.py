"""Schemathesis against every service's own OpenAPI document, in process (ASGI).

All built-in checks run (no 5xx, status codes, content types, headers and bodies as
documented, schema-invalid input refused), plus two of ours: every error is in the common
shape, and schema-valid input is never refused as invalid. Examples are bounded and
derandomized, so CI sees the same cases every run.
"""

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support import AUTH_KEYS, KEYS, bus_prefix, cookie_for
from ticketing.auth.app import create_app as auth_app
from ticketing.auth.settings import AuthSettings
from ticketing.orders.app import create_app as orders_app
from ticketing.orders.settings import OrdersSettings
from ticketing.passes.app import create_app as passes_app
from ticketing.passes.settings import PassesSettings
from ticketing.payments.app import create_app as payments_app
from ticketing.payments.settings import PaymentsSettings
from ticketing.tickets.app import create_app as tickets_app
from ticketing.tickets.settings import TicketsSettings

SERVICES = {
    "auth": (auth_app, AuthSettings),
    "tickets": (tickets_app, TicketsSettings),
    "orders": (orders_app, OrdersSettings),
    "payments": (payments_app, PaymentsSettings),
    "passes": (passes_app, PassesSettings),
}
EXAMPLES = 25
# 400s for valid-looking input that JSON Schema cannot express, each a documented rule:
# a cross-field range, and an address policy stricter than the `email` format (it refuses
# special-use domains such as .test).
RULES = {
    ("maxPrice", "maxPrice must not be less than minPrice"),
    ("email", "Email must be valid"),
}


@schemathesis.check
def errors_in_the_common_shape(ctx, response, case):
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"errors"}, body
        assert body["errors"], body
        for item in body["errors"]:
            assert isinstance(item.get("message"), str) and set(item) <= {"message", "field"}


@schemathesis.check
def valid_input_is_not_called_invalid(ctx, response, case):
    """Replaces positive_data_acceptance: a valid request may still break a business rule
    (400 "Invalid credentials", "Email in use"), but no field of it may be called invalid."""
    if case.meta.generation.mode.is_positive and response.status_code == 400:
        items = response.json()["errors"]
        wrong = [i for i in items if "field" in i and (i["field"], i["message"]) not in RULES]
        assert not wrong, f"schema-valid input refused as invalid: {wrong}"


@pytest.fixture
async def app(request, postgres, nats):
    create_app, settings_class = SERVICES[request.param]
    settings = settings_class(
        database_url=await postgres.fresh_database(request.param),
        nats_url=nats.url,
        **AUTH_KEYS,  # a settings class ignores fields it lacks: only auth takes the private key
        bus_prefix=bus_prefix(),
        cookie_secure=False,
        api_docs=True,  # the document schemathesis reads
        pass_code_secret="a test key for pass codes, long enough",
    )
    return create_app(settings)


def _fuzz(operation, mode: GenerationMode, cookie: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        if mode.is_positive and case.query:
            case.query.pop("cursor", None)  # opaque: only the server mints a valid one
        case.call_and_validate(
            cookies=cookie,
            additional_checks=[errors_in_the_common_shape, valid_input_is_not_called_invalid],
            excluded_checks=[positive_data_acceptance],
        )

    with contextlib.suppress(Unsatisfiable):  # no invalid input exists (no parameters, no body)
        run()


@pytest.mark.parametrize("app", list(SERVICES), indirect=True)
def test_the_api_keeps_its_documented_promises_under_generated_input(app):
    """Signed in, so the routes behind RequireUser are reached; anonymous calls are the
    authorization matrix's job. Schemathesis runs the app (lifespan included) in its own
    event loop thread."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    cookie = cookie_for(app.state.settings)
    failures = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _fuzz(operation, mode, cookie)
                except (Exception, BaseExceptionGroup) as failure:
                    failures.append(f"{operation.label} ({mode.value}): {failure}")
    finally:
        asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)


def test_errors_are_documented_in_the_common_shape_and_422_is_gone():
    settings = TicketsSettings(
        database_url="postgresql://unused/unused", nats_url="nats://unused", **KEYS
    )
    document = tickets_app(settings).openapi()
    create = document["paths"]["/api/tickets"]["post"]["responses"]
    assert set(create) == {"201", "400", "401", "413", "500", "503"}
    assert create["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Errors"
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Errors"]["required"] == ["errors"]
