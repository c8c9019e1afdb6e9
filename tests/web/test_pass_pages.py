"""My tickets: each pass with its QR code and status, one pass large, reselling it under the
cap. Against the real auth and passes services: each pass is issued by an order.completed
on the bus (arrange.py), used by a real check-in, revoked by the ticket's resale; the last
test buys a ticket through every real service."""

import re
from uuid import uuid4

import pytest

from tests.support import eventually
from tests.web.arrange import check_in, issue_pass, moment, pass_now, revoke
from tests.web.test_order_pages import PAYING, pay, purchase
from tests.web.visitor import Html, page
from ticketing.web.csrf import FIELD

pytestmark = pytest.mark.services("auth", "passes")


def _classed(shown: Html, name: str) -> list[str]:
    """The text of each element with this class, in page order."""
    found = [e for e in shown.elements if name in e.attrs.get("class", "").split()]
    return [" ".join(e.text.split()) for e in found]


def _qr(shown: Html, title: str) -> dict[str, str]:
    image = next(e for e in shown.elements if e.attrs.get("alt") == f"QR code for {title}")
    assert image.tag == "img"
    return image.attrs


def admitted_text(given: dict) -> str:
    """When the pass went in, as a person reads it: in UTC, to the minute."""
    return f"Admitted {moment(given['admittedAt']):%d %b %Y, %H:%M} UTC"


async def used(system, holder, given: dict) -> dict:
    await check_in(system, given)
    return await pass_now(holder, given["id"])


# ---- my tickets ----


async def test_my_tickets_shows_each_pass_with_its_qr_code_status_and_code(
    system, events, buyer, seller
):
    valid = await issue_pass(events, buyer, "Hamilton", "25")
    listed = await issue_pass(events, buyer, "Cats", "20")
    assert (await buyer.post(f"/passes/{listed['id']}/resell", {"price": "23.50"})).is_success
    wicked = await used(system, buyer, await issue_pass(events, buyer, "Wicked", "30"))
    revoked = await revoke(events, buyer, await issue_pass(events, buyer, "Evita", "40"), seller)
    await issue_pass(events, seller, "Someone else's show")

    assert page(await buyer.get("/")).links()["My tickets"] == "/passes"
    shown = page(await buyer.get("/passes"))
    newest_first = [revoked, wicked, listed, valid]
    for each in newest_first:
        assert shown.links()[each["title"]] == f"/passes/{each['id']}"
        assert _qr(shown, each["title"])["src"] == f"/api/passes/{each['id']}/qr.svg"
        assert each["code"] in _classed(shown, "pass-code")[newest_first.index(each)]
    assert _classed(shown, "pass-status") == ["Revoked", "Used", "Valid", "Valid"]
    assert _classed(shown, "pass-admitted") == [admitted_text(wicked)]
    assert _classed(shown, "pass-revoked") == ["Revoked — this ticket was resold."]
    assert _classed(shown, "pass-listed") == ["Listed for resale at $23.50"]
    assert "Someone else's show" not in shown.text


async def test_no_tickets_yet_says_how_to_get_one(buyer):
    shown = page(await buyer.get("/passes"))
    assert "You have no tickets yet" in shown.text
    assert shown.links()["Find a ticket"] == "/"


@pytest.mark.parametrize("path", ["/passes", "/passes/{id}"])
async def test_a_signed_out_visitor_is_sent_to_sign_in(events, buyer, visitor, path):
    path = path.format(id=(await issue_pass(events, buyer, "Hamilton"))["id"])
    response = await visitor.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=" + path.replace("/", "%2F")
    assert "My tickets" not in page(await visitor.get("/")).links()


