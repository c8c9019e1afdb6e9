import asyncio
from uuid import uuid4

import asyncpg
import jwt
import pytest
from sqlalchemy import event, select

from tests.auth.test_passwords import scrypt_hash
from tests.support import (
    JWT_PRIVATE_KEY,
    hs256_with_the_public_key,
    mint_token,
    running,
    token_claims,
)
from ticketing.auth import passwords
from ticketing.auth.app import create_app
from ticketing.common.auth import COOKIE
from ticketing.common.bus.tables import outbox
from ticketing.common.database_url import libpq_dsn
from ticketing.common.events import Subject
from ticketing.common.keys import generate_key_pair, private_key


def an_email() -> str:
    return f"user-{uuid4().hex[:8]}@example.com"


async def signup(client, email=None, password="password123"):
    return await client.post(
        "/api/users/signup",
        json={"email": an_email() if email is None else email, "password": password},
    )


async def test_signup_creates_user_and_sets_session_cookie(client):
    email = an_email()
    response = await signup(client, email)
    assert response.status_code == 201
    assert response.json()["email"] == email
    assert response.json()["id"]
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in set_cookie
    assert "samesite=lax" in set_cookie.lower()


async def test_signup_tells_the_new_address_once_and_a_refused_one_tells_nothing(client, engine):
    """user.created, staged with the account: the services that write to people learn the
    address from it. A sign-up refused (email in use) stages nothing."""
    body = {"email": "Told@Example.com", "password": "password123"}
    created = (await client.post("/api/users/signup", json=body)).json()
    again = await client.post("/api/users/signup", json=body)
    assert again.status_code == 400
    async with engine.connect() as db:
        query = select(outbox.c.envelope).where(outbox.c.subject == Subject.USER_CREATED)
        told = [envelope["data"] for envelope in (await db.execute(query)).scalars()]
    assert told == [{"id": created["id"], "email": "told@example.com"}]


async def test_signup_stores_email_lower_cased(client):
    response = await signup(client, "Mixed.Case@Example.COM")
    assert response.json()["email"] == "mixed.case@example.com"


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@b.io", "x" * 300 + "@b.io"])
async def test_signup_rejects_an_invalid_email(client, email):
    response = await signup(client, email)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Email must be valid", "field": "email"}]}


@pytest.mark.parametrize("password", ["short", "1234567", "x" * 129])
async def test_signup_rejects_a_password_of_the_wrong_length(client, password):
    response = await signup(client, password=password)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "Password must be between 8 and 128 characters", "field": "password"}
    ]


async def test_signup_with_missing_fields_names_each(client):
    response = await client.post("/api/users/signup", json={})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"email", "password"}


async def test_signup_with_an_email_in_use_in_any_letter_case_is_refused(client):
    email = an_email()
    assert (await signup(client, email)).status_code == 201
    response = await signup(client, email.upper())
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Email in use"}]}


async def test_signin_with_right_password_sets_cookie(client):
    email = an_email()
    await signup(client, email)
    client.cookies.clear()
    response = await client.post(
        "/api/users/signin", json={"email": email.upper(), "password": "password123"}
    )
    assert response.status_code == 200
    assert response.json()["email"] == email
    assert COOKIE in response.cookies


