"""Pages over HTTP, as a browser without JavaScript gets them: signed in and signed out."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import jwt
import pytest

from tests.support import JWT_PUBLIC_KEY, mint_token, running
from tests.web.conftest import CSRF_KEY
from tests.web.visitor import PASSWORD, Visitor, page
from ticketing.runtime.ports import free_port
from ticketing.web.app import create_app
from ticketing.web.settings import WebSettings

# ---- header, sign up, sign in, sign out (auth only) ----


async def test_a_signed_out_visitor_is_offered_sign_up_and_sign_in(visitor):
    shown = page(await visitor.get("/auth/signin"))
    assert {"Sign up", "Sign in"} <= set(shown.links())
    assert "Sign out" not in shown.buttons()
    assert shown.label_of("email") == "Email"
    assert shown.label_of("password") == "Password"
    assert "Sign in" in shown.buttons()


async def test_signing_up_signs_in_and_the_header_shows_the_email(visitor):
    response = await visitor.sign_up()
    assert response.headers["location"] == "/"
    assert "session=" in response.headers["set-cookie"]
    shown = page(await visitor.get("/tickets/new"))
    assert visitor.email in shown.text
    assert "Sign out" in shown.buttons()
    assert {"Sell a ticket", "My listings", "My orders"} <= set(shown.links())


async def test_sign_up_errors_are_shown_next_to_each_field(visitor):
    response = await visitor.post("/auth/signup", {"email": "not-an-email", "password": "short"})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("email") == "Email must be valid"
    assert shown.field_error("password") == "Password must be between 8 and 128 characters"
    assert shown.value_of("email") == "not-an-email"
    assert 'value="short"' not in response.text  # a password is never sent back


async def test_an_email_in_use_is_said_on_the_sign_up_form(visitor, system):
    async with Visitor(system) as first:
        await first.sign_up()
        response = await visitor.post("/auth/signup", {"email": first.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Email in use" in page(response).text


async def test_wrong_credentials_are_said_on_the_sign_in_form(visitor, system):
    async with Visitor(system) as someone:
        await someone.sign_up()
        response = await visitor.post(
            "/auth/signin", {"email": someone.email, "password": "wrong-password"}
        )
    assert response.status_code == 400
    shown = page(response)
    assert "Invalid credentials" in shown.text
    assert shown.value_of("email") == someone.email
    assert "session" not in visitor.http.cookies


async def test_sign_in_errors_are_shown_next_to_each_field(visitor):
    response = await visitor.post("/auth/signin", {"email": "", "password": ""})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("email") == "Email must be valid"
    assert shown.field_error("password") == "You must supply a password"


async def test_signing_in_returns_to_the_page_that_asked_for_it(visitor, system):
    async with Visitor(system) as someone:
        await someone.sign_up()
    asked = await visitor.get("/tickets/new", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/auth/signin?next=%2Ftickets%2Fnew"
    form = page(await visitor.get(asked.headers["location"]))
    assert form.value_of("next") is None  # a hidden input has no id; read it from the source
    assert 'name="next" value="/tickets/new"' in form.source
    response = await visitor.post(
        "/auth/signin",
        {"email": someone.email, "password": PASSWORD, "next": "/tickets/new"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/tickets/new"
    assert someone.email in page(await visitor.get("/tickets/new")).text


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"]
)
async def test_sign_in_never_sends_a_visitor_to_another_site(visitor, system, target):
    async with Visitor(system) as someone:
        await someone.sign_up()
    response = await visitor.post(
        "/auth/signin",
        {"email": someone.email, "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_signing_out_clears_the_session(visitor):
    await visitor.sign_up()
    response = await visitor.post("/auth/signout", follow_redirects=False)
    assert response.status_code == 303
    assert re.search(r"session=(\"\")?;", response.headers["set-cookie"])
    shown = page(await visitor.get("/auth/signin"))
    assert "Sign in" in shown.links()
    assert visitor.email not in shown.text


async def test_signing_out_through_the_pages_ends_the_session_not_just_the_cookie(visitor, system):
    await visitor.sign_up()
    kept = visitor.http.cookies["session"]
    await visitor.post("/auth/signout")
    async with system.client(headers={"Cookie": f"session={kept}"}) as copy:
        current = (await copy.get("/api/users/currentuser")).json()
    assert current == {"currentUser": None}


async def test_a_page_passes_on_the_renewed_cookie_auth_gives_a_token_past_half_its_life(
    visitor, system
):
    await visitor.sign_up()
    claims = jwt.decode(visitor.http.cookies["session"], JWT_PUBLIC_KEY, algorithms=["EdDSA"])
    ttl = system.settings["auth"].session_ttl_seconds
    then = datetime.now(UTC) - timedelta(seconds=ttl * 0.6)
    old = mint_token(
        UUID(claims["sub"]), visitor.email, session_id=UUID(claims["sid"]), ttl=ttl, now=then
    )
    async with system.client(headers={"Cookie": f"session={old}"}) as browser:
        response = await browser.get("/tickets/new")
    assert visitor.email in response.text
    renewed = jwt.decode(response.cookies["session"], JWT_PUBLIC_KEY, algorithms=["EdDSA"])
    assert renewed["sid"] == claims["sid"]
    assert renewed["exp"] > claims["exp"] - ttl * 0.6


async def test_a_get_of_the_sign_out_page_does_not_sign_out(visitor):
    await visitor.sign_up()
    shown = page(await visitor.get("/auth/signout"))
    assert "Sign out" in shown.buttons()
    assert visitor.email in page(await visitor.get("/tickets/new")).text


async def test_one_visitors_session_never_reaches_another(system):
    """The web app's one API client is shared by everyone: it must keep no cookie."""
    async with Visitor(system) as first, Visitor(system) as second:
        await first.sign_up()
        shown = page(await second.get("/auth/signin"))
        assert first.email not in shown.text
        assert "Sign in" in shown.links()
        assert (await second.get("/tickets/new", follow_redirects=False)).status_code == 303


