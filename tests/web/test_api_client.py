"""What web sends the API on a browser's behalf: auth's cookies, and the browser's address
only with the gateway's relay key."""

from types import SimpleNamespace

from pydantic import SecretStr
from starlette.requests import Request

from ticketing.web.api_client import RELAY_HEADER, _forwarded_headers

KEY = "relay-key-for-tests-0123456789abcdef"


def browser_request(relay_key: str | None, cookie: str) -> Request:
    settings = SimpleNamespace(relay_key=SecretStr(relay_key) if relay_key else None)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/auth/signin",
        "headers": [(b"cookie", cookie.encode())],
        "client": ("203.0.113.9", 50000),
        "app": SimpleNamespace(state=SimpleNamespace(settings=settings)),
    }
    return Request(scope)


def test_auths_session_and_device_cookies_go_along_and_nothing_else():
    request = browser_request(KEY, "session=s.t.u; device=d.e.v; csrf=abc; other=1")
    assert _forwarded_headers(request)["cookie"] == "session=s.t.u; device=d.e.v"


def test_the_browsers_address_goes_with_the_relay_key():
    headers = _forwarded_headers(browser_request(KEY, ""))
    assert headers["x-forwarded-for"] == "203.0.113.9"
    assert headers[RELAY_HEADER] == KEY
    assert "cookie" not in headers


def test_without_a_relay_key_the_address_goes_unvouched():
    """Behind nginx, whose real_ip settings trust web's own address instead."""
    headers = _forwarded_headers(browser_request(None, "session=s"))
    assert headers["x-forwarded-for"] == "203.0.113.9"
    assert RELAY_HEADER not in headers