async def test_a_signed_out_sessions_old_cookie_is_sent_to_sign_in(events, buyer):
    """Signed out everywhere, the cookie a thief kept is a stranger's: no passes shown."""
    await issue_pass(events, buyer, "Hamilton")
    kept = buyer.http.cookies["session"]
    await buyer.post("/auth/signout")
    buyer.http.cookies.set("session", kept)
    response = await buyer.get("/passes", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fpasses"


async def test_the_qr_code_is_an_image_the_pages_policy_allows(events, buyer):
    """Same origin, through the gateway: img-src 'self' lets it in, no data: or inline SVG."""
    given = await issue_pass(events, buyer, "Hamilton")
    response = await buyer.get(f"/passes/{given['id']}")
    policy = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    assert "'self'" in policy["img-src"].split()
    src = _qr(page(response), "Hamilton")["src"]
    assert src.startswith("/api/passes/")
    assert "<svg" not in response.text
    qr = await buyer.get(src)  # the image the page points at, from passes itself
    assert qr.headers["content-type"].startswith("image/svg+xml")


async def test_a_title_with_markup_is_shown_as_text(events, buyer):
    given = await issue_pass(events, buyer, "<b>Loud</b>")
    for path in ("/passes", f"/passes/{given['id']}"):
        response = await buyer.get(path)
        assert "<b>Loud</b>" not in response.text
        assert "&lt;b&gt;Loud&lt;/b&gt;" in response.text


# ---- one pass ----


async def test_a_valid_pass_shows_its_qr_large_and_a_resell_form_with_the_cap(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    shown = page(await buyer.get(f"/passes/{given['id']}"))
    assert shown.by_id("pass-status").text == "Valid"
    assert shown.by_id("pass-qr").attrs["src"] == f"/api/passes/{given['id']}/qr.svg"
    assert shown.by_id("pass-qr").attrs["alt"] == "QR code for Hamilton"
    assert shown.by_id("pass-code").text == given["code"]
    assert shown.label_of("resell-price") == "Resale price ($)"
    assert shown.value_of("resell-price") == ""
    assert " ".join(shown.by_id("resell-price-hint").text.split()) == (
        "At most $30.00 (1.2 \N{MULTIPLICATION SIGN} what you paid)."
    )
    assert shown.by_id("resell-form").attrs["action"] == f"/passes/{given['id']}/resell"
    assert shown.by_id("resell-submit").text == "Resell"
    assert shown.by_id("take-down") is None


@pytest.mark.parametrize("status", ["used", "revoked"])
async def test_a_used_or_revoked_pass_says_so_and_cannot_be_resold(
    system, events, buyer, seller, status
):
    given = await issue_pass(events, buyer, "Hamilton")
    if status == "used":
        given = await used(system, buyer, given)
        says, element = admitted_text(given) + ".", "pass-admitted"
    else:
        given = await revoke(events, buyer, given, seller)
        says, element = "Revoked — this ticket was resold.", "pass-revoked"
    shown = page(await buyer.get(f"/passes/{given['id']}"))
    assert shown.by_id("pass-status").text == status.capitalize()
    assert says in shown.by_id(element).text
    assert shown.by_id("resell-form") is None
    assert "Only a valid ticket can be resold." in shown.text


async def test_reselling_lists_the_pass_and_the_page_says_so(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    response = await buyer.post(f"/passes/{given['id']}/resell", {"price": "28"})
    assert response.history[0].status_code == 303
    assert response.url.path == f"/passes/{given['id']}"
    shown = page(response)
    assert "Your ticket is listed for resale." in shown.text
    assert shown.by_id("pass-listed").text == "Listed for resale at $28.00"
    assert shown.value_of("resell-price") == "28.00"
    assert shown.by_id("resell-submit").text == "Change resale price"
    assert shown.by_id("take-down").text == "Take down"
    assert (await pass_now(buyer, given["id"]))["listedPrice"] == 28
    listed = page(await buyer.get("/passes"))
    assert _classed(listed, "pass-listed") == ["Listed for resale at $28.00"]


async def test_a_price_above_the_cap_is_refused_on_the_price_field(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    response = await buyer.post(f"/passes/{given['id']}/resell", {"price": "30.01"})
    assert response.status_code == 400
    shown = page(response)
    # the API's words
    assert shown.field_error("resell-price") == "Price must be at most 30.00, the resale cap"
    assert shown.value_of("resell-price") == "30.01"
    assert "At most $30.00" in shown.by_id("resell-price-hint").text
    blank = page(await buyer.post(f"/passes/{given['id']}/resell", {"price": ""}))
    assert blank.field_error("resell-price") == "Price is required"
    assert (await pass_now(buyer, given["id"]))["listedPrice"] is None


async def test_a_refusal_that_is_no_fields_is_said_above_the_form(system, events, buyer):
    """The pass was used at the door while its page was open: the API's reason, on top."""
    given = await issue_pass(events, buyer, "Hamilton", "25")
    shown = page(await buyer.get(f"/passes/{given['id']}"))
    assert shown.by_id("resell-form") is not None
    await check_in(system, given)
    response = await buyer.post(f"/passes/{given['id']}/resell", {"price": "26"})
    assert response.status_code == 400
    assert "A used pass cannot be resold" in page(response).text


async def listed_at(buyer, given: dict, price: str) -> None:
    response = await buyer.http.post(f"/api/passes/{given['id']}/resell", json={"price": price})
    assert response.status_code == 201, response.text


async def test_taking_a_resale_down_keeps_the_pass_valid(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    await listed_at(buyer, given, "27")
    response = await buyer.post(f"/passes/{given['id']}/take-down")
    assert response.url.path == f"/passes/{given['id']}"
    shown = page(response)
    assert "Your resale listing is taken down" in shown.text
    assert shown.by_id("pass-listed") is None
    assert shown.by_id("pass-status").text == "Valid"
    assert shown.by_id("resell-submit").text == "Resell"
    assert (await pass_now(buyer, given["id"]))["listedPrice"] is None


# ---- someone else's, unknown, forged ----


async def test_someone_elses_pass_is_a_404_page_and_cannot_be_resold(events, buyer, seller):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    await listed_at(buyer, given, "27")
    for response in (
        await seller.get(f"/passes/{given['id']}"),
        await seller.post(f"/passes/{given['id']}/resell", {"price": "26"}),
        await seller.post(f"/passes/{given['id']}/take-down"),
    ):
        assert response.status_code == 404
        assert "Page not found" in page(response).text
    assert (await pass_now(buyer, given["id"]))["listedPrice"] == 27


@pytest.mark.parametrize("path", ["/passes/not-an-id", f"/passes/{uuid4()}"])
async def test_a_malformed_or_unknown_pass_is_a_404_page(buyer, path):
    response = await buyer.get(path)
    assert response.status_code == 404
    assert "Page not found" in page(response).text
    assert (await buyer.post(f"{path}/resell", {"price": "1"})).status_code == 404


async def test_a_resale_form_without_this_browsers_token_changes_nothing(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    await listed_at(buyer, given, "27")
    for path, form in (
        (f"/passes/{given['id']}/resell", {"price": "26"}),
        (f"/passes/{given['id']}/take-down", {}),
    ):
        assert (await buyer.post(path, form, token=False)).status_code == 403
        assert (await buyer.post(path, form | {FIELD: "forged"})).status_code == 403
    assert (await pass_now(buyer, given["id"]))["listedPrice"] == 27


async def test_every_pass_form_carries_this_browsers_token(events, buyer):
    given = await issue_pass(events, buyer, "Hamilton", "25")
    await listed_at(buyer, given, "27")
    token = await buyer.form_token()
    shown = page(await buyer.get(f"/passes/{given['id']}"))
    posts = [form for form in shown.forms() if form.get("method") == "post"]
    tokens = [e.attrs.get("value") for e in shown.elements if e.attrs.get("name") == FIELD]
    assert len(posts) == 3  # Resell, Take down, Sign out
    assert tokens == [token] * 3


# ---- the whole way: bought and paid for through every service ----


@pytest.mark.services(*PAYING, "passes")
async def test_a_paid_order_shows_its_pass_under_my_tickets(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    await pay(buyer, order_id, "tok_visa")

    async def shown_pass() -> str | None:
        found = re.search(r'href="/passes/([0-9a-f-]{36})"', (await buyer.get("/passes")).text)
        return found.group(1) if found else None

    pass_id = await eventually(shown_pass, timeout=15, interval=0.2)
    shown = page(await buyer.get(f"/passes/{pass_id}"))
    assert shown.by_id("pass-status").text == "Valid"
    assert "At most $30.00" in shown.by_id("resell-price-hint").text
    qr = await buyer.get(shown.by_id("pass-qr").attrs["src"])
    assert qr.headers["content-type"].startswith("image/svg+xml")
