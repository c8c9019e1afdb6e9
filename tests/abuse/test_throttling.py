"""Sign-in throttling as deployed: auth as a real process behind the gateway, which tells it
the caller's address in X-Forwarded-For. One address guessing one account gets 429 with
Retry-After, a forged X-Forwarded-For does not get it out, and the owner signing in from
another address is not locked out. And auth on its own: the address is the peer's, whatever
the request claims or the peer address looks like."""

import httpx
import pytest

from tests.faults.processes import supervised
from tests.support import AUTH_KEYS, bus_prefix, running
from ticketing.auth.app import create_app
from ticketing.auth.settings import AuthSettings
from ticketing.runtime.gateway import create_gateway

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"
ACCOUNT = {"email": "victim@example.com", "password": "correct horse battery"}


def _from(gateway, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gateway, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://ticketing")


async def test_one_address_guessing_one_account_is_throttled_and_the_owner_is_not(postgres, nats):
    async with supervised(
        "auth",
        DATABASE_URL=await postgres.fresh_database("auth"),
        NATS_URL=nats.url,
        BUS_PREFIX=bus_prefix(),
        SIGNIN_MAX_FAILURES_PER_ACCOUNT="3",
    ) as auth:
        gateway = create_gateway({"/api/users": [auth.url]})
        async with gateway.router.lifespan_context(gateway), _from(gateway, OWNER) as owner:
            assert (await owner.post("/api/users/signup", json=ACCOUNT)).status_code == 201
            async with _from(gateway, ATTACKER) as attacker:
                guess = {**ACCOUNT, "password": "wrong guess 1"}
                answers = [
                    (await attacker.post("/api/users/signin", json=guess)).status_code
                    for _ in range(3)
                ]
                assert answers == [400, 400, 400]
                throttled = await attacker.post("/api/users/signin", json=ACCOUNT)
                spoofed = await attacker.post(
                    "/api/users/signin", json=ACCOUNT, headers={"x-forwarded-for": OWNER}
                )
            assert throttled.status_code == 429
            assert int(throttled.headers["retry-after"]) > 0
            assert throttled.json() == {
                "errors": [{"message": "Too many attempts, try again later"}]
            }
            assert spoofed.status_code == 429, "a forged X-Forwarded-For escaped the throttle"
            assert (await owner.post("/api/users/signin", json=ACCOUNT)).status_code == 200


@pytest.fixture
async def auth(postgres, nats):
    settings = AuthSettings(
        database_url=await postgres.fresh_database("auth"),
        nats_url=nats.url,
        **AUTH_KEYS,
        cookie_secure=False,
        signin_max_failures_per_account=3,
    )
    app = create_app(settings)
    async with running(app) as owner:
        assert (await owner.post("/api/users/signup", json=ACCOUNT)).status_code == 201
        yield app


def _peer(app, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://auth")


async def test_rotating_x_forwarded_for_does_not_reset_the_limit(auth):
    guess = {**ACCOUNT, "password": "wrong guess"}
    async with _peer(auth, ATTACKER) as attacker:
        for n in range(3):
            claimed = {"x-forwarded-for": f"192.0.2.{n}", "x-real-ip": f"192.0.2.{n}"}
            answer = await attacker.post("/api/users/signin", json=guess, headers=claimed)
            assert answer.status_code == 400
        rotated = {"x-forwarded-for": "192.0.2.200", "forwarded": "for=192.0.2.200"}
        answer = await attacker.post("/api/users/signin", json=ACCOUNT, headers=rotated)
    assert answer.status_code == 429


@pytest.mark.parametrize(
    "host", ["x" * 380, "not-an-ip", "", "203.0.113.7, 10.0.0.1", "é" * 50, "1.2.3.4.5"]
)
async def test_an_odd_peer_address_is_throttled_not_a_500(auth, host):
    """An address that is no IP (a proxy passing on whatever it was told) is 'unknown': one
    address for throttling. Before, 380 characters overflowed the key and went unrecorded."""
    guess = {**ACCOUNT, "password": "wrong guess"}
    async with _peer(auth, host) as attacker:
        for _ in range(3):
            assert (await attacker.post("/api/users/signin", json=guess)).status_code == 400
        throttled = await attacker.post("/api/users/signin", json=ACCOUNT)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    async with _peer(auth, "also-not-an-ip") as other:
        assert (await other.post("/api/users/signin", json=ACCOUNT)).status_code == 429
    async with _peer(auth, OWNER) as owner:
        assert (await owner.post("/api/users/signin", json=ACCOUNT)).status_code == 200
