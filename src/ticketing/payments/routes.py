"""Payments' HTTP API: /api/payments, and the sellers' /api/payouts."""

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ticketing.common.auth import RequireUser
from ticketing.common.db import AutocommitDb, Db, Engine
from ticketing.common.errors import AppError, BadRequest, NotFound
from ticketing.common.openapi import error_responses
from ticketing.common.refusals import Invalid
from ticketing.payments import charging, domain, service
from ticketing.payments.providers import (
    NeedsAction,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
    SandboxProvider,
    TransferRejected,
)
from ticketing.payments.providers.sandbox import authentication_page
from ticketing.payments.schemas import (
    ActionRequiredOut,
    BalanceOut,
    PaymentCreate,
    PaymentOut,
    PayoutAccountIn,
    PayoutAccountOut,
    PayoutOut,
    StripeEventIn,
    WebhookOut,
)

log = logging.getLogger(__name__)
router = APIRouter()
payouts = APIRouter()  # mounted at /api/payouts


class ProcessorUnavailable(AppError):
    status_code = 503
    message = "The payment processor did not answer; your payment will be retried shortly"


@router.post(
    "",
    status_code=201,
    responses={
        202: {
            "model": ActionRequiredOut,
            "description": "The card asks its holder to authenticate (3-D Secure) with "
            "`clientSecret`; the order is paid when the processor confirms it",
        },
        **error_responses(401, 404),
    },
)
async def create_payment(
    body: PaymentCreate, user: RequireUser, engine: Engine, request: Request
) -> Any:
    """Pay for your order with a card token; submitting twice charges once."""
    state = request.app.state
    try:
        payment = await charging.pay(
            engine,
            state.provider,
            body.order_id,
            buyer=user.id,
            token=body.token,
            currency=state.settings.currency,
        )
    except PaymentRejected as rejected:
        raise Invalid(rejected.reason) from None
    except ProviderUnavailable:
        raise ProcessorUnavailable() from None
    if isinstance(payment, NeedsAction):
        action = ActionRequiredOut(client_secret=payment.client_secret)
        return JSONResponse(action.model_dump(by_alias=True), status_code=202)
    if payment.refund_requested_at is not None:
        raise Invalid(domain.refunded_message(payment.refunded_at is not None))
    return PaymentOut(id=payment.id)


# ledger ----------------------------------------------------------------------------------------


class TransfersUnavailable(AppError):
    status_code = 503
    message = "The payment processor did not answer; your payout will be retried shortly"


@payouts.get("/balance", responses=error_responses(401))
async def get_balance(user: RequireUser, db: AutocommitDb, request: Request) -> BalanceOut:
    """Your money from sales: pending, available to pay out, and paid out so far."""
    currency = request.app.state.settings.currency
    return BalanceOut.from_domain(await service.balance(db, user.id, currency))


@payouts.post("/account", responses=error_responses(401))
async def save_payout_account(body: PayoutAccountIn, user: RequireUser, db: Db) -> PayoutAccountOut:
    """Set the Stripe Connect account your payouts go to."""
    async with db.begin():
        await service.save_payout_account(db, user.id, body.account_id)
    return PayoutAccountOut(account_id=body.account_id)


@payouts.post("", status_code=201, responses=error_responses(400, 401))
async def create_payout(user: RequireUser, engine: Engine, request: Request) -> PayoutOut:
    """Pay out your whole available balance to your payout account; one at a time."""
    state = request.app.state
    try:
        payout = await charging.pay_out(
            engine, state.provider, user.id, currency=state.settings.currency
        )
    except TransferRejected as rejected:
        raise Invalid(rejected.reason) from None
    except ProviderUnavailable:
        raise TransfersUnavailable() from None
    return PayoutOut.from_domain(payout)


# webhooks


class WebhooksNotConfigured(AppError):
    """503, not 400: the sender is not at fault, and Stripe keeps re-sending an event that
    was not answered 2xx (for days), so nothing is lost once the secret is set."""

    status_code = 503
    message = "Webhooks are not accepted here yet: no webhook secret is configured"


