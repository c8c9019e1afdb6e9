"""The door: a phone remembers its door token, then each code gets a big green or red
answer. Against the real passes service: passes issued by order.completed on the bus, door
tokens made as an operator makes them (arrange.py); no one is signed in."""

import json
from uuid import uuid4

import httpx
import pytest

from tests.support import running
from tests.web.arrange import (
    door_token,
    issue_pass,
    moment,
    pass_now,
    record,
    revoke,
    revoke_door,
)
from tests.web.conftest import CSRF_KEY
from tests.web.visitor import Html, Visitor, form_token, page
from ticketing.web.app import create_app
from ticketing.web.csrf import FIELD
from ticketing.web.routes.door import COOKIE
from ticketing.web.settings import WebSettings

pytestmark = pytest.mark.services("auth", "passes")


async def set_up(door: Visitor, token: str) -> httpx.Response:
    return await door.post("/door/token", {"token": token})


async def scan(door: Visitor, code: str) -> Html:
    return page(await door.post("/door", {"code": code}))


def answer(shown: Html) -> tuple[str, str]:
    """The answer's colour (its class) and words."""
    element = shown.by_id("door-answer")
    assert element is not None, shown.text
    colour = next(c for c in ("admitted", "refused") if c in element.attrs["class"].split())
    return colour, " ".join(element.text.split())


def door_cookie(response: httpx.Response) -> str:
    return next(v for v in response.headers.get_list("set-cookie") if v.startswith(COOKIE + "="))


async def test_the_door_asks_for_its_token_once_then_for_codes(system, visitor):
    shown = page(await visitor.get("/door"))
    viewport = next(e for e in shown.elements if e.attrs.get("name") == "viewport")
    assert "width=device-width" in viewport.attrs["content"]
    assert shown.label_of("door-token") == "Door token"
    assert shown.by_id("door-token").attrs["type"] == "password"
    assert shown.by_id("door-code") is None
    assert "Sign in" not in shown.links()  # a door page, not the shop

    saved = await set_up(visitor, await door_token(system))
    assert saved.history[0].status_code == 303
    cookie = door_cookie(saved.history[0])
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/door" in cookie
    assert "Secure" not in cookie  # COOKIE_SECURE=false here; true adds it
    shown = page(saved)
    code = shown.by_id("door-code")
    assert code is not None and "autofocus" in code.attrs
    assert shown.label_of("door-code") == "Ticket code"
    assert shown.by_id("door-check").text == "Check"
    assert shown.by_id("door-token") is None
    assert page(await visitor.get("/door")).by_id("door-code") is not None  # remembered


async def test_a_valid_code_is_admitted_in_green_and_a_second_scan_is_refused_in_red(
    system, events, visitor, buyer
):
    given = await issue_pass(events, buyer, "Hamilton")
    await set_up(visitor, await door_token(system))
    first = await scan(visitor, f"  {given['code']}\n")  # as a scanner types it
    assert answer(first) == ("admitted", "Admitted — Hamilton")
    assert first.value_of("door-code") == ""  # ready for the next
    now = await pass_now(buyer, given["id"])
    assert now["status"] == "used"
    again = await scan(visitor, given["code"])
    colour, said = answer(again)
    assert colour == "refused"
    at = moment(now["admittedAt"])
    assert said == f"Already admitted at {at:%Y-%m-%d %H:%M:%S} UTC"  # the API's time


async def test_a_revoked_or_unknown_code_is_refused_in_red(system, events, visitor, buyer, seller):
    revoked = await revoke(events, buyer, await issue_pass(events, buyer, "Hamilton"), seller)
    await set_up(visitor, await door_token(system))
    assert answer(await scan(visitor, revoked["code"])) == (
        "refused",
        "Revoked — this ticket was resold",
    )
    unknown = "A" * len(revoked["code"])  # shaped like a code, of no pass
    assert answer(await scan(visitor, unknown)) == ("refused", "Unknown code")
    not_a_code = "Code must be a pass code (22 letters, digits, - or _)"  # the API's words
    assert answer(await scan(visitor, "not-a-code")) == ("refused", not_a_code)
    huge = await scan(visitor, "x" * 10_000)  # not worth a call: the page says so itself
    assert answer(huge) == ("refused", "Unknown code")


@pytest.mark.parametrize("door", ["unknown", "revoked"])
async def test_a_door_token_the_api_refuses_is_said_and_forgotten(
    system, events, visitor, buyer, door
):
    given = await issue_pass(events, buyer, "Hamilton")
    if door == "revoked":  # the phone was lost: the operator revoked its door
        token = await door_token(system, "lost-phone")
        await revoke_door(system, "lost-phone")
    else:
        token = "not-a-door-token"
    await set_up(visitor, token)
    response = await visitor.post("/door", {"code": given["code"]})
    shown = page(response)
    assert answer(shown) == ("refused", "This door's token is not valid")
    assert shown.by_id("door-token") is not None and shown.by_id("door-code") is None
    assert "Max-Age=0" in door_cookie(response) or "expires=" in door_cookie(response).lower()
    assert COOKIE not in visitor.http.cookies
    assert (await pass_now(buyer, given["id"]))["status"] == "valid"


