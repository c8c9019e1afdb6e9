"""Buying pages: purchase, the order page with its countdown and payment form, my orders."""

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from tests.support import eventually, running
from tests.web.conftest import CSRF_KEY
from tests.web.visitor import Visitor, form_token, page
from ticketing.web.app import create_app
from ticketing.web.csrf import FIELD
from ticketing.web.routes.orders import JUST_ORDERED
from ticketing.web.routes.tickets import JUST_LISTED
from ticketing.web.settings import WebSettings

BUYING = ("auth", "tickets", "orders")
PAYING = (*BUYING, "payments")


async def purchase(buyer: Visitor, ticket_id: str) -> str:
    """Press Purchase; orders learns of a new listing by event, so the first press may be early."""

    async def press() -> str | None:
        response = await buyer.post(f"/tickets/{ticket_id}")
        match = re.fullmatch(r"/orders/([0-9a-f-]{36})", response.url.path)
        return match.group(1) if match else None

    return await eventually(press, timeout=10, interval=0.2)


async def pay(buyer: Visitor, order_id: str, token: str):
    """Press Pay; payments learns of a new order by event, so the first press may be early."""

    async def press():
        response = await buyer.post(f"/orders/{order_id}", {"token": token})
        assert JUST_ORDERED not in response.text
        return response

    return await eventually(press, timeout=10, interval=0.2)


async def status_of(visitor: Visitor, order_id: str) -> dict:
    response = await visitor.get(f"/orders/{order_id}/status.json")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.services(*BUYING)
