"""Payments' HTTP API: /api/payments."""

from fastapi import APIRouter, Request

from ticketing.common.auth import RequireUser
from ticketing.common.db import Engine
from ticketing.common.errors import AppError
from ticketing.common.openapi import error_responses
from ticketing.common.refusals import Invalid
from ticketing.payments import charging, domain
from ticketing.payments.providers import PaymentRejected, ProviderUnavailable
from ticketing.payments.schemas import PaymentCreate, PaymentOut

router = APIRouter()


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