async def test_forgetting_the_door_clears_its_token(system, visitor):
    await set_up(visitor, await door_token(system))
    shown = page(await visitor.get("/door"))
    assert shown.by_id("door-forget").text == "Forget this door"
    forgotten = await visitor.post("/door/forget")
    assert COOKIE not in visitor.http.cookies
    assert page(forgotten).by_id("door-token") is not None


async def test_the_check_in_sends_the_door_token_and_not_the_visitors_session(
    system, events, visitor, buyer
):
    given = await issue_pass(events, buyer, "Hamilton")
    checkins = record(system, "/api/checkins", "passes")
    await visitor.sign_up()  # someone signed in on the door's phone: their cookie stays home
    token = await door_token(system)
    await set_up(visitor, token)
    assert answer(await scan(visitor, given["code"])) == ("admitted", "Admitted — Hamilton")
    (sent,) = checkins.requests
    assert sent["headers"]["authorization"] == f"Bearer {token}"
    assert "cookie" not in sent["headers"]
    assert json.loads(sent["body"]) == {"code": given["code"]}


async def test_a_blank_code_or_token_is_asked_for_again_without_calling_the_api(system, visitor):
    checkins = record(system, "/api/checkins", "passes")
    blank = page(await set_up(visitor, "  "))
    assert blank.field_error("door-token") == "Enter the door token"
    spaced = page(await set_up(visitor, "two words"))
    assert spaced.field_error("door-token") == "That is not a door token"
    assert COOKIE not in visitor.http.cookies
    await set_up(visitor, await door_token(system))
    response = await visitor.post("/door", {"code": "   "})
    assert response.status_code == 400
    assert page(response).field_error("door-code") == "Scan or type a code"
    assert checkins.requests == []


async def test_door_forms_need_this_browsers_token(system, events, visitor, buyer):
    given = await issue_pass(events, buyer, "Hamilton")
    checkins = record(system, "/api/checkins", "passes")
    refused = await visitor.post("/door/token", {"token": await door_token(system)}, token=False)
    assert refused.status_code == 403
    assert COOKIE not in visitor.http.cookies
    await set_up(visitor, await door_token(system))
    for path, form in (("/door", {"code": given["code"]}), ("/door/forget", {})):
        assert (await visitor.post(path, form, token=False)).status_code == 403
        assert (await visitor.post(path, form | {FIELD: "forged"})).status_code == 403
    assert checkins.requests == []
    assert (await pass_now(buyer, given["id"]))["status"] == "valid"
    assert COOKIE in visitor.http.cookies
    shown = page(await visitor.get("/door"))
    posts = [form for form in shown.forms() if form.get("method") == "post"]
    tokens = [e.attrs.get("value") for e in shown.elements if e.attrs.get("name") == FIELD]
    assert len(posts) == 2 and tokens == [await visitor.form_token()] * 2


# ---- without the system: what the door asks of the API, and when it cannot answer ----


def _settings(**fields) -> WebSettings:
    return WebSettings(api_base_url="http://ticketing", csrf_key=CSRF_KEY, **fields)


async def test_the_door_never_asks_who_is_signed_in_and_its_cookie_is_secure_when_cookies_are():
    asked: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/api/checkins":
            return httpx.Response(200, json={"ticketId": str(uuid4()), "title": "Hamilton"} | _AT)
        return httpx.Response(200, json={"currentUser": None})

    app = create_app(_settings(), transport=httpx.MockTransport(api))
    async with running(app, base_url="https://ticketing") as client:
        form = {FIELD: await form_token(client, "/door"), "token": "door-token-1"}
        saved = await client.post("/door/token", data=form)
        assert "Secure" in door_cookie(saved)
        shown = page(await client.post("/door", data={FIELD: form[FIELD], "code": "abc"}))
    assert answer(shown) == ("admitted", "Admitted — Hamilton")
    assert asked == ["/api/checkins"]


_AT = {"admittedAt": "2030-05-01T19:05:00+00:00"}


@pytest.mark.parametrize("status", [500, 503])
async def test_an_api_that_cannot_answer_is_a_red_try_again_not_an_error_page(status):
    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"errors": [{"message": "Service unavailable"}]})

    app = create_app(_settings(cookie_secure=False), transport=httpx.MockTransport(api))
    async with running(app) as client:
        token = await form_token(client, "/door")
        client.cookies.set(COOKIE, "door-token-1", path="/door")
        response = await client.post("/door", data={FIELD: token, "code": "abc"})
    assert response.status_code == 503
    colour, said = answer(page(response))
    assert colour == "refused" and "Cannot check right now" in said
    assert page(response).by_id("door-code") is not None