async def test_purchase_leads_to_the_order_page_with_a_countdown_and_a_payment_form(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    shown = page(await buyer.get(f"/orders/{order_id}"))
    assert "Order: Hamilton" in shown.text and "$25.00" in shown.text
    assert "Awaiting payment" in shown.text
    assert re.search(r"Time left to pay: 1[45]:\d\d", shown.text)
    assert shown.label_of("token") == "Card token (sandbox)"
    assert shown.value_of("token") == "tok_visa"
    assert "Pay $25.00" in shown.buttons()
    assert "Cancel order" in shown.buttons()
    assert 'src="/static/order.js"' in shown.source
    assert shown.inline_scripts() == []
    assert "js.stripe.com" not in shown.source


@pytest.mark.services(*BUYING, stripe_publishable_key="pk_test_web")
async def test_with_a_stripe_key_the_card_is_entered_with_stripe_js(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    response = await buyer.get(f"/orders/{order_id}")
    shown = page(response)
    assert shown.label_of("card-element") == "Card details"
    assert shown.by_id("token") is None  # no sandbox field: the token comes from Stripe.js
    assert 'data-stripe-key="pk_test_web"' in shown.source
    assert 'src="https://js.stripe.com/v3/"' in shown.source
    assert "https://js.stripe.com" in response.headers["content-security-policy"]
    assert shown.inline_scripts() == []


@pytest.mark.services(*BUYING)
async def test_the_status_endpoint_tells_the_page_how_the_order_stands(seller, buyer, system):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    state = await status_of(buyer, order_id)
    assert state["status"] == "created"
    assert state["label"] == "Awaiting payment"
    assert state["open"] is True
    assert 800 < state["secondsLeft"] <= 900
    async with Visitor(system) as stranger:
        assert (await stranger.get(f"/orders/{order_id}/status.json")).status_code == 401
        await stranger.sign_up()
        assert (await stranger.get(f"/orders/{order_id}/status.json")).status_code == 401


@pytest.mark.services(*BUYING)
async def test_a_reserved_ticket_says_so_and_a_late_buyer_is_told(seller, buyer, system):
    ticket_id = await seller.list_ticket("Hamilton")
    await purchase(buyer, ticket_id)
    async with Visitor(system) as late:
        await late.sign_up()

        async def says_reserved() -> bool:
            shown = page(await late.get(f"/tickets/{ticket_id}"))
            return "This ticket is reserved" in shown.text and "Purchase" not in shown.buttons()

        await eventually(says_reserved, timeout=10)
        stale = await late.post(f"/tickets/{ticket_id}")  # the Purchase button of an old page
    assert stale.status_code == 400
    assert "Ticket is already reserved" in page(stale).text


@pytest.mark.services(*BUYING)
async def test_buying_your_own_ticket_is_refused_on_its_page(seller):
    ticket_id = await seller.list_ticket("Hamilton")

    async def refused_as_own() -> str:
        response = await seller.post(f"/tickets/{ticket_id}")
        assert response.status_code == 400
        assert "You cannot order your own ticket" in page(response).text
        return page(response).text

    assert "Hamilton" in await eventually(refused_as_own, timeout=10)


@pytest.mark.services(*BUYING)
async def test_my_orders_lists_each_order_with_its_status(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    shown = page(await buyer.get("/orders"))
    assert shown.links()["Hamilton"] == f"/orders/{order_id}"
    assert "Awaiting payment" in shown.text and "$25.00" in shown.text
    assert "Hamilton" not in page(await seller.get("/orders")).links()


@pytest.mark.services(*BUYING)
async def test_cancelling_an_order_says_cancelled(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    response = await buyer.post(f"/orders/{order_id}/cancel")
    shown = page(response)
    assert response.url.path == f"/orders/{order_id}"
    assert "Your order is cancelled." in shown.text
    assert "Cancelled" in shown.text
    assert "Pay" not in " ".join(shown.buttons())
    assert (await status_of(buyer, order_id))["open"] is False


@pytest.mark.services(*BUYING)
async def test_someone_elses_order_is_a_404_page(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    response = await seller.get(f"/orders/{order_id}")
    assert response.status_code == 404
    assert "Page not found" in page(response).text


@pytest.mark.services(*PAYING)
async def test_paying_with_the_sandbox_card_says_paid_and_the_seller_sees_it_sold(seller, buyer):
    ticket_id = await seller.list_ticket("Hamilton", "25")
    order_id = await purchase(buyer, ticket_id)
    response = await pay(buyer, order_id, "tok_visa")
    assert response.history[0].status_code == 303
    shown = page(response)
    assert "Payment received." in shown.text
    assert "Pay $25.00" not in shown.buttons()  # no second payment while it is confirmed
    await eventually(lambda: _status_is(buyer, order_id, "complete"), timeout=10)
    paid = page(await buyer.get(f"/orders/{order_id}"))
    assert "Paid" in paid.text
    assert "Time left to pay" not in paid.text

    async def sold() -> bool:
        return "Sold" in page(await seller.get("/tickets/mine")).text

    await eventually(sold, timeout=10)


async def _status_is(visitor: Visitor, order_id: str, status: str) -> bool:
    return (await status_of(visitor, order_id))["status"] == status


async def test_paying_before_payments_has_heard_of_the_order_asks_to_try_again():
    """Payments learns of an order by event; a Pay pressed in between says so, not 404."""
    order_id = uuid4()

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/payments":
            return httpx.Response(404, json={"errors": [{"message": "Order not found"}]})
        if request.url.path == f"/api/orders/{order_id}":
            return httpx.Response(200, json=_an_order(order_id))
        return httpx.Response(200, json={"currentUser": {"id": str(uuid4()), "email": "a@b.io"}})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        form = {"token": "tok_visa", FIELD: await form_token(client, f"/orders/{order_id}")}
        response = await client.post(f"/orders/{order_id}", data=form)
    assert response.status_code == 400
    assert page(response).field_error("token") == JUST_ORDERED


async def test_purchasing_before_orders_has_heard_of_the_ticket_asks_to_try_again():
    """Orders learns of a listing by event; a Purchase pressed in between says so, not 404."""
    ticket_id = uuid4()
    ticket = {"id": str(ticket_id), "title": "Hamilton", "price": 25, "userId": str(uuid4())}
    ticket |= {"version": 0, "orderId": None, "status": "available"}

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/orders":
            return httpx.Response(404, json={"errors": [{"message": "Ticket not found"}]})
        if request.url.path == f"/api/tickets/{ticket_id}":
            return httpx.Response(200, json=ticket)
        return httpx.Response(200, json={"currentUser": {"id": str(uuid4()), "email": "a@b.io"}})

    settings = WebSettings(api_base_url="http://ticketing", cookie_secure=False, csrf_key=CSRF_KEY)
    async with running(create_app(settings, transport=httpx.MockTransport(api))) as client:
        form = {FIELD: await form_token(client, f"/tickets/{ticket_id}")}
        response = await client.post(f"/tickets/{ticket_id}", data=form)
    assert response.status_code == 400
    shown = page(response)
    assert JUST_LISTED in shown.text
    assert "Purchase" in shown.buttons()


def _an_order(order_id) -> dict:
    expires = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    return {
        "id": str(order_id),
        "userId": str(uuid4()),
        "status": "created",
        "expiresAt": expires,
        "version": 0,
        "ticket": {"id": str(uuid4()), "title": "Hamilton", "price": 25},
    }


@pytest.mark.services(*PAYING)
async def test_a_declined_card_is_shown_next_to_the_card_field(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton", "25"))
    response = await pay(buyer, order_id, "tok_chargeDeclined")
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("token") == "Your card was declined."
    assert shown.value_of("token") == "tok_chargeDeclined"
    assert "Pay $25.00" in shown.buttons()
    empty = page(await buyer.post(f"/orders/{order_id}", {"token": ""}))
    assert empty.field_error("token") == "Token is required"


@pytest.mark.services("auth", "tickets", "orders", "expiration", expiration_window_seconds=1)
async def test_an_unpaid_order_expires_and_its_page_says_so(seller, buyer):
    order_id = await purchase(buyer, await seller.list_ticket("Hamilton"))
    await eventually(lambda: _status_is(buyer, order_id, "cancelled"), timeout=15)
    state = await status_of(buyer, order_id)
    assert state["label"] == "Expired" and "expired" in state["message"]
    shown = page(await buyer.get(f"/orders/{order_id}"))
    assert "This order expired" in shown.text
    assert "Pay" not in " ".join(shown.buttons())
