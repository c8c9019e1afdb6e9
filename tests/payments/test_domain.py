"""Pure rules: who may pay, the keys, and which processor the settings choose. No I/O."""

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tests.support import KEYS
from ticketing.common.refusals import Invalid, Missing, NotYours
from ticketing.payments import domain
from ticketing.payments.domain import AttemptStatus, Order, OrderStatus, Payment
from ticketing.payments.settings import PaymentsSettings

BASE = {"database_url": "postgresql://x@localhost/db", "nats_url": "nats://x", **KEYS}


def an_order(status: str = "created") -> Order:
    return Order(uuid4(), user_id=uuid4(), price_cents=2050, status=OrderStatus(status), version=0)


def test_the_buyer_may_pay_for_an_open_order():
    order = an_order(status="awaiting:payment")
    assert domain.check_payable(order, order.user_id) == order


@pytest.mark.parametrize(
    ("status", "message"),
    [("cancelled", "Cannot pay for a cancelled order"), ("complete", "Order already paid")],
)
def test_a_closed_order_cannot_be_paid(status, message):
    order = an_order(status=status)
    with pytest.raises(Invalid, match=message):
        domain.check_payable(order, order.user_id)


def test_an_unknown_order_is_not_found():
    with pytest.raises(Missing):
        domain.check_payable(None, uuid4())


def test_only_the_buyer_may_pay():
    with pytest.raises(NotYours):
        domain.check_payable(an_order(), uuid4())


def test_a_refused_claim_says_why():
    assert domain.claim_refused(AttemptStatus.SUCCEEDED).message == "Order already paid"
    assert "in progress" in domain.claim_refused(AttemptStatus.IN_FLIGHT).message
    assert "in progress" in domain.claim_refused(None).message  # released meanwhile


def test_each_attempt_has_its_own_charge_key_and_its_refund_a_key_of_its_own():
    one, two = uuid4(), uuid4()
    assert domain.charge_key(one) == f"attempt-{one}"
    assert domain.charge_key(one) != domain.charge_key(two)
    assert domain.refund_key(one) == f"refund-{one}"


def test_the_replica_takes_the_events_status_and_version_as_a_new_value():
    order = an_order()
    followed = domain.follow(order, 1, OrderStatus.CANCELLED)
    assert followed == replace(order, status=OrderStatus.CANCELLED, version=1)
    assert (order.status, order.version) == (OrderStatus.CREATED, 0)


def test_a_charge_landing_on_a_cancelled_order_is_to_be_refunded():
    assert domain.refund_reason_on_settling(an_order("cancelled")) == domain.EXPIRED_WHILE_PAYING
    assert domain.refund_reason_on_settling(an_order("awaiting:payment")) is None


def test_a_refund_is_due_from_its_request_until_the_processor_confirms_it():
    now = datetime.now(UTC)
    paid = Payment(uuid4(), uuid4(), uuid4(), "pi_1", 2050, "usd", None, None, None)
    asked = replace(paid, refund_reason=domain.ORDER_CANCELLED, refund_requested_at=now)
    assert (paid.refund_due, asked.refund_due) == (False, True)
    assert not replace(asked, refunded_at=now).refund_due


def test_the_sandbox_is_the_default_without_a_stripe_key():
    assert PaymentsSettings(**BASE).payment_provider == "sandbox"
    assert PaymentsSettings(**BASE, stripe_secret_key="").payment_provider == "sandbox"


def test_a_stripe_key_chooses_stripe():
    assert PaymentsSettings(**BASE, stripe_secret_key="sk_test_1").payment_provider == "stripe"


def test_stripe_without_a_key_stops_start_up_by_name():
    with pytest.raises(ValidationError, match="STRIPE_SECRET_KEY"):
        PaymentsSettings(**BASE, payment_provider="stripe")


def test_the_currency_is_a_lower_case_iso_code():
    assert PaymentsSettings(**BASE, currency="EUR").currency == "eur"
    with pytest.raises(ValidationError, match="CURRENCY"):
        PaymentsSettings(**BASE, currency="euro")


def test_a_claim_awaiting_authentication_says_so():
    refused = domain.claim_refused(AttemptStatus.REQUIRES_ACTION)
    assert refused.message == "A payment for this order is waiting for your card's authentication"
    assert AttemptStatus.REQUIRES_ACTION in domain.CLAIMING


def test_only_the_buyer_authenticates_a_payment_awaiting_it():
    buyer = uuid4()
    domain.check_authenticating(buyer, buyer)
    with pytest.raises(NotYours):
        domain.check_authenticating(buyer, uuid4())
    with pytest.raises(Missing):
        domain.check_authenticating(None, buyer)


def test_a_blank_webhook_secret_is_unset():
    settings = PaymentsSettings(**BASE, stripe_webhook_secret=" ", sandbox_webhook_url="")
    assert (settings.stripe_webhook_secret, settings.sandbox_webhook_url) == (None, None)
    secret = PaymentsSettings(**BASE, stripe_webhook_secret="whsec_1").stripe_webhook_secret
    assert secret is not None and secret.get_secret_value() == "whsec_1"
