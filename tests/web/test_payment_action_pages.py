"""3-D Secure on the order page: when the card's bank asks the buyer to confirm (payments
answers 202 requires_action), Stripe.js opens the bank's challenge on the page, or, with
the sandbox, the browser goes to the sandbox's confirm page and comes back. Real auth,
tickets, orders and payments, with the sandbox as the card processor: its webhook, not the
page, completes the order."""

from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest

from tests.support import eventually, running
from tests.web.arrange import WEBHOOKS, deliver_webhooks, sandbox
from tests.web.conftest import CSRF_KEY
from tests.web.test_order_pages import PAYING, _an_order, purchase, status_of
from tests.web.visitor import Visitor, form_token, page
from ticketing.web.app import create_app
from ticketing.web.csrf import FIELD
from ticketing.web.settings import WebSettings

BANK_ASKS = "Your bank asks you to confirm this payment."
THREE_D_SECURE = "tok_threeDSecure2Required"  # the sandbox's card whose bank asks

pytestmark = pytest.mark.services(*PAYING, **WEBHOOKS)


def _policy(response: httpx.Response) -> str:
    return response.headers["content-security-policy"]


async def press_pay(buyer: Visitor, order_id: str, answered: int) -> httpx.Response:
    """Pay with the card whose bank asks; payments learns of a new order by event, so the
    first press may come before it knows the order."""

    async def press() -> httpx.Response | None:
        response = await buyer.post(
            f"/orders/{order_id}", {"token": THREE_D_SECURE}, follow_redirects=False
        )
        return response if response.status_code == answered else None

    return await eventually(press, timeout=10, interval=0.2)


async def test_without_a_key_the_browser_goes_to_the_sandboxs_confirm_page_and_back(
    system, seller, buyer
):
    deliver_webhooks(system)
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    response = await press_pay(buyer, order_id, 303)
    location = urlsplit(response.headers["location"])
    (intent,) = sandbox(system).intents
    assert location.path == f"/api/payments/sandbox/{intent}"
    assert parse_qs(location.query) == {"return": [f"/orders/{order_id}"]}
    assert location.query == f"return=/orders/{order_id}"
    confirm = await buyer.get(response.headers["location"])  # payments' sandbox page
    assert "Complete authentication" in confirm.text

    back = await buyer.get(f"/orders/{order_id}")  # where the sandbox sends the browser
    shown = page(back)
    assert BANK_ASKS in shown.text
    assert "Waiting for confirmation" in shown.text
    assert "Pay $25.00" not in shown.buttons()  # no second payment while the bank decides
    assert "js.stripe.com" not in back.text and "js.stripe.com" not in _policy(back)
    state = await status_of(buyer, order_id)  # the webhook, not the page, completes it
    assert state["status"] == "created" and state["open"] is True
    again = page(await buyer.get(f"/orders/{order_id}"))  # the note was for one visit
    assert BANK_ASKS not in again.text and "Pay $25.00" in again.buttons()

    done = await buyer.http.post(
        location.path, params={"return": f"/orders/{order_id}"}, data={"action": "complete"}
    )  # the buyer authenticates at the sandbox, which sends them back to the order
    assert done.url.path == f"/orders/{order_id}"

    async def complete() -> bool:
        return (await status_of(buyer, order_id))["status"] == "complete"

    await eventually(complete, timeout=10)


@pytest.mark.services(*PAYING, **WEBHOOKS, stripe_publishable_key="pk_test_web")
async def test_with_a_key_stripe_js_opens_the_banks_challenge_on_the_order_page(
    system, seller, buyer
):
    """Stripe.js itself cannot run here: what the page gives it is checked instead."""
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    response = await press_pay(buyer, order_id, 200)
    shown = page(response)
    assert BANK_ASKS in shown.text
    assert shown.by_id("payment-action-status").text.startswith("Authenticating…")
    action = shown.by_id("payment-action")
    (intent,) = sandbox(system).intents.values()
    assert action.attrs["data-client-secret"] == intent.client_secret  # payments' own
    assert action.attrs["data-stripe-key"] == "pk_test_web"
    assert 'src="https://js.stripe.com/v3/"' in shown.source
    assert 'src="/static/stripe-action.js"' in shown.source
    assert 'src="/static/order.js"' in shown.source  # its polling shows Paid when it lands
    assert "/static/stripe-pay.js" not in shown.source
    assert "Pay $25.00" not in shown.buttons()
    assert shown.inline_scripts() == []
    assert "https://js.stripe.com" in _policy(response)
    assert response.headers["cache-control"] == "no-store"
    script = await buyer.get("/static/stripe-action.js")
    assert "handleNextAction" in script.text and "clientSecret" in script.text


async def test_a_signed_out_visitor_pressing_pay_is_sent_to_sign_in(system, seller, buyer, visitor):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    response = await visitor.post(
        f"/orders/{order_id}", {"token": THREE_D_SECURE}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/signin?next=")
    assert sandbox(system).intents == {}


@pytest.mark.services(*PAYING, **WEBHOOKS, stripe_publishable_key="pk_test_web")
async def test_someone_elses_order_shows_no_client_secret(system, seller, buyer):
    """Payments decides who may pay; the page still shows nothing of an order not yours."""
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    response = await seller.post(f"/orders/{order_id}", {"token": THREE_D_SECURE})
    assert response.status_code == 404
    assert "_secret_" not in response.text
    assert sandbox(system).intents == {}


@pytest.mark.parametrize(
    "secret",
    ["", "pi_123", "_secret_abc", "pi_123_secret_", "../../admin_secret_x", "pi_1?x=2_secret_y"],
)
async def test_an_unusable_client_secret_is_the_unavailable_page_not_a_500(secret):
    order_id = uuid4()

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/payments":
            body = {"status": "requires_action", "clientSecret": secret}
            return httpx.Response(202, json=body)
        if request.url.path == f"/api/orders/{order_id}":
            return httpx.Response(200, json=_an_order(order_id))
        return httpx.Response(200, json={"currentUser": {"id": str(uuid4()), "email": "a@b.io"}})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        form = {"token": THREE_D_SECURE, FIELD: await form_token(client, f"/orders/{order_id}")}
        response = await client.post(f"/orders/{order_id}", data=form)
    assert response.status_code == 503
    assert "location" not in response.headers


async def test_a_202_without_a_body_is_the_unavailable_page_not_a_500():
    order_id = uuid4()

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/payments":
            return httpx.Response(202, text="accepted")
        return httpx.Response(200, json={"currentUser": {"id": str(uuid4()), "email": "a@b.io"}})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        form = {"token": THREE_D_SECURE, FIELD: await form_token(client, "/auth/signin")}
        response = await client.post(f"/orders/{order_id}", data=form)
    assert response.status_code == 503


def test_a_blank_publishable_key_is_no_key():
    """Compose passes STRIPE_PUBLISHABLE_KEY= when none is set: the sandbox's pages, then."""
    settings = WebSettings(
        api_base_url="http://ticketing", csrf_key=CSRF_KEY, stripe_publishable_key="  "
    )
    assert settings.stripe_publishable_key is None