@pytest.mark.parametrize("path", ["/tickets/new", "/tickets/mine", "/orders"])
async def test_pages_for_signed_in_users_send_others_to_sign_in(visitor, path):
    response = await visitor.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/signin?next=")


# ---- errors and security ----


async def test_an_unknown_page_is_a_friendly_404(visitor):
    response = await visitor.get("/no/such/page")
    assert response.status_code == 404
    shown = page(response)
    assert "Page not found" in shown.text
    assert shown.links()["Browse tickets for sale"] == "/"
    assert "Sign in" in shown.links()  # still the site's header


@pytest.mark.parametrize("path", ["/tickets/not-an-id", "/orders/not-an-id", "/tickets/1/edit"])
async def test_a_malformed_id_is_a_404_page(visitor, path):
    await visitor.sign_up()
    response = await visitor.get(path)
    assert response.status_code == 404
    assert "Page not found" in page(response).text


@pytest.mark.parametrize("path", ["/auth/signin", "/no/such/page", "/static/site.css"])
async def test_every_response_carries_the_security_headers(visitor, path):
    response = await visitor.get(path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "js.stripe.com" not in policy  # only when a publishable key is configured
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_pages_have_no_inline_script(visitor):
    for path in ("/auth/signup", "/auth/signin", "/no/such/page"):
        shown = page(await visitor.get(path))
        assert shown.inline_scripts() == []
        assert " style=" not in shown.source
        assert " onclick=" not in shown.source


async def test_an_unknown_api_path_still_answers_in_the_api_error_shape(visitor):
    response = await visitor.get("/api/nowhere")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Not found"}]}


async def test_static_files_are_served(visitor):
    for path in ("/static/site.css", "/static/order.js"):
        assert (await visitor.get(path)).status_code == 200


async def test_an_unreachable_api_shows_a_friendly_503_page():
    settings = WebSettings(
        api_base_url=f"http://127.0.0.1:{free_port()}", cookie_secure=False, csrf_key=CSRF_KEY
    )
    async with running(create_app(settings)) as client:
        response = await client.get("/")
    assert response.status_code == 503
    shown = page(response)
    assert "Ticketing is unavailable" in shown.text
    assert "try again" in shown.text
    assert "Traceback" not in response.text


async def test_an_api_error_page_shows_the_apis_message_not_a_traceback():
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"errors": [{"message": "Something went wrong"}]})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    app = create_app(settings, transport=httpx.MockTransport(broken))
    async with running(app) as client:
        response = await client.get("/auth/signin")
    assert response.status_code == 503
    assert "Traceback" not in response.text
    assert "Something went wrong" in page(response).text
