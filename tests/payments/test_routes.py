"""POST /api/payments over HTTP: each answer, and guarantee 6 under double submits and declines."""

import asyncio
from uuid import uuid4

import pytest

from tests.payments.builders import (
    attempts_for,
    order_completed,
    pay,
    payments_for,
    replica,
    staged_events,
)
from tests.payments.fakes import FlakyProvider, GatedProvider
from tests.support import eventually, person
from ticketing.common.events import Subject


async def test_the_buyer_pays_the_price_in_cents_and_payment_created_is_published(
    client, bus, buyer, provider, engine
):
    order = await bus.place_order(buyer, price=1550)
    response = await pay(client, buyer, order.id)
    assert response.status_code == 201
    payment_id = response.json()["id"]
    [charge] = provider.charges.values()
    assert (charge.amount_cents, charge.currency, charge.token) == (1550, "usd", "tok_visa")
    [event] = await bus.wait_for(Subject.PAYMENT_CREATED)
    assert event == {
        "id": payment_id,
        "orderId": str(order.id),
        "stripeId": charge.id,
        "amount": 1550,  # what was charged, which orders checks against the price
    }
    [payment] = await payments_for(engine, order.id)
    assert (payment.provider_id, payment.amount_cents, payment.refunded_at) == (
        charge.id,
        1550,
        None,
    )


async def test_signed_out_is_401(client, bus, buyer):
    order = await bus.place_order(buyer)
    response = await client.post(
        "/api/payments", json={"token": "tok_visa", "orderId": str(order.id)}
    )
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}


async def test_missing_fields_are_named_each(client, buyer):
    response = await client.post("/api/payments", json={}, headers=buyer.headers)
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"token", "orderId"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"token": "  ", "orderId": str(uuid4())}, "token", "Token is required"),
        ({"token": "tok_visa", "orderId": "not-an-id"}, "orderId", "Order id must be a valid id"),
        ({"token": "x" * 256, "orderId": str(uuid4())}, "token", "Token is not valid"),
    ],
)
async def test_invalid_input_is_400_with_the_field(client, buyer, body, field, message):
    response = await client.post("/api/payments", json=body, headers=buyer.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "field": field}]}


async def test_an_unknown_order_is_404(client, buyer):
    response = await pay(client, buyer, uuid4())
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Order not found"}]}


async def test_someone_elses_order_is_401_and_charges_nothing(
    client, bus, buyer, settings, provider
):
    order = await bus.place_order(buyer)
    response = await pay(client, person(settings), order.id)
    assert response.status_code == 401
    assert provider.charges == {}


async def test_a_cancelled_order_cannot_be_paid(client, bus, buyer, provider):
    order = await bus.place_order(buyer)
    await bus.cancel(order)
    response = await pay(client, buyer, order.id)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Cannot pay for a cancelled order"}]}
    assert provider.charges == {}


async def test_a_paid_order_cannot_be_paid_again(client, bus, buyer, provider):
    order = await bus.place_order(buyer)
    assert (await pay(client, buyer, order.id)).status_code == 201
    response = await pay(client, buyer, order.id)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Order already paid"}]}
    assert len(provider.charges) == 1


async def test_a_complete_order_cannot_be_paid(client, bus, buyer, engine):
    order = await bus.place_order(buyer)
    await bus.publish(order_completed(order))

    async def complete():
        return (await replica(engine, order.id)).status == "complete"

    await eventually(complete)
    response = await pay(client, buyer, order.id)
    assert response.json() == {"errors": [{"message": "Order already paid"}]}


@pytest.mark.parametrize(
    ("token", "message"),
    [("tok_chargeDeclined", "Your card was declined."), ("tok_nope", "No such token: 'tok_nope'")],
)
async def test_a_refused_card_is_400_with_the_reason_and_nothing_is_saved(
    client, bus, buyer, engine, token, message
):
    order = await bus.place_order(buyer)
    response = await pay(client, buyer, order.id, token=token)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message}]}
    assert await payments_for(engine, order.id) == []
    assert await staged_events(engine) == 0
    [attempt] = await attempts_for(engine, order.id)
    assert (attempt.status, attempt.token) == ("failed", None)


async def test_a_declined_card_can_be_retried_with_another_and_is_charged_once(
    client, bus, buyer, provider, engine
):
    order = await bus.place_order(buyer)
    declined = await pay(client, buyer, order.id, token="tok_chargeDeclined")
    assert declined.status_code == 400
    paid = await pay(client, buyer, order.id, token="tok_visa")
    assert paid.status_code == 201
    assert len(provider.charges) == 1
    assert len(await bus.wait_for(Subject.PAYMENT_CREATED)) == 1
    keys = {f"attempt-{a.id}" for a in await attempts_for(engine, order.id)}
    assert len(keys) == 2  # a fresh idempotency key for the second card


async def test_concurrent_submits_charge_once(client, bus, buyer, provider):
    order = await bus.place_order(buyer)
    responses = await asyncio.gather(*(pay(client, buyer, order.id) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [400] * 5
    assert len(provider.charges) == 1


class TestWhileTheProcessorIsSlow:
    @pytest.fixture
    def provider(self):
        return GatedProvider()

    async def test_a_second_submit_is_told_a_payment_is_in_progress(
        self, client, bus, buyer, provider
    ):
        order = await bus.place_order(buyer)
        first = asyncio.create_task(pay(client, buyer, order.id))
        await eventually(lambda: provider.waiting == 1)
        second = await pay(client, buyer, order.id)  # answers while the first is held
        assert second.status_code == 400
        assert second.json() == {
            "errors": [{"message": "A payment for this order is already in progress"}]
        }
        provider.gate.set()
        assert (await first).status_code == 201
        assert len(provider.sandbox.charges) == 1

    async def test_an_order_cancelled_meanwhile_is_refunded_and_the_buyer_told(
        self, client, bus, buyer, provider, engine
    ):
        """Expiration fires while the card is being charged: nobody pays for nothing."""
        order = await bus.place_order(buyer)
        paying = asyncio.create_task(pay(client, buyer, order.id))
        await eventually(lambda: provider.waiting == 1)
        await bus.cancel(order)
        provider.gate.set()
        response = await paying
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {"message": "Order expired before payment completed; you have been refunded"}
            ]
        }
        [charge_id] = provider.sandbox.charges
        assert list(provider.sandbox.refunds) == [charge_id]
        [refunded] = await bus.wait_for(Subject.PAYMENT_REFUNDED)
        assert (refunded["orderId"], refunded["stripeId"]) == (str(order.id), charge_id)
        assert await bus.published(Subject.PAYMENT_CREATED) == []
        [payment] = await payments_for(engine, order.id)
        assert payment.refunded_at is not None


class TestWhenTheProcessorDoesNotAnswer:
    @pytest.fixture
    def provider(self):
        return FlakyProvider(lost_charges=1)

    async def test_the_buyer_gets_503_and_the_claim_is_kept(
        self, client, bus, buyer, provider, engine
    ):
        """The charge may have landed: a new attempt with a new key could charge twice."""
        order = await bus.place_order(buyer)
        response = await pay(client, buyer, order.id)
        assert response.status_code == 503
        assert response.json()["errors"][0]["message"]
        retry = await pay(client, buyer, order.id)
        assert retry.json() == {
            "errors": [{"message": "A payment for this order is already in progress"}]
        }
        [attempt] = await attempts_for(engine, order.id)
        assert attempt.status == "in_flight"
        assert len(provider.sandbox.charges) == 1
