"""Payments' HTTP API: /api/payments, and the sellers' /api/payouts."""

from fastapi import APIRouter, Request

from ticketing.common.auth import RequireUser
from ticketing.common.db import AutocommitDb, Db, Engine
from ticketing.common.errors import AppError
from ticketing.common.openapi import error_responses
from ticketing.common.refusals import Invalid
from ticketing.payments import charging, domain, service
from ticketing.payments.providers import PaymentRejected, ProviderUnavailable, TransferRejected
from ticketing.payments.schemas import (
    BalanceOut,
    PaymentCreate,
    PaymentOut,
    PayoutAccountIn,
    PayoutAccountOut,
    PayoutOut,
)

router = APIRouter()
payouts = APIRouter()  # mounted at /api/payouts


class ProcessorUnavailable(AppError):
    status_code = 503
    message = "The payment processor did not answer; your payment will be retried shortly"


@router.post("", status_code=201, responses=error_responses(401, 404))
async def create_payment(
    body: PaymentCreate, user: RequireUser, engine: Engine, request: Request
) -> PaymentOut:
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