async def test_signin_with_wrong_password_is_invalid_credentials(client):
    email = an_email()
    await signup(client, email)
    response = await client.post(
        "/api/users/signin", json={"email": email, "password": "wrong-pass"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Invalid credentials"}]}
    assert "set-cookie" not in response.headers


async def test_signin_with_unknown_email_is_invalid_credentials(client):
    response = await client.post(
        "/api/users/signin", json={"email": an_email(), "password": "password123"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Invalid credentials"}]}


async def test_an_old_scrypt_hash_signs_in_and_is_replaced_with_argon2id(client, settings):
    email = an_email()
    await signup(client, email)
    db = await asyncpg.connect(libpq_dsn(settings.database_url))
    try:
        old = scrypt_hash("password123")
        await db.execute("UPDATE users SET password_hash = $1 WHERE email = $2", old, email)
        wrong = await client.post("/api/users/signin", json={"email": email, "password": "nope"})
        assert wrong.status_code == 400
        stored = "SELECT password_hash FROM users WHERE email = $1"
        assert await db.fetchval(stored, email) == old
        right = {"email": email, "password": "password123"}
        assert (await client.post("/api/users/signin", json=right)).status_code == 200
        assert (await db.fetchval(stored, email)).startswith("$argon2id$")
        assert (await client.post("/api/users/signin", json=right)).status_code == 200
    finally:
        await db.close()


async def test_signin_without_password_is_bad_input(client):
    response = await client.post("/api/users/signin", json={"email": an_email(), "password": ""})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "password"


async def test_currentuser_after_signup_is_that_user(client):
    email = an_email()
    created = (await signup(client, email)).json()
    response = await client.get("/api/users/currentuser")
    assert response.json() == {"currentUser": {"id": created["id"], "email": email}}


async def test_currentuser_without_cookie_is_null(client):
    response = await client.get("/api/users/currentuser")
    assert response.status_code == 200
    assert response.json() == {"currentUser": None}


ANOTHER_PRIVATE_KEY, _ = generate_key_pair()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint_token(private_key=ANOTHER_PRIVATE_KEY), id="another-ed25519-key"),
        pytest.param(mint_token(ttl=-1), id="expired"),
        pytest.param(mint_token()[:-4] + "AAAA", id="tampered"),
        pytest.param(
            hs256_with_the_public_key(token_claims()),
            id="hs256-with-the-public-key-as-secret",
        ),
        pytest.param(jwt.encode(token_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(
            jwt.encode(token_claims(sid=None), private_key(JWT_PRIVATE_KEY), algorithm="EdDSA"),
            id="no-sid",
        ),
        pytest.param("garbage", id="garbage"),
    ],
)
async def test_currentuser_with_a_bad_cookie_is_null(client, token):
    client.cookies.set(COOKIE, token)
    response = await client.get("/api/users/currentuser")
    assert response.json() == {"currentUser": None}


async def test_signout_clears_the_cookie(client):
    await signup(client)
    response = await client.post("/api/users/signout")
    assert response.status_code == 200
    assert response.json() == {}
    assert f'{COOKIE}=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert (await client.get("/api/users/currentuser")).json() == {"currentUser": None}


async def test_a_signed_out_cookie_cannot_sign_its_user_out_everywhere(client):
    """A stolen cookie its owner already signed out ends nothing more: not the owner's
    other sessions."""
    email = an_email()
    await signup(client, email)
    old = client.cookies[COOKIE]
    await client.post("/api/users/signout")
    client.cookies.clear()
    signin = {"email": email, "password": "password123"}
    assert (await client.post("/api/users/signin", json=signin)).status_code == 200
    current = client.cookies[COOKIE]
    client.cookies.set(COOKIE, old)
    stolen = await client.post("/api/users/signout", params={"everywhere": "true"})
    assert stolen.status_code == 200
    client.cookies.set(COOKIE, current)
    still = await client.get("/api/users/currentuser")
    assert still.json()["currentUser"]["email"] == email


@pytest.mark.parametrize("everywhere", ["maybe", "x" * 2000, "\u00e9"])
async def test_an_odd_everywhere_is_a_400_and_signs_nobody_out(client, everywhere):
    await signup(client)
    refused = await client.post("/api/users/signout", params={"everywhere": everywhere})
    assert refused.status_code == 400
    assert set(refused.json()) == {"errors"}
    assert (await client.get("/api/users/currentuser")).json()["currentUser"] is not None


async def test_repeated_failures_for_one_account_are_throttled_with_retry_after(client):
    email = an_email()
    await signup(client, email)
    for _ in range(3):
        wrong = await client.post(
            "/api/users/signin", json={"email": email, "password": "nope-nope"}
        )
        assert wrong.status_code == 400
    response = await client.post(
        "/api/users/signin", json={"email": email, "password": "password123"}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["errors"][0]["message"]


async def test_repeated_failures_from_one_address_are_throttled_across_accounts(client):
    for _ in range(6):
        await client.post("/api/users/signin", json={"email": an_email(), "password": "nope-nope"})
    response = await client.post("/api/users/signin", json={"email": an_email(), "password": "x"})
    assert response.status_code == 429


async def test_a_throttled_account_can_still_sign_in_from_another_address(settings):
    import httpx

    from tests.support import running
    from ticketing.auth.app import create_app

    app = create_app(settings)
    email = an_email()
    async with running(app) as attacker:
        await signup(attacker, email)
        for _ in range(3):
            await attacker.post("/api/users/signin", json={"email": email, "password": "nope-nope"})
        assert (
            await attacker.post(
                "/api/users/signin", json={"email": email, "password": "password123"}
            )
        ).status_code == 429
        transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as owner:
            response = await owner.post(
                "/api/users/signin", json={"email": email, "password": "password123"}
            )
    assert response.status_code == 200


async def test_a_sign_in_holds_no_pooled_connection_while_its_password_is_hashed(
    settings, monkeypatch
):
    """Else a burst of sign-ins holds the whole pool for the length of its hashes, and
    every other request (currentuser reads the sessions table) queues behind them.
    Counted per task: the outbox relay may hold one of its own meanwhile (user.created)."""
    app = create_app(settings)
    held: list[int] = []
    owners: dict[int, asyncio.Task | None] = {}
    checkers: set[asyncio.Task | None] = set()
    hashers: set[asyncio.Task | None] = set()
    verify = passwords.verify_and_update

    async def watched(password: str, stored: str):
        mine = asyncio.current_task()
        hashers.add(mine)
        held.append(sum(1 for task in owners.values() if task is mine))
        return await verify(password, stored)

    def checked_out(dbapi_connection, record, proxy):
        owners[id(record)] = asyncio.current_task()
        checkers.add(owners[id(record)])

    def checked_in(dbapi_connection, record):
        owners.pop(id(record), None)

    monkeypatch.setattr(passwords, "verify_and_update", watched)
    body = {"email": "pool@example.com", "password": "correct horse"}
    async with running(app) as client:
        pool = app.state.engine.sync_engine.pool
        event.listen(pool, "checkout", checked_out)
        event.listen(pool, "checkin", checked_in)
        assert (await client.post("/api/users/signup", json=body)).status_code == 201
        assert (await client.post("/api/users/signin", json=body)).status_code == 200
        wrong = {**body, "password": "not the one"}
        assert (await client.post("/api/users/signin", json=wrong)).status_code == 400
    assert held == [0, 0]
    assert hashers <= checkers, "a sign-in's own checkouts are counted in its own task"
