"""Forms from anywhere but our own pages are refused: no token, another browser's token,
another site's Origin. Each refusal is the 403 page, and nothing has changed behind it."""

import httpx
import jwt
import pytest
from pydantic import ValidationError
from starlette.datastructures import Headers

from tests.support import eventually, running
from tests.web.conftest import CSRF_KEY
from tests.web.visitor import PASSWORD, Visitor, page
from ticketing.common.settings import describe_missing
from ticketing.web.app import create_app
from ticketing.web.csrf import COOKIE, FIELD, Browser
from ticketing.web.settings import WebSettings

pytestmark = pytest.mark.services("auth", "tickets")

KEY = CSRF_KEY.encode()
LISTING = {"title": "Forged listing", "price": "25"}


async def _listed(someone: Visitor) -> list[str]:
    """The seller's listings as the API has them, not as a page says."""
    response = await someone.get("/api/tickets", params={"mine": "true"})
    assert response.status_code == 200, response.text
    return [ticket["title"] for ticket in response.json()]


def _refused(response) -> None:
    assert response.status_code == 403
    assert "reload the page and try again" in page(response).text


async def test_a_form_without_a_token_is_refused_and_changes_nothing(seller):
    response = await seller.post("/tickets/new", LISTING, token=False)
    _refused(response)
    assert await _listed(seller) == []


async def test_a_token_from_another_browsers_cookie_is_refused(seller, system):
    async with Visitor(system) as attacker:
        await attacker.sign_up()
        theirs = await attacker.form_token()
    response = await seller.post("/tickets/new", LISTING | {FIELD: theirs})
    _refused(response)
    assert await _listed(seller) == []


async def test_a_token_from_before_signing_in_is_not_accepted_after_it(visitor, system):
    async with Visitor(system) as someone:
        await someone.sign_up()
    before = await visitor.form_token()
    signed_in = await visitor.post("/auth/signin", {"email": someone.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    response = await visitor.post("/tickets/new", LISTING | {FIELD: before})
    _refused(response)
    assert await _listed(visitor) == []
    assert (await visitor.post("/tickets/new", LISTING)).status_code == 200  # a fresh page's


async def test_a_token_without_its_cookie_is_refused(seller):
    token = await seller.form_token()
    seller.http.cookies.delete(COOKIE)
    _refused(await seller.post("/tickets/new", LISTING | {FIELD: token}))
    assert await _listed(seller) == []


FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    "body",
    [
        {"content": f"{FIELD}=%FF%FE&title=x", "headers": {"content-type": "text/plain"}},
        {"content": f"{FIELD}=%C3%A9&title=x&price=1", "headers": FORM},
        {"content": "%%%&&==&" + FIELD, "headers": FORM},
        {"json": {FIELD: "anything"}},
        {"content": b"\xff\xfe" * 40_000, "headers": FORM},
    ],
    ids=["not-a-form", "not-ascii", "garbled", "json", "too-large"],
)
async def test_a_malformed_post_is_refused_not_a_500(seller, body):
    _refused(await seller.http.post("/tickets/new", **body))
    assert await _listed(seller) == []


async def test_a_cross_site_form_naming_itself_in_x_forwarded_host_is_refused(seller):
    """The client writes X-Forwarded-Host; only Host (set by our proxy) says who we are."""
    response = await seller.post(
        "/tickets/new",
        LISTING,
        headers={"origin": "https://evil.example", "x-forwarded-host": "evil.example"},
    )
    _refused(response)
    assert await _listed(seller) == []


async def test_a_form_posted_from_another_site_is_refused(visitor, system):
    async with Visitor(system) as someone:
        await someone.sign_up()
    body = {"email": someone.email, "password": PASSWORD}

    async def sign_in(**headers: str):
        return await visitor.post("/auth/signin", body, headers=headers, follow_redirects=False)

    _refused(await sign_in(origin="https://evil.example"))
    _refused(await sign_in(**{"sec-fetch-site": "cross-site"}))
    _refused(await sign_in(origin="null"))
    assert "session" not in visitor.http.cookies
    own = await sign_in(origin="http://ticketing", **{"sec-fetch-site": "same-origin"})
    assert own.status_code == 303
    behind_a_proxy = await sign_in(origin="http://ticketing:8080")  # nginx's $host has no port
    assert behind_a_proxy.status_code == 303


async def _each_form_carries_the_token(someone: Visitor, *paths: str) -> None:
    token = await someone.form_token()
    for path in paths:
        shown = page(await someone.get(path))
        posts = [form for form in shown.forms() if form.get("method") == "post"]
        tokens = [e.attrs.get("value") for e in shown.elements if e.attrs.get("name") == FIELD]
        assert len(posts) >= 2, path  # the page's own form, and Sign out in the header
        assert tokens == [token] * len(posts), path


async def test_every_selling_form_carries_this_browsers_token(seller):
    ticket_id = await seller.list_ticket("Hamilton")
    paths = ("/auth/signout", "/tickets/new", "/tickets/mine", f"/tickets/{ticket_id}/edit")
    await _each_form_carries_the_token(seller, *paths)


@pytest.mark.services("auth", "tickets", "orders")
async def test_every_buying_form_carries_this_browsers_token(seller, buyer):
    ticket_id = await seller.list_ticket("Hamilton")
    await _each_form_carries_the_token(buyer, f"/tickets/{ticket_id}")  # Purchase, Sign out

    async def purchased() -> str | None:  # orders hears of the listing by event
        response = await buyer.post(f"/tickets/{ticket_id}")
        return response.url.path if response.url.path.startswith("/orders/") else None

    order_path = await eventually(purchased, timeout=10, interval=0.2)
    await _each_form_carries_the_token(buyer, order_path)  # Pay, Cancel order, Sign out


async def test_the_csrf_cookie_is_http_only_and_same_site(visitor):
    response = await visitor.get("/auth/signin")
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # COOKIE_SECURE=false here; true adds it
    again = await visitor.get("/auth/signin")
    assert "set-cookie" not in again.headers  # one secret per browser, not one per page


async def test_the_csrf_cookie_is_secure_when_cookies_are():
    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"currentUser": None})

    settings = WebSettings(api_base_url="http://ticketing", csrf_key=CSRF_KEY)  # secure default
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        response = await client.get("/auth/signin")
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize("key", [None, "too-short"])
def test_web_does_not_start_without_a_strong_csrf_key(monkeypatch, key):
    monkeypatch.delenv("CSRF_KEY", raising=False)
    fields = {} if key is None else {"csrf_key": key}
    with pytest.raises(ValidationError) as refused:
        WebSettings(api_base_url="http://ticketing", **fields)
    assert "CSRF_KEY" in describe_missing(refused.value)


def _session_cookie(sid: str, expires: int) -> str:
    """A session token as auth makes them; web never checks the signature."""
    return jwt.encode({"sid": sid, "sub": "u", "exp": expires}, "k" * 32, algorithm="HS256")


def test_a_renewed_cookie_of_the_same_session_keeps_the_pages_token_good():
    secret = "s" * 43
    first = Headers({"cookie": f"csrf={secret}; session={_session_cookie('one', 100)}"})
    renewed = Headers({"cookie": f"csrf={secret}; session={_session_cookie('one', 200)}"})
    other = Headers({"cookie": f"csrf={secret}; session={_session_cookie('two', 100)}"})
    token = Browser.of(first, KEY).token()
    assert Browser.of(renewed, KEY).accepts(token)
    assert not Browser.of(other, KEY).accepts(token), "another session's token"