@router.post("/webhook", responses=error_responses(400))
async def receive_webhook(request: Request, engine: Engine) -> WebhookOut:
    """Stripe's events about our payments (`Stripe-Signature` checked), each applied once.

    No session: Stripe calls it, and the signature is the proof of who is calling."""
    signature = request.headers.get("stripe-signature")
    if not signature:  # bad whatever our configuration: 400 before anything else
        raise BadRequest("Missing Stripe-Signature header")
    secret = request.app.state.settings.stripe_webhook_secret
    if secret is None:
        raise WebhooksNotConfigured()
    event = _verified(await request.body(), signature, secret.get_secret_value())
    try:
        await charging.follow_processor(engine, request.app.state.provider, event)
    except ProviderError as error:
        log.warning("stripe event %s not applied, Stripe will re-send it: %s", event.id, error)
        raise ProcessorUnavailable() from None
    return WebhookOut()


def _verified(payload: bytes, signature: str, secret: str) -> domain.ProcessorEvent:
    """The SDK checks the signature (HMAC of the timestamp and the exact bytes received,
    within 5 minutes against replays) and parses the event; only then is it read."""
    import stripe  # here, not at the top: a process that is never called back never loads it

    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError:
        raise BadRequest("Invalid Stripe-Signature") from None
    except (ValueError, TypeError, AttributeError):  # signed, yet not an event's JSON
        raise BadRequest("Not a Stripe event") from None
    try:
        return StripeEventIn.model_validate(event.to_dict()).processor_event()
    except ValueError:
        raise BadRequest("Not a Stripe event") from None


# The sandbox's 3-D Secure page, standing in for the bank's: served only by the sandbox.

IntentId = Annotated[str, Path(pattern=r"^pi_[A-Za-z0-9_]{1,100}$")]
# Where to go after: a path on this site. Never an absolute or scheme-relative address
# (`//host`, `/\host`, which browsers read as another site): no open redirect.
SAME_SITE_PATH = r"^/([A-Za-z0-9\-._~!$&'()*+,;=:@%?][A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*)?$"
ReturnTo = Annotated[str | None, Query(alias="return", max_length=2000, pattern=SAME_SITE_PATH)]


def _sandbox(request: Request) -> SandboxProvider:
    provider = request.app.state.provider
    if not isinstance(provider, SandboxProvider):
        raise NotFound()
    return provider


@router.get(
    "/sandbox/{intent_id}", response_class=HTMLResponse, responses=error_responses(401, 404)
)
async def sandbox_authentication_page(
    intent_id: IntentId,
    user: RequireUser,
    engine: Engine,
    request: Request,
    return_to: ReturnTo = None,
) -> HTMLResponse:
    """The sandbox's 3-D Secure page for your payment: complete or fail authentication."""
    sandbox = _sandbox(request)
    async with engine.connect() as db:
        await service.check_authenticating(db, intent_id, buyer=user.id)
    try:
        intent = sandbox.awaiting(intent_id)
    except ProviderError:
        raise NotFound("No payment awaiting authentication") from None
    return HTMLResponse(authentication_page(intent), headers=_PAGE_HEADERS)


@router.post(
    "/sandbox/{intent_id}",
    status_code=303,
    response_class=Response,
    responses=error_responses(401, 404),
)
async def sandbox_authenticate(
    intent_id: IntentId,
    action: Annotated[Literal["complete", "fail"], Form()],
    user: RequireUser,
    engine: Engine,
    request: Request,
    return_to: ReturnTo = None,
) -> Response:
    """Complete or fail the sandbox's 3-D Secure step; the processor tells payments by
    webhook, and you are sent back to `return` (a path on this site)."""
    sandbox = _sandbox(request)
    async with engine.connect() as db:
        await service.check_authenticating(db, intent_id, buyer=user.id)
    try:
        if action == "complete":
            sandbox.complete_action(intent_id)
        else:
            sandbox.fail_action(intent_id)
    except ProviderError:
        raise NotFound("No payment awaiting authentication") from None
    return RedirectResponse(return_to or "/", status_code=303)


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
