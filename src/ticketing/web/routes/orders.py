"""Buying: my orders, one order with its countdown and payment form, and its live status."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from ticketing.web import views
from ticketing.web.api_client import Api, ApiError, ApiUnavailable, Order, PaymentAction
from ticketing.web.pages import Page, PageDep
from ticketing.web.routes.ids import parse_id

router = APIRouter(prefix="/orders")

SANDBOX_TOKENS = ("tok_visa", "tok_mastercard", "tok_chargeDeclined")
JUST_ORDERED = (
    "This order was placed moments ago and cannot be paid yet; try again in a few seconds."
)


@router.get("")
async def my_orders(page: PageDep, cursor: str = "") -> Response:
    page.require_user()
    limit = page.request.app.state.settings.page_size
    found = await page.api.orders(limit=limit, cursor=cursor)
    now = datetime.now(UTC)
    rows = [(order, views.order_state(order, now)) for order in found.items]
    return page.render(
        "orders/index.html", rows=rows, next_cursor=found.next_cursor, first_page=not cursor
    )


def _show(
    page: Page,
    order: Order,
    *,
    error: ApiError | None = None,
    token: str = "",
    client_secret: str | None = None,
) -> Response:
    """`client_secret`: the bank asks for 3-D Secure, which Stripe.js opens on this page."""
    state = views.order_state(order, datetime.now(UTC))
    flash = page.flash.key if page.flash else None
    response = page.render(
        "orders/show.html",
        status_code=400 if error else 200,
        order=order,
        state=state,
        confirming=flash == "payment_sent" and state.open,
        authenticating=flash == "payment_authenticating" and state.open,
        client_secret=client_secret if state.open else None,
        pay_error="; ".join(item["message"] for item in error.items) if error else None,
        token=token or SANDBOX_TOKENS[0],
        sandbox_tokens=SANDBOX_TOKENS,
    )
    if client_secret:
        response.headers["cache-control"] = "no-store"  # the secret stays out of caches
    return response


@router.get("/{order_id}")
async def show_order(page: PageDep, order_id: str) -> Response:
    page.require_user()
    return _show(page, await page.api.order(parse_id(order_id)))


@router.post("/{order_id}")
async def pay(page: PageDep, order_id: str, token: Annotated[str, Form()] = "") -> Response:
    """The Pay button: charge the card token for this order."""
    order_uuid = parse_id(order_id)
    page.require_user()
    try:
        action = await page.api.pay(order_uuid, token)
    except ApiError as error:
        if error.status not in (400, 404):
            raise
        order = await page.api.order(order_uuid)  # gone for orders too: the 404 page
        if error.status == 404:  # payments has not heard of the order yet (it learns by event)
            error = ApiError(400, [{"message": JUST_ORDERED}])
        return _show(page, order, error=error, token=token)
    if action is not None:
        return await _authenticate(page, order_uuid, action)
    return page.redirect(f"/orders/{order_uuid}", flash="payment_sent")


async def _authenticate(page: Page, order_uuid: UUID, action: PaymentAction) -> Response:
    """3-D Secure: the order stays open while the bank asks the buyer, and the webhook that
    follows the bank's answer completes it (the page's polling shows it). With a publishable
    key, Stripe.js opens the bank's challenge here; without one, the sandbox's confirm page
    stands in for the bank and sends the browser back to the order."""
    intent = views.intent_of(action.client_secret)
    if intent is None:
        raise ApiUnavailable("POST /api/payments: a 202 without a usable clientSecret")
    if not page.request.app.state.settings.stripe_publishable_key:
        confirm = f"/api/payments/sandbox/{intent}?return=/orders/{order_uuid}"
        return page.redirect(confirm, flash="payment_authenticating")
    order = await page.api.order(order_uuid)
    return _show(page, order, client_secret=action.client_secret)


@router.post("/{order_id}/cancel")
async def cancel(page: PageDep, order_id: str) -> Response:
    order_uuid = parse_id(order_id)
    page.require_user(next_path=f"/orders/{order_uuid}")
    await page.api.cancel_order(order_uuid)
    return page.redirect(f"/orders/{order_uuid}", flash="order_cancelled")


@router.get("/{order_id}/status.json")
async def order_status(request: Request, order_id: str) -> JSONResponse:
    """What the order page's script polls, so paid or expired shows without a reload.
    One API call a second per open page: no header, so no question of who is signed in."""
    try:
        order = await Api(request.app.state.http, request).order(parse_id(order_id))
    except ApiError as error:
        return JSONResponse({"errors": error.items}, status_code=error.status)
    except ApiUnavailable:
        return JSONResponse({"errors": [{"message": "Unavailable"}]}, status_code=503)
    state = views.order_state(order, datetime.now(UTC))
    return JSONResponse(state.as_json(), headers={"cache-control": "no-store"})
