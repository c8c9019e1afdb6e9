"""The Balance page: a seller's pending, available and paid-out money, where payouts go,
and the Pay out button. Against the real auth and payments services: each sale is posted
to the ledger by orders' events on the bus, released by passes' pass.admitted, paid out to
the sandbox (arrange.py). The platform keeps its fee (5%): a $20 sale credits $19."""

import asyncio
import re
from uuid import uuid4

import httpx
import pytest

from tests.support import running
from tests.web.arrange import (
    account_of,
    available,
    balance_is,
    paid_out,
    payout_account,
    payout_accounts,
    payout_of,
    sale,
    sandbox,
)
from tests.web.conftest import CSRF_KEY
from tests.web.visitor import Html, Visitor, form_token, page
from ticketing.web.app import create_app
from ticketing.web.csrf import FIELD
from ticketing.web.settings import WebSettings

pytestmark = pytest.mark.services("auth", "payments")


def figures(shown: Html) -> dict[str, str]:
    ids = ("balance-pending", "balance-available", "balance-paid-out")
    return {name: " ".join(shown.by_id(name).text.split()) for name in ids}


async def with_account(system, events, seller: Visitor, *, available_from: str) -> None:
    """A seller with a payout account and a released sale of this price."""
    await payout_account(seller)
    await available(system, events, seller, available_from)


async def test_the_balance_shows_pending_available_and_paid_out_in_its_currency(
    system, events, seller: Visitor
):
    await with_account(system, events, seller, available_from="1299")
    await balance_is(seller, available=1234.05)
    await paid_out(seller)
    await available(system, events, seller, "20")
    await sale(system, events, seller, "50")
    await balance_is(seller, pending=47.5, available=19, paidOut=1234.05)
    assert page(await seller.get("/")).links()["Balance"] == "/balance"
    shown = page(await seller.get("/balance"))
    assert figures(shown) == {
        "balance-pending": "$47.50",
        "balance-available": "$19.00",
        "balance-paid-out": "$1,234.05",
    }
    assert "Amounts in USD." in shown.text
    assert "disabled" not in shown.by_id("payout-submit").attrs
    assert shown.by_id("payout-submit").text == "Pay out $19.00"
    assert shown.by_id("payout-result") is None
    assert shown.label_of("payout-account") == "Stripe account id"
    assert shown.input_named("accountId").attrs["id"] == "payout-account"


@pytest.mark.services("auth", "payments", currency="chf")
async def test_a_currency_without_a_sign_is_named_after_each_figure(
    system, events, seller: Visitor
):
    await available(system, events, seller, "5")
    await balance_is(seller, available=4.75)
    shown = page(await seller.get("/balance"))
    assert figures(shown)["balance-available"] == "4.75 CHF"


async def test_nothing_available_disables_pay_out_and_says_why(system, events, seller):
    await sale(system, events, seller, "40")
    await balance_is(seller, pending=38)
    shown = page(await seller.get("/balance"))
    button = shown.by_id("payout-submit")
    assert "disabled" in button.attrs
    assert button.attrs["aria-describedby"] == "payout-none"
    assert "Nothing is available to pay out yet." in shown.text
    assert figures(shown)["balance-pending"] == "$38.00"


