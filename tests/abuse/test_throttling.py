"""Sign-in throttling as deployed: auth as a real process behind the gateway, which tells it
the caller's address in X-Forwarded-For. One address guessing one account gets 429 with
Retry-After, a forged X-Forwarded-For does not get it out, and the owner signing in from
another address is not locked out."""

import httpx

from tests.faults.processes import supervised
from tests.support import bus_prefix
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
