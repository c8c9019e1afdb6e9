"""The Balance page: a seller's pending, available and paid-out money, where payouts go,
and the Pay out button. Against real auth (sessions, CSRF) and the payouts API's
stand-in (money_stub.py)."""

import asyncio
from uuid import UUID, uuid4

import httpx
import pytest

from tests.support import running
from tests.web.conftest import CSRF_KEY
from tests.web.money_stub import PayoutsStub
from tests.web.test_pass_pages import user_id
from tests.web.visitor import Html, Visitor, form_token, page
from ticketing.web.app import create_app
from ticketing.web.csrf import FIELD
from ticketing.web.settings import WebSettings


def figures(shown: Html) -> dict[str, str]:
    ids = ("balance-pending", "balance-available", "balance-paid-out")
    return {name: " ".join(shown.by_id(name).text.split()) for name in ids}


async def with_account(seller: Visitor, payouts: PayoutsStub, **money: str) -> None:
    ledger = payouts.credit(await user_id(seller), **money)
    ledger.account_id = "acct_1Seller"


async def test_the_balance_shows_pending_available_and_paid_out_in_its_currency(
    seller: Visitor, payouts: PayoutsStub
):
    payouts.credit(await user_id(seller), pending="47.5", available="19", paid_out="1234.05")
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


async def test_a_currency_without_a_sign_is_named_after_each_figure(seller: Visitor):
    stub = PayoutsStub(currency="chf")
    seller.system.transport.add("/api/payouts", stub.app)
    stub.credit(await user_id(seller), available="5")
    shown = page(await seller.get("/balance"))
    assert figures(shown)["balance-available"] == "5.00 CHF"


async def test_nothing_available_disables_pay_out_and_says_why(seller, payouts):
    payouts.credit(await user_id(seller), pending="30")
    shown = page(await seller.get("/balance"))
    button = shown.by_id("payout-submit")
    assert "disabled" in button.attrs
    assert button.attrs["aria-describedby"] == "payout-none"
    assert "Nothing is available to pay out yet." in shown.text
    assert figures(shown)["balance-pending"] == "$30.00"


async def test_each_seller_sees_only_their_own_balance(seller, buyer, payouts):
    payouts.credit(await user_id(seller), available="80")
    assert figures(page(await buyer.get("/balance")))["balance-available"] == "$0.00"
    assert figures(page(await seller.get("/balance")))["balance-available"] == "$80.00"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/balance"), ("POST", "/balance/payout"), ("POST", "/balance/account")],
)
async def test_a_signed_out_visitor_is_sent_to_sign_in(visitor, payouts, method, path):
    if method == "GET":
        response = await visitor.get(path, follow_redirects=False)
    else:
        response = await visitor.post(path, {"accountId": "acct_1"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fbalance"
    assert "Balance" not in page(await visitor.get("/")).links()
    assert payouts.transfers == [] and payouts.ledgers == {}


async def test_a_signed_out_sessions_old_cookie_pays_nothing_out(seller, payouts):
    """Signed out everywhere, the cookie a thief kept is a stranger's."""
    await with_account(seller, payouts, available="50")
    kept = seller.http.cookies["session"]
    await seller.post("/auth/signout")
    seller.http.cookies.set("session", kept)
    response = await seller.get("/balance", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fbalance"
    pressed = await seller.post("/balance/payout", follow_redirects=False)
    assert pressed.status_code == 303
    assert payouts.transfers == []


async def test_saving_a_payout_account_says_so(seller, payouts):
    response = await seller.post("/balance/account", {"accountId": "acct_1Seller"})
    assert response.url.path == "/balance"
    assert "Your payout account is saved." in page(response).text
    assert payouts.ledgers[UUID(await user_id(seller))].account_id == "acct_1Seller"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Account id is required"),
        ("   ", "Account id is required"),
        ("bank 1234", "Account id must look like acct_…"),
        ("acct_" + "x" * 20_000, "Account id must look like acct_…"),
        ("acct_1\x00<script>", "Account id must look like acct_…"),
    ],
)
async def test_a_bad_account_id_is_refused_on_its_field(seller, payouts, typed, says):
    response = await seller.post("/balance/account", {"accountId": typed})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("payout-account") == says
    assert shown.value_of("payout-account") == typed  # what was typed stays, escaped
    assert "<script>" not in response.text
    assert all(ledger.account_id is None for ledger in payouts.ledgers.values())


async def test_paying_out_shows_the_payout_and_moves_the_money(seller, payouts):
    await with_account(seller, payouts, pending="10", available="42.5")
    response = await seller.post("/balance/payout")
    assert response.status_code == 200
    shown = page(response)
    (transfer,) = payouts.transfers
    result = " ".join(shown.by_id("payout-result").text.split())
    assert result == f"Paid out $42.50 (payout {transfer['id']}, paid)."
    assert figures(shown) == {
        "balance-pending": "$10.00",
        "balance-available": "$0.00",
        "balance-paid-out": "$42.50",
    }
    assert "disabled" in shown.by_id("payout-submit").attrs


@pytest.mark.parametrize(
    ("account", "says"),
    [(None, "Add a payout account first"), ("acct_1Seller", "Nothing to pay out")],
)
async def test_a_refused_payout_shows_the_apis_reason(seller, payouts, account, says):
    payouts.credit(await user_id(seller), available="0").account_id = account
    response = await seller.post("/balance/payout")  # an old page's button, say
    assert response.status_code == 400
    shown = page(response)
    assert " ".join(shown.by_id("payout-result").text.split()) == says
    assert shown.by_id("payout-result").attrs["role"] == "alert"
    assert payouts.transfers == []


async def test_pressing_pay_out_twice_at_once_pays_once(seller, payouts):
    await with_account(seller, payouts, available="20")
    await seller.form_token()
    answers = await asyncio.gather(*(seller.post("/balance/payout") for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 4
    assert len(payouts.transfers) == 1
    shown = page(await seller.get("/balance"))
    assert figures(shown)["balance-paid-out"] == "$20.00"


async def test_a_balance_form_without_this_browsers_token_changes_nothing(seller, payouts):
    await with_account(seller, payouts, available="20")
    for path, form in (("/balance/payout", {}), ("/balance/account", {"accountId": "acct_2"})):
        assert (await seller.post(path, form, token=False)).status_code == 403
        assert (await seller.post(path, form | {FIELD: "forged"})).status_code == 403
    assert payouts.transfers == []
    assert payouts.ledgers[UUID(await user_id(seller))].account_id == "acct_1Seller"


async def test_every_balance_form_carries_this_browsers_token(seller, payouts):
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