async def test_each_seller_sees_only_their_own_balance(system, events, seller, buyer):
    await available(system, events, seller, "80")
    await balance_is(seller, available=76)
    assert figures(page(await buyer.get("/balance")))["balance-available"] == "$0.00"
    assert figures(page(await seller.get("/balance")))["balance-available"] == "$76.00"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/balance"), ("POST", "/balance/payout"), ("POST", "/balance/account")],
)
async def test_a_signed_out_visitor_is_sent_to_sign_in(system, visitor, method, path):
    if method == "GET":
        response = await visitor.get(path, follow_redirects=False)
    else:
        response = await visitor.post(path, {"accountId": "acct_1"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fbalance"
    assert "Balance" not in page(await visitor.get("/")).links()
    assert sandbox(system).transfers == {} and await payout_accounts(system) == 0


async def test_a_signed_out_sessions_old_cookie_pays_nothing_out(system, events, seller):
    """Signed out everywhere, the cookie a thief kept is a stranger's."""
    await with_account(system, events, seller, available_from="50")
    await balance_is(seller, available=47.5)
    kept = seller.http.cookies["session"]
    await seller.post("/auth/signout")
    seller.http.cookies.set("session", kept)
    response = await seller.get("/balance", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fbalance"
    pressed = await seller.post("/balance/payout", follow_redirects=False)
    assert pressed.status_code == 303
    assert sandbox(system).transfers == {}


async def test_saving_a_payout_account_says_so(system, seller):
    response = await seller.post("/balance/account", {"accountId": "acct_1Seller"})
    assert response.url.path == "/balance"
    assert "Your payout account is saved." in page(response).text
    assert await account_of(system, seller) == "acct_1Seller"


NOT_AN_ACCOUNT = "Account id must look like acct_ followed by letters or digits"  # the API's


@pytest.mark.parametrize(
    "typed", ["", "   ", "bank 1234", "acct_" + "x" * 20_000, "acct_1\x00<script>"]
)
async def test_a_bad_account_id_is_refused_on_its_field(system, seller, typed):
    response = await seller.post("/balance/account", {"accountId": typed})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("payout-account") == NOT_AN_ACCOUNT
    assert shown.value_of("payout-account") == typed  # what was typed stays, escaped
    assert "<script>" not in response.text
    assert await payout_accounts(system) == 0


async def test_paying_out_shows_the_payout_and_moves_the_money(system, events, seller):
    await sale(system, events, seller, "10")
    await with_account(system, events, seller, available_from="50")
    await balance_is(seller, pending=9.5, available=47.5)
    response = await seller.post("/balance/payout")
    assert response.status_code == 200
    shown = page(response)
    result = " ".join(shown.by_id("payout-result").text.split())
    found = re.fullmatch(r"Paid out \$47\.50 \(payout ([0-9a-f-]{36}), sent\)\.", result)
    assert found, result
    payout = await payout_of(system, found.group(1))
    assert (payout.amount_cents, payout.account_id, payout.status) == (4750, "acct_1Seller", "sent")
    (transfer,) = sandbox(system).transfers.values()
    assert (transfer.id, transfer.amount_cents, transfer.destination) == (
        payout.provider_id,
        4750,
        "acct_1Seller",
    )
    assert figures(shown) == {
        "balance-pending": "$9.50",
        "balance-available": "$0.00",
        "balance-paid-out": "$47.50",
    }
    assert "disabled" in shown.by_id("payout-submit").attrs


@pytest.mark.parametrize(
    ("account", "says"),
    [(None, "Add a payout account first"), ("acct_1Seller", "Nothing to pay out")],
)
async def test_a_refused_payout_shows_the_apis_reason(system, events, seller, account, says):
    if account is not None:
        await payout_account(seller, account)
    await sale(system, events, seller, "30")  # pending only: nothing available
    await balance_is(seller, pending=28.5)
    response = await seller.post("/balance/payout")  # an old page's button, say
    assert response.status_code == 400
    shown = page(response)
    assert " ".join(shown.by_id("payout-result").text.split()) == says
    assert shown.by_id("payout-result").attrs["role"] == "alert"
    assert sandbox(system).transfers == {}


async def test_pressing_pay_out_twice_at_once_pays_once(system, events, seller):
    await with_account(system, events, seller, available_from="20")
    await balance_is(seller, available=19)
    await seller.form_token()
    answers = await asyncio.gather(*(seller.post("/balance/payout") for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 4
    assert len(sandbox(system).transfers) == 1
    shown = page(await seller.get("/balance"))
    assert figures(shown)["balance-paid-out"] == "$19.00"


async def test_a_balance_form_without_this_browsers_token_changes_nothing(system, events, seller):
    await with_account(system, events, seller, available_from="20")
    await balance_is(seller, available=19)
    for path, form in (("/balance/payout", {}), ("/balance/account", {"accountId": "acct_2"})):
        assert (await seller.post(path, form, token=False)).status_code == 403
        assert (await seller.post(path, form | {FIELD: "forged"})).status_code == 403
    assert sandbox(system).transfers == {}
    assert await account_of(system, seller) == "acct_1Seller"
    await balance_is(seller, available=19)


async def test_every_balance_form_carries_this_browsers_token(seller):
    token = await seller.form_token()
    shown = page(await seller.get("/balance"))
    posts = [form for form in shown.forms() if form.get("method") == "post"]
    tokens = [e.attrs.get("value") for e in shown.elements if e.attrs.get("name") == FIELD]
    assert len(posts) == 3  # Pay out, Save payout account, Sign out
    assert tokens == [token] * 3
    assert shown.inline_scripts() == []


async def test_a_payouts_api_that_is_down_is_the_unavailable_page_not_a_500():
    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/payouts"):
            return httpx.Response(503, json={"errors": [{"message": "Try again shortly"}]})
        return httpx.Response(200, json={"currentUser": {"id": str(uuid4()), "email": "a@b.io"}})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        response = await client.get("/balance")
        assert response.status_code == 503
        assert "Try again shortly" in page(response).text
        form = {FIELD: await form_token(client, "/auth/signin")}
        assert (await client.post("/balance/payout", data=form)).status_code == 503
