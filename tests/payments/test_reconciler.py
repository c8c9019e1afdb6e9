"""Work left half done is finished: a charge whose answer was lost, a refund that failed."""

import pytest

from tests.payments.builders import attempts_for, pay, payments_for
from tests.payments.fakes import FlakyProvider
from tests.support import eventually
from ticketing.common.events import Subject


@pytest.fixture
def overrides() -> dict:
    return {"attempt_stale_seconds": 0.3, "reconcile_interval_seconds": 0.1}


class TestALostChargeAnswer:
    @pytest.fixture
    def provider(self):
        return FlakyProvider(lost_charges=1)

    async def test_is_resent_with_the_same_key_and_recorded_once(
        self, client, bus, buyer, provider, engine
    ):
        order = await bus.place_order(buyer)
        assert (await pay(client, buyer, order.id)).status_code == 503
        [created] = await bus.wait_for(Subject.PAYMENT_CREATED)
        [charge_id] = provider.sandbox.charges
        assert created["stripeId"] == charge_id
        [attempt] = await attempts_for(engine, order.id)
        assert attempt.status == "succeeded"
        assert provider.keys == [f"attempt-{attempt.id}"] * 2
        assert len(await payments_for(engine, order.id)) == 1
        after = await pay(client, buyer, order.id)
        assert after.json() == {"errors": [{"message": "Order already paid"}]}


class TestAFailedRefund:
    @pytest.fixture
    def provider(self):
        return FlakyProvider(failed_refunds=2)

    async def test_is_retried_until_the_money_is_back(self, client, bus, buyer, provider, engine):
        order = await bus.place_order(buyer)
        assert (await pay(client, buyer, order.id)).status_code == 201
        await bus.cancel(order)
        [refunded] = await bus.wait_for(Subject.PAYMENT_REFUNDED)
        assert refunded["reason"] == "order cancelled"
        [charge_id] = provider.sandbox.charges
        assert list(provider.sandbox.refunds) == [charge_id]

        async def recorded():
            [payment] = await payments_for(engine, order.id)
            return payment.refunded_at is not None

        await eventually(recorded)
