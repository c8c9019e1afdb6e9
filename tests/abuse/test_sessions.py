"""Sessions end, everywhere: signing out revokes the session in auth's table and, through
session.revoked, in every service that reads cookies; a process started later replays the
revocations it missed. Only auth can sign (Ed25519): tokens signed with any other key, by
algorithm confusion, unsigned or without a session id read as signed out in every service.
Session length is a setting, sliding up to a cap.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import jwt
from sqlalchemy import TextClause, text

from tests.support import (
    AUTH_KEYS,
    JWT_PRIVATE_KEY,
    JWT_PUBLIC_KEY,
    KEYS,
    bus_prefix,
    eventually,
    hs256_with_the_public_key,
    mint_token,
    running,
    token_claims,
)
from tests.system import System, running_system
from ticketing.auth.app import create_app as auth_app
from ticketing.auth.settings import AuthSettings
from ticketing.common.auth import COOKIE
from ticketing.common.keys import generate_key_pair, private_key
from ticketing.common.settings import ServiceSettings
from ticketing.tickets.app import create_app as tickets_app
from ticketing.tickets.settings import TicketsSettings

SERVICES = ["auth", "tickets", "orders", "payments"]
# One signed-in call per service that reads the cookie, and the plain routes (payments and
# the reservation: an unknown order or ticket is 404 for a signed-in caller, 401 for anyone
# else; your own listings are 200, or 401).
SIGNED_IN_CALLS = [
    ("POST", "/api/tickets", {"title": "Still mine?", "price": 5}),
    ("GET", "/api/orders", None),
    ("POST", "/api/orders", {"ticketId": str(uuid4())}),
    ("GET", "/api/tickets?mine=true", None),  # the list reads the session as a plain route
    ("POST", "/api/payments", {"token": "tok_visa", "orderId": str(uuid4())}),
]


async def _signed_up(system: System, email: str | None = None):
    browser = system.client()
    body = {"email": email or f"s-{uuid4().hex[:8]}@example.com", "password": "password123"}
    response = await browser.post("/api/users/signup", json=body)
    assert response.status_code == 201, response.text
    return browser, body


async def _signed_in(system: System, body: dict):
    browser = system.client()
    response = await browser.post("/api/users/signin", json=body)
    assert response.status_code == 200, response.text
    return browser


def _holding(system: System, cookie: str):
    """Another browser that kept a copy of the cookie: signing out cannot take it back."""
    return system.client(cookies={COOKIE: cookie})


async def _current(client) -> dict | None:
    return (await client.get("/api/users/currentuser")).json()["currentUser"]


async def _statuses(client) -> list[int]:
    return [
        (await client.request(method, path, json=body)).status_code
        for method, path, body in SIGNED_IN_CALLS
    ]


async def _refused_everywhere(client) -> bool:
    assert await _current(client) is None
    assert await _statuses(client) == [401] * len(SIGNED_IN_CALLS)
    return True


async def _accepted_everywhere(client) -> None:
    assert await _current(client) is not None
    assert 401 not in await _statuses(client)


async def test_a_signed_out_cookie_is_refused_by_auth_at_once_and_by_every_service_soon(
    postgres, nats
):
    async with running_system(postgres, nats, services=SERVICES) as system:
        browser, _ = await _signed_up(system)
        copy = _holding(system, browser.cookies[COOKIE])
        await _accepted_everywhere(copy)

        assert (await browser.post("/api/users/signout")).status_code == 200

        assert await _current(copy) is None  # auth asks its own table: no delay
        await eventually(lambda: _refused_everywhere(copy))  # a few ms: the bus's latency


async def test_signing_out_everywhere_ends_each_session_of_that_user_and_no_one_elses(
    postgres, nats
):
    async with running_system(postgres, nats, services=SERVICES) as system:
        laptop, credentials = await _signed_up(system)
        phone = await _signed_in(system, credentials)
        someone_else, _ = await _signed_up(system)
        copies = [_holding(system, c.cookies[COOKIE]) for c in (laptop, phone)]
        for client in [*copies, someone_else]:
            await _accepted_everywhere(client)

        signout = await laptop.post("/api/users/signout", params={"everywhere": "true"})
        assert signout.status_code == 200

        for copy in copies:
            await eventually(lambda copy=copy: _refused_everywhere(copy))
        await _accepted_everywhere(someone_else)


async def test_a_service_started_after_the_sign_out_still_refuses_the_token(postgres, nats):
    async with running_system(postgres, nats, services=["auth", "tickets"]) as system:
        browser, _ = await _signed_up(system)
        cookie = browser.cookies[COOKIE]
        await browser.post("/api/users/signout")
        await eventually(lambda: _refused_by_tickets(system.transport, cookie))

        # A new process: its memory is empty, so only the stream's replay can refuse it.
        restarted = tickets_app(system.settings["tickets"])
        async with running(restarted, base_url="http://tickets") as tickets:
            listing = {"title": "x", "price": 5}
            refused = await tickets.post("/api/tickets", json=listing, headers=_cookie(cookie))
            assert refused.status_code == 401
            fresh = await tickets.post("/api/tickets", json=listing, headers=_cookie(mint_token()))
            assert fresh.status_code == 201


async def _refused_by_tickets(transport, cookie: str) -> bool:
    async with _client(transport, cookie) as client:
        response = await client.post("/api/tickets", json={"title": "x", "price": 5})
    return response.status_code == 401


def _client(transport, cookie: str):
    return httpx.AsyncClient(
        transport=transport, base_url="http://ticketing", cookies={COOKIE: cookie}
    )


async def test_only_tokens_auth_signed_with_a_session_id_are_accepted_anywhere(postgres, nats):
    another_private, _ = generate_key_pair()
    forged = {
        "another Ed25519 key": mint_token(private_key=another_private),
        "HS256 keyed with the public key": hs256_with_the_public_key(token_claims()),
        "alg none": jwt.encode(token_claims(), None, algorithm="none"),
        "no session id": jwt.encode(
            token_claims(sid=None), private_key(JWT_PRIVATE_KEY), algorithm="EdDSA"
        ),
    }
    async with running_system(postgres, nats, services=SERVICES) as system:
        await _accepted_everywhere_but_auth(system, mint_token())
        for name, token in forged.items():
            client = _holding(system, token)
            assert await _current(client) is None, name
            assert await _statuses(client) == [401] * len(SIGNED_IN_CALLS), name


async def _accepted_everywhere_but_auth(system: System, token: str) -> None:
    """The control: a token the test key signed, for a session auth never stored."""
    client = _holding(system, token)
    assert await _current(client) is None
    assert 401 not in await _statuses(client)


TTL, CAP = 100, 150


def _auth_settings(database_url: str, nats_url: str) -> AuthSettings:
    return AuthSettings(
        database_url=database_url,
        nats_url=nats_url,
        **AUTH_KEYS,
        cookie_secure=False,
        session_ttl_seconds=TTL,
        session_max_age_seconds=CAP,
    )


def _read(token: str) -> dict:
    return jwt.decode(token, JWT_PUBLIC_KEY, algorithms=["EdDSA"])


async def test_a_token_past_half_its_life_is_renewed_for_the_same_session_up_to_the_cap(
    postgres, nats
):
    app = auth_app(_auth_settings(await postgres.fresh_database("auth"), nats.url))
    async with running(app) as client:
        body = {"email": f"slide-{uuid4().hex[:8]}@example.com", "password": "password123"}
        signed_up = await client.post("/api/users/signup", json=body)
        client.cookies.clear()
        first = _read(signed_up.cookies[COOKIE])
        assert first["exp"] - first["iat"] == TTL
        young = await client.get("/api/users/currentuser", headers=_cookie(signed_up))
        assert young.json()["currentUser"] is not None
        assert "set-cookie" not in young.headers

        # The same session, its token 60 of its 100 seconds old.
        user_id, sid = UUID(first["sub"]), UUID(first["sid"])
        then = datetime.now(UTC) - timedelta(seconds=60)
        old = mint_token(user_id, body["email"], session_id=sid, ttl=TTL, now=then)
        renewed = await client.get("/api/users/currentuser", headers=_cookie(old))
        assert renewed.json()["currentUser"]["id"] == str(user_id)
        fresh = _read(renewed.cookies[COOKIE])
        assert fresh["sid"] == str(sid)
        assert fresh["exp"] > _read(old)["exp"]
        assert f"Max-Age={TTL}" in renewed.headers["set-cookie"]

        # Signed in 130 s ago: renewing reaches only the cap, 150 s after sign-in.
        async with app.state.engine.begin() as db:
            cap = (
                await db.execute(_backdate(), {"sid": sid, "seconds": 130})
            ).scalar_one() + timedelta(seconds=CAP)
        nearly_out = mint_token(user_id, body["email"], session_id=sid, ttl=70, now=then)
        capped = await client.get("/api/users/currentuser", headers=_cookie(nearly_out))
        capped_exp = _read(capped.cookies[COOKIE])["exp"]
        assert _read(nearly_out)["exp"] < capped_exp <= cap.timestamp()
        at_cap = mint_token(
            user_id, body["email"], session_id=sid, ttl=capped_exp - then.timestamp(), now=then
        )
        again = await client.get("/api/users/currentuser", headers=_cookie(at_cap))
        assert again.json()["currentUser"] is not None
        assert "set-cookie" not in again.headers


def _cookie(token_or_response) -> dict[str, str]:
    token = getattr(token_or_response, "cookies", {COOKIE: token_or_response})[COOKIE]
    return {"Cookie": f"{COOKIE}={token}"}


def _backdate() -> TextClause:
    return text(
        "UPDATE sessions SET created_at = now() - make_interval(secs => :seconds)"
        " WHERE id = :sid RETURNING created_at"
    )


def test_sessions_last_a_day_and_at_most_thirty_unless_the_environment_says_otherwise(
    monkeypatch,
):
    assert ServiceSettings.model_fields["session_ttl_seconds"].default == 24 * 3600
    assert ServiceSettings.model_fields["session_max_age_seconds"].default == 30 * 24 * 3600
    monkeypatch.setenv("SESSION_TTL_SECONDS", "3600")
    settings = AuthSettings(
        database_url="postgresql://unused/unused", nats_url="nats://unused", **AUTH_KEYS
    )
    assert settings.session_ttl_seconds == 3600


async def test_an_expired_token_reads_as_signed_out_in_every_service(postgres, nats):
    async with running_system(postgres, nats, services=SERVICES) as system:
        stale = _holding(system, mint_token(ttl=-1))
        assert await _current(stale) is None
        assert await _statuses(stale) == [401] * len(SIGNED_IN_CALLS)


async def test_a_service_is_not_ready_before_it_has_replayed_the_revocations(postgres, nats):
    settings = TicketsSettings(
        database_url=await postgres.fresh_database("tickets"),
        nats_url=nats.url,
        **KEYS,
        bus_prefix=bus_prefix(),
    )
    app = tickets_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tickets") as early:
        not_yet = await early.get("/readyz")  # no lifespan yet: nothing replayed
    assert not_yet.status_code == 503
    assert not_yet.json()["revocations"] == "down"
    async with running(app, base_url="http://tickets") as started:
        ready = await started.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["revocations"] == "ok"


def test_no_route_deletes_an_account_so_no_session_outlives_its_user():
    """Deleting an account would have to revoke its sessions (sign out everywhere) first."""
    settings = AuthSettings(
        database_url="postgresql://unused/unused", nats_url="nats://unused", **AUTH_KEYS
    )
    paths = auth_app(settings).openapi()["paths"]
    methods = {method for operations in paths.values() for method in operations}
    assert methods <= {"get", "post"}, methods
