"""Helpers every test may use: bounded waiting, session cookies, app clients."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import httpx
from fastapi import FastAPI

from ticketing.common.auth import COOKIE, UserPayload, issue_token
from ticketing.common.keys import generate_key_pair
from ticketing.common.settings import ServiceSettings

# One key pair per test run: auth signs with the private half, every service verifies.
JWT_PRIVATE_KEY, JWT_PUBLIC_KEY = generate_key_pair()
KEYS = {"jwt_public_key": JWT_PUBLIC_KEY}
AUTH_KEYS = {**KEYS, "jwt_private_key": JWT_PRIVATE_KEY}


async def eventually(
    check: Callable[[], Awaitable[object] | object], timeout: float = 5.0, interval: float = 0.05
):
    """Retry `check` until it returns without raising (and not None/False); bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                result = await result
            if result is not None and result is not False:
                return result
            failure: BaseException = AssertionError(f"check returned {result!r}")
        except AssertionError as error:
            failure = error
        if time.monotonic() > deadline:
            raise failure
        await asyncio.sleep(interval)


async def backends(dsn: str) -> set[int]:
    """The backends connected to the database `dsn` names, but for the one asking."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return {row["pid"] for row in rows}


def bus_prefix() -> str:
    return f"t{uuid4().hex[:10]}"


def mint_token(
    user_id: UUID | None = None,
    email: str | None = None,
    *,
    session_id: UUID | None = None,
    ttl: float = 3600,
    now: datetime | None = None,
    private_key: str = JWT_PRIVATE_KEY,
) -> str:
    """A token as auth would sign it, for a session auth never stored: the other services
    accept it (they only hear of revocations), auth's own currentuser does not."""
    now = now or datetime.now(UTC)
    user = UserPayload(id=user_id or uuid4(), email=email or f"{uuid4().hex[:8]}@test.io")
    return issue_token(
        user,
        session_id or uuid4(),
        private_key,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


def cookie_for(
    settings: ServiceSettings, user_id: UUID | None = None, email: str | None = None
) -> dict[str, str]:
    return {COOKIE: mint_token(user_id, email, ttl=settings.session_ttl_seconds)}


@dataclass(frozen=True)
class Person:
    id: UUID
    headers: dict[str, str] = field(repr=False)


def person(settings: ServiceSettings) -> Person:
    """A signed-in user; the cookie goes in a header so concurrent requests share no jar,
    and one client can act for several people."""
    user_id = uuid4()
    cookie = "; ".join(f"{k}={v}" for k, v in cookie_for(settings, user_id).items())
    return Person(user_id, {"Cookie": cookie})


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (bus, relay, listeners) and an in-process client."""
    async with app.router.lifespan_context(app):
        bus = getattr(app.state, "bus", None)
        if bus is not None:
            await asyncio.wait_for(bus.ready.wait(), timeout=15)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def token_claims(**overrides) -> dict:
    """A session token's claims, valid for an hour; an override of None leaves one out."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(uuid4()),
        "email": "a@b.io",
        "sid": str(uuid4()),
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def hs256_with_the_public_key(claims: dict) -> str:
    """Algorithm confusion: HMAC keyed with the public verification key, which anyone may
    read. PyJWT refuses to make one, so it is put together by hand."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims, default=lambda t: int(t.timestamp())).encode())
    mac = hmac.new(JWT_PUBLIC_KEY.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{part(mac.digest())}"
