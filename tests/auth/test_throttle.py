"""Sign-in throttling over HTTP: concurrent guesses, guessing spread over many addresses,
and the device cookie that keeps the owner in."""

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.support import eventually, running
from ticketing.auth import devices, passwords
from ticketing.auth.app import create_app
from ticketing.auth.domain import Slowing, network_of

from .test_routes import an_email, signup

PASSWORD = "password123"


@asynccontextmanager
async def _from(app, address: str):
    """A browser at `address`, on an app already running."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as browser:
        yield browser


async def _signin(app, address: str, email: str, password: str, device: str | None = None):
    """A sign-in from `address`, with a device cookie as the browser sent it (raw bytes)."""
    headers = {} if device is None else {"cookie": f"{devices.COOKIE}={device}".encode("latin-1")}
    async with _from(app, address) as browser:
        body = {"email": email, "password": password}
        return await browser.post("/api/users/signin", json=body, headers=headers)


@asynccontextmanager
async def _auth(settings, **changes):
    app = create_app(settings.model_copy(update=changes))
    async with running(app) as client:
        yield app, client


async def test_concurrent_wrong_passwords_reach_the_password_check_at_most_the_limit(
    client, monkeypatch
):
    email = an_email()
    await signup(client, email)
    checked = []
    real = passwords.verify_and_update

    async def counted(password, stored):
        checked.append(password)
        return await real(password, stored)

    monkeypatch.setattr(passwords, "verify_and_update", counted)
    answers = await asyncio.gather(
        *(
            client.post("/api/users/signin", json={"email": email, "password": f"wrong-{i}"})
            for i in range(15)
        )
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [400] * 3 + [429] * 12  # the limit for one account from one address is 3
    assert len(checked) == 3
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)


async def test_a_right_password_is_not_counted_against_the_account(client):
    email = an_email()
    await signup(client, email)
    for _ in range(5):
        wrong = {"email": email, "password": "nope-nope"}
        assert (await client.post("/api/users/signin", json=wrong)).status_code == 400
        right = {"email": email, "password": PASSWORD}
        assert (await client.post("/api/users/signin", json=right)).status_code == 200


def test_an_address_is_counted_by_its_ip_or_ipv6_64_and_anything_else_is_unknown():
    assert network_of("203.0.113.7") == "203.0.113.7"
    assert network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert network_of("fe80::1%" + "z" * 300) == "fe80::/64"  # the scope is no part of the key
    for odd in ("not-an-ip", "x" * 380, "", None, "203.0.113.7, 10.0.0.1", "fe80::1%eth0/64"):
        assert network_of(odd) == "unknown"


async def test_addresses_rotated_within_one_ipv6_64_count_as_one(settings):
    async with _auth(settings) as (app, client):
        email = an_email()
        await signup(client, email)
        for n in range(1, 4):
            answer = await _signin(app, f"2001:db8:0:1::{n}", email, "nope-nope")
            assert answer.status_code == 400
        assert (await _signin(app, "2001:db8:0:1::99", email, PASSWORD)).status_code == 429
        assert (await _signin(app, "2001:db8:0:2::1", email, PASSWORD)).status_code == 200


def test_the_delay_doubles_after_the_free_failures_up_to_the_longest():
    rule = Slowing(free=3, first=1, longest=60)
    assert [rule.delay(n) for n in range(11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert rule.delay(10**9) == 60
    assert Slowing(free=1, first=5, longest=600).delay(3) == 20


async def test_guessing_from_many_addresses_slows_the_account_down_but_never_locks_it(settings):
    async with _auth(settings, signin_email_failures_before_delay=2) as (app, client):
        email = an_email()
        await signup(client, email)
        for n in (1, 2):
            assert (await _signin(app, f"203.0.113.{n}", email, "nope-nope")).status_code == 400
        slowed = await _signin(app, "203.0.113.3", email, PASSWORD)
        assert slowed.status_code == 429
        assert int(slowed.headers["retry-after"]) > 0
        assert slowed.json() == {"errors": [{"message": "Too many attempts, try again later"}]}

        async def signed_in():
            return (await _signin(app, "198.51.100.1", email, PASSWORD)).status_code == 200

        await eventually(signed_in, timeout=30, interval=0.25)


async def _fail_from_many_addresses(app, email: str, failures: int, per_address: int) -> None:
    async def from_one(n: int) -> None:
        for _ in range(per_address):
            answer = await _signin(app, f"10.{n // 250}.{n % 250}.1", email, "a stranger's guess")
            assert answer.status_code == 400, answer.text

    addresses = -(-failures // per_address)
    for first in range(0, addresses, 8):
        await asyncio.gather(*(from_one(n) for n in range(first, min(first + 8, addresses))))


async def test_a_strangers_guessing_does_not_stop_the_owner_on_a_device_used_before(settings):
    slow = {"signin_email_failures_before_delay": 102, "signin_email_first_delay_seconds": 600}
    async with _auth(settings, **slow, signin_email_max_delay_seconds=600) as (app, client):
        email = an_email()
        await signup(client, email)
        async with _from(app, "198.51.100.20") as phone:
            first = await phone.post(
                "/api/users/signin", json={"email": email, "password": PASSWORD}
            )
            assert first.status_code == 200
            device = phone.cookies[devices.COOKIE]

        await _fail_from_many_addresses(app, email, failures=102, per_address=3)
        assert (await _signin(app, "10.9.9.9", email, "another guess")).status_code == 429

        new_device = await _signin(app, "192.0.2.50", email, PASSWORD)
        assert new_device.status_code == 429
        assert int(new_device.headers["retry-after"]) > 0
        owner = await _signin(app, "198.51.100.20", email, PASSWORD, device=device)
        assert owner.status_code == 200
        travelling = await _signin(app, "192.0.2.51", email, PASSWORD, device=device)
        assert travelling.status_code == 200


async def test_a_device_cookie_proves_nothing_for_another_account_or_when_altered(settings):
    async with _auth(settings, signin_email_failures_before_delay=1) as (app, client):
        victim, stranger = an_email(), an_email()
        await signup(client, victim)
        await signup(client, stranger)
        stranger_device = (await _signin(app, "192.0.2.9", stranger, PASSWORD)).cookies[
            devices.COOKIE
        ]
        owner_device = (await _signin(app, "198.51.100.20", victim, PASSWORD)).cookies[
            devices.COOKIE
        ]
        assert (await _signin(app, "192.0.2.10", victim, "nope-nope")).status_code == 400
        device_id, _, signature = owner_device.partition(".")
        forged = [
            stranger_device,
            f"{device_id}.{signature[:-2]}AA",
            f"another-device.{signature}",
            "garbage",
            "é" * 300,
        ]
        for cookie in forged:
            assert (await _signin(app, "192.0.2.11", victim, PASSWORD, cookie)).status_code == 429
        owner = await _signin(app, "192.0.2.12", victim, PASSWORD, owner_device)
        assert owner.status_code == 200


async def test_a_device_used_before_has_its_own_limit(settings):
    async with _auth(settings) as (app, client):
        email = an_email()
        await signup(client, email)
        device = (await _signin(app, "198.51.100.20", email, PASSWORD)).cookies[devices.COOKIE]
        for n in range(1, 4):
            answer = await _signin(app, f"192.0.2.{n}", email, "nope-nope", device)
            assert answer.status_code == 400
        assert (await _signin(app, "192.0.2.9", email, PASSWORD, device)).status_code == 429


async def test_the_device_cookie_is_http_only_and_long_lived(client):
    email = an_email()
    await signup(client, email)
    answer = await client.post("/api/users/signin", json={"email": email, "password": PASSWORD})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("device="))
    assert "HttpOnly" in cookie
    assert "Max-Age=31536000" in cookie


@pytest.mark.parametrize(
    "email", ["x" * 300 + "@example.com", "a@" + "b" * 300 + ".io", "\x00@x.io"]
)
async def test_signin_with_an_odd_email_is_bad_input(client, email):
    answer = await client.post("/api/users/signin", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 400
    assert answer.json() == {"errors": [{"message": "Email must be valid", "field": "email"}]}
