"""Sessions end: their length is a setting (SESSION_TTL_SECONDS, 7 days by default), and a
token past it reads as signed out in every service, not only in auth.

Forged signatures, `alg: none`, expired tokens, another deployment's JWT_KEY and sign-out
are covered in tests/auth (and another key across every route in test_authorization).
A token for a deleted user cannot arise: no route deletes an account, which the last
test pins down. Adding one would need a revocation check, since tokens are self-contained.
"""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt

from tests.support import JWT_KEY
from tests.system import running_system
from ticketing.auth.app import create_app as auth_app
from ticketing.auth.settings import AuthSettings
from ticketing.common.auth import COOKIE, UserPayload, issue_token
from ticketing.common.settings import ServiceSettings

TTL = 90


async def test_the_session_length_is_a_setting_and_holds_in_every_service(postgres, nats):
    async with running_system(
        postgres, nats, services=["auth", "tickets", "orders", "payments"], session_ttl_seconds=TTL
    ) as system:
        browser = system.client()
        body = {"email": f"ttl-{uuid4().hex[:8]}@example.com", "password": "password123"}
        response = await browser.post("/api/users/signup", json=body)
        assert response.status_code == 201
        assert f"Max-Age={TTL}" in response.headers["set-cookie"]
        claims = jwt.decode(browser.cookies[COOKIE], JWT_KEY, algorithms=["HS256"])
        assert claims["exp"] - claims["iat"] == TTL
        listed = await browser.post("/api/tickets", json={"title": "Fresh", "price": 5})
        assert listed.status_code == 201

        user = UserPayload(id=response.json()["id"], email=body["email"])
        then = datetime.now(UTC) - timedelta(seconds=TTL + 1)
        stale = system.client(
            cookies={COOKIE: issue_token(user, system.settings["auth"], now=then)}
        )
        assert (await stale.get("/api/users/currentuser")).json() == {"currentUser": None}
        for method, path, json in [
            ("POST", "/api/tickets", {"title": "Stale", "price": 5}),
            ("GET", "/api/orders", None),
            ("POST", "/api/payments", {"token": "tok_visa", "orderId": str(uuid4())}),
        ]:
            refused = await stale.request(method, path, json=json)
            assert refused.status_code == 401, (path, refused.text)


def test_sessions_last_seven_days_unless_the_environment_says_otherwise(monkeypatch):
    assert ServiceSettings.model_fields["session_ttl_seconds"].default == 7 * 24 * 3600
    monkeypatch.setenv("SESSION_TTL_SECONDS", "3600")
    settings = AuthSettings(
        database_url="postgresql://unused/unused", nats_url="nats://unused", jwt_key=JWT_KEY
    )
    assert settings.session_ttl_seconds == 3600


def test_no_route_deletes_an_account_so_no_token_outlives_its_user():
    settings = AuthSettings(
        database_url="postgresql://unused/unused", nats_url="nats://unused", jwt_key=JWT_KEY
    )
    paths = auth_app(settings).openapi()["paths"]
    methods = {method for operations in paths.values() for method in operations}
    assert methods <= {"get", "post"}, methods
