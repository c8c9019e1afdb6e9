"""Pure rules: who may pay, the keys, and which processor the settings choose. No I/O."""

from types import SimpleNamespace
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tests.support import KEYS
from ticketing.common.bus.versions import StaleEvent, VersionGap
from ticketing.common.errors import BadRequest, NotAuthorized, NotFound
from ticketing.payments import domain
from ticketing.payments.settings import PaymentsSettings

BASE = {"database_url": "postgresql://x@localhost/db", "nats_url": "nats://x", **KEYS}


def an_order(**overrides):
    return SimpleNamespace(**({"user_id": uuid4(), "status": "created", "version": 0} | overrides))


def test_the_buyer_may_pay_for_an_open_order():
    order = an_order(status="awaiting:payment")
    domain.check_payable(order, order.user_id)


@pytest.mark.parametrize(
    ("status", "message"),
    [("cancelled", "Cannot pay for a cancelled order"), ("complete", "Order already paid")],
)
def test_a_closed_order_cannot_be_paid(status, message):
    order = an_order(status=status)
    with pytest.raises(BadRequest, match=message):
        domain.check_payable(order, order.user_id)


def test_an_unknown_order_is_not_found():
    with pytest.raises(NotFound):
        domain.check_payable(None, uuid4())


def test_only_the_buyer_may_pay():
    with pytest.raises(NotAuthorized):
        domain.check_payable(an_order(), uuid4())


def test_a_refused_claim_says_why():
    assert domain.claim_refused("succeeded").message == "Order already paid"
    assert "in progress" in domain.claim_refused("in_flight").message


def test_each_attempt_has_its_own_charge_key_and_its_refund_a_key_of_its_own():
    one, two = uuid4(), uuid4()
    assert domain.charge_key(one) == f"attempt-{one}"
    assert domain.charge_key(one) != domain.charge_key(two)
    assert domain.refund_key(one) == f"refund-{one}"


def test_the_replica_moves_one_version_at_a_time():
    order = an_order()
    domain.follow(order, 1, "cancelled")
    assert (order.status, order.version) == ("cancelled", 1)
    with pytest.raises(StaleEvent):
        domain.follow(order, 1, "complete")
    with pytest.raises(VersionGap):
        domain.follow(order, 3, "complete")
    with pytest.raises(VersionGap):
        domain.follow(None, 1, "cancelled")


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
