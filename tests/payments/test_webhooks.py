"""POST /api/payments/webhook: Stripe's events, signed, each taking effect once."""

import asyncio
import json
import time
from datetime import timedelta

import httpx
import pytest
import stripe
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select

from tests.payments.builders import (
    STRIPE_EVENTS,
    attempts_for,
    awaiting_authentication,
    order_completed,
    pay,
    payments_for,
    replica,
    staged_events,
    stripe_events,
)
from tests.payments.ledger_checks import (
    admitted,
    assert_ledger_balances,
    balance,
    completed,
    entries,
)
from tests.payments.webhooks import (
    SECRET,
    WEBHOOK_PATH,
    deliver,
    event,
    intent,
    refunded_charge,
    signed,
)
from tests.support import eventually, running
from ticketing.common import periodic
from ticketing.common.events import Subject
from ticketing.payments import reconciler
from ticketing.payments.app import create_app
from ticketing.payments.domain import LedgerKind
from ticketing.payments.providers import SandboxProvider, WebhookSender


def succeeded(intent_id: str, attempt_id=None, event_id: str | None = None) -> str:
    return event("payment_intent.succeeded", intent(intent_id, "succeeded", attempt_id), event_id)


async def paid_by_card(client, bus, buyer, engine):
    """An order paid synchronously: (order, payment row)."""
    order = await bus.place_order(buyer)
    assert (await pay(client, buyer, order.id)).status_code == 201
    [payment] = await payments_for(engine, order.id)
    return order, payment


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "t=1,v1=00"},
        {"Stripe-Signature": "garbage"},
        "wrong secret",
        "too old",
        "another body",
    ],
)
async def test_an_unsigned_or_badly_signed_event_is_400_and_changes_nothing(
    client, bus, buyer, engine, headers
):
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    payload = succeeded(intent_id)
    if headers == "wrong secret":
        headers = signed(payload, secret="whsec_someone_else")
    elif headers == "too old":
        headers = signed(payload, timestamp=int(time.time()) - 3600)  # a replay
    elif headers == "another body":
        headers = signed(succeeded("pi_other"))
    # A session cookie grants nothing here: only the signature counts.
    response = await client.post(
        WEBHOOK_PATH, content=payload, headers={**headers, **buyer.headers}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]
    assert await payments_for(engine, order.id) == []
    assert await stripe_events(engine) == 0
    [attempt] = await attempts_for(engine, order.id)
    assert attempt.status == "requires_action"


@pytest.mark.parametrize(
    "payload", ["[]", "1", "not json", '{"id": "evt_1"}', '{"object": "v2.core.event"}']
)
async def test_a_signed_body_that_is_no_event_is_400(client, engine, payload):
    response = await deliver(client, payload)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Not a Stripe event"}]}
    assert await stripe_events(engine) == 0


async def test_a_body_that_is_not_utf8_is_400(client, engine):
    payload = b"\xff\xfe{}"
    headers = {"Stripe-Signature": signed("x")["Stripe-Signature"]}
    response = await client.post(WEBHOOK_PATH, content=payload, headers=headers)
    assert response.status_code == 400
    assert await stripe_events(engine) == 0


async def test_a_huge_body_is_413_before_anything_reads_it(client, engine):
    payload = event("payment_intent.succeeded", {"id": "pi_1", "pad": "x" * 70_000})
    response = await deliver(client, payload)
    assert response.status_code == 413
    assert await stripe_events(engine) == 0


class TestWithoutASecret:
    @pytest.fixture
    def overrides(self) -> dict:
        return {"stripe_webhook_secret": "  "}  # blank is unset

    async def test_a_signed_event_is_503_and_an_unsigned_one_400(self, client, engine):
        response = await deliver(client, succeeded("pi_1"))
        assert response.status_code == 503
        assert response.json()["errors"][0]["message"].startswith("Webhooks are not accepted")
        unsigned = await client.post(WEBHOOK_PATH, content=succeeded("pi_1"))
        assert unsigned.status_code == 400
        assert await stripe_events(engine) == 0


async def test_the_same_event_delivered_again_and_at_once_takes_effect_once(
    client, bus, buyer, engine, provider, webhooks
):
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    provider.intents[intent_id].status = "succeeded"  # as if authenticated, webhook aside
    payload = succeeded(intent_id, event_id="evt_once")
    responses = await asyncio.gather(*(deliver(client, payload) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert (await deliver(client, payload)).json() == {"received": True}
    assert len(await payments_for(engine, order.id)) == 1
    assert len(await bus.wait_for(Subject.PAYMENT_CREATED)) == 1
    assert await stripe_events(engine) == 1


async def test_a_charge_settled_synchronously_is_not_paid_again_by_its_webhook(
    client, bus, buyer, engine, webhooks
):
    """Stripe sends payment_intent.succeeded for every charge; the sandbox does too."""
    order, payment = await paid_by_card(client, bus, buyer, engine)
    await webhooks.idle()  # the sandbox's own webhook, delivered
    [attempt] = await attempts_for(engine, order.id)
    assert (await deliver(client, succeeded(payment.provider_id, attempt.id))).status_code == 200
    assert await payments_for(engine, order.id) == [payment]
    assert len(await bus.wait_for(Subject.PAYMENT_CREATED)) == 1
    assert await stripe_events(engine) == 2


async def test_payment_failed_releases_the_claim_and_another_card_pays(
    client, bus, buyer, engine, provider
):
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    [attempt] = await attempts_for(engine, order.id)
    failed = event("payment_intent.payment_failed", intent(intent_id, "requires_payment_method"))
    assert (await deliver(client, failed)).status_code == 200
    [attempt] = await attempts_for(engine, order.id)
    assert attempt.status == "failed"
    assert (await pay(client, buyer, order.id, token="tok_visa")).status_code == 201
    assert len(provider.charges) == 1


async def test_a_charge_landing_on_a_released_attempt_is_refunded_at_once(
    client, bus, buyer, engine, provider
):
    """The buyer authenticated on a page left open after the decline was recorded: there
    is no payment to hold it, so the money goes straight back."""
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    failed = event("payment_intent.payment_failed", intent(intent_id, "requires_payment_method"))
    assert (await deliver(client, failed)).status_code == 200
    provider.intents[intent_id].status = "requires_action"  # the open page, confirmed
    provider.complete_action(intent_id)

    await eventually(lambda: list(provider.refunds) == [intent_id])
    assert await payments_for(engine, order.id) == []


async def test_a_refund_at_stripe_is_recorded_once_and_told_once(
    client, bus, buyer, engine, counts
):
    order, payment = await paid_by_card(client, bus, buyer, engine)
    await bus.publish(order_completed(order))
    await eventually(lambda: _complete(engine, order.id))
    before = _count("completed_sale_refunded")
    for event_id in ("evt_refund_1", "evt_refund_2"):  # one refund, told twice
        payload = event("charge.refunded", refunded_charge(payment.provider_id), event_id)
        assert (await deliver(client, payload)).status_code == 200
    [refunded] = await bus.wait_for(Subject.PAYMENT_REFUNDED)
    assert refunded == {
        "id": str(payment.id),
        "orderId": str(order.id),
        "stripeId": payment.provider_id,
        "reason": "refunded at Stripe",
    }
    [after] = await payments_for(engine, order.id)
    assert after.refunded_at is not None and after.refund_reason == "refunded at Stripe"
    assert _count("completed_sale_refunded") == before + 1


async def test_a_partial_refund_and_another_events_type_are_recorded_and_ignored(
    client, bus, buyer, engine, webhooks
):
    order, payment = await paid_by_card(client, bus, buyer, engine)
    await webhooks.idle()  # the charge's own webhook is recorded before counting
    staged = await staged_events(engine)
    before = await stripe_events(engine)
    partial = event("charge.refunded", refunded_charge(payment.provider_id, refunded=False))
    other = event("customer.created", {"id": "cus_1", "object": "customer"})
    unknown = succeeded("pi_not_ours")
    for payload in (partial, other, unknown):
        assert (await deliver(client, payload)).status_code == 200
    assert await payments_for(engine, order.id) == [payment]
    assert await staged_events(engine) == staged
    assert await stripe_events(engine) == before + 3


class TestTheWebhookAndTheSynchronousAnswerRacing:
    @pytest.fixture
    def provider(self, webhooks):
        return HeldAnswers(webhooks)

    async def test_pay_once(self, client, bus, buyer, engine, provider):
        order = await bus.place_order(buyer)
        paying = asyncio.create_task(pay(client, buyer, order.id))
        await eventually(lambda: provider.held == 1)  # charged; the answer not back yet
        [attempt] = await attempts_for(engine, order.id)
        [intent_id] = provider.charges
        webhook = deliver(client, succeeded(intent_id, attempt.id))
        provider.gate.set()
        response, answered = await asyncio.gather(paying, webhook)
        assert (response.status_code, answered.status_code) == (201, 200)
        [payment] = await payments_for(engine, order.id)
        assert response.json() == {"id": str(payment.id)}
        assert len(await bus.wait_for(Subject.PAYMENT_CREATED)) == 1


class HeldAnswers(SandboxProvider):
    """Charges at once, then holds the answer until the test opens the gate."""

    def __init__(self, webhooks: WebhookSender) -> None:
        super().__init__(webhooks)
        self.gate = asyncio.Event()
        self.held = 0

    async def charge(self, *args, **kwargs):
        answer = await super().charge(*args, **kwargs)
        self.held += 1
        await self.gate.wait()
        return answer


async def test_the_sandboxes_webhooks_verify_with_stripes_sdk(bus, buyer, settings):
    """What the sandbox sends is what Stripe would: the SDK itself accepts it."""
    received: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    webhooks = WebhookSender(SECRET, "http://hook/", transport=httpx.MockTransport(record))
    sandbox = SandboxProvider(webhooks)
    charged = await sandbox.charge(1000, "usd", "tok_visa", "k1", metadata={"attempt_id": "a1"})
    await webhooks.idle()
    await webhooks.aclose()
    [request] = received
    verified = stripe.Webhook.construct_event(
        request.content, request.headers["Stripe-Signature"], SECRET
    )
    assert (verified.type, verified.data.object.id) == ("payment_intent.succeeded", charged.id)
    assert verified.data.object.metadata["attempt_id"] == "a1"
    assert json.loads(request.content)["data"]["object"]["amount"] == 1000
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            request.content, request.headers["Stripe-Signature"], "whsec_other"
        )


async def test_the_sandbox_retries_a_webhook_until_it_is_answered():
    answers = iter([httpx.Response(503), httpx.Response(500), httpx.Response(200)])
    tried: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        tried.append(request.headers["Stripe-Signature"])
        return next(answers)

    webhooks = WebhookSender(
        SECRET, "http://hook/", transport=httpx.MockTransport(flaky), first_delay=0.01
    )
    webhooks.send("payment_intent.succeeded", {"id": "pi_1"})
    await webhooks.idle()
    await webhooks.aclose()
    assert len(tried) == 3


def _count(event_name: str) -> float:
    value = REGISTRY.get_sample_value(
        "business_events_total", {"service": "payments", "event": event_name}
    )
    return value or 0.0


async def _complete(engine, order_id) -> bool:
    return (await replica(engine, order_id)).status == "complete"


async def test_a_refund_at_stripe_takes_back_what_the_sale_credited_its_seller(
    client, bus, buyer, seller, engine
):
    """Money that went back to the buyer is not the seller's: a sale released at the door
    and then refunded at Stripe leaves the seller nothing available, the ledger balanced."""
    order, payment = await paid_by_card(client, bus, buyer, engine)
    await bus.publish(completed(order, seller.id))
    await eventually(lambda: entries(engine, LedgerKind.SALE, order.id))
    await bus.publish(admitted(order.id))
    await eventually(lambda: entries(engine, LedgerKind.RELEASE, order.id))
    assert (await balance(client, seller))["available"] > 0
    payload = event("charge.refunded", refunded_charge(payment.provider_id), "evt_reversal")
    assert (await deliver(client, payload)).status_code == 200
    reversal = await eventually(lambda: entries(engine, LedgerKind.REVERSAL, order.id))
    assert sum(reversal.values()) == 0
    assert await balance(client, seller) == {
        "pending": 0,
        "available": 0,
        "paidOut": 0,
        "currency": "usd",
    }
    await assert_ledger_balances(engine)


async def _record_received(engine, event_id: str, days_ago: float) -> None:
    async with engine.begin() as db:
        await db.execute(
            insert(STRIPE_EVENTS).values(
                id=event_id,
                type="payment_intent.succeeded",
                received_at=func.now() - timedelta(days=days_ago),
            )
        )


async def _recorded(engine) -> set[str]:
    async with engine.connect() as db:
        return set((await db.execute(select(STRIPE_EVENTS.c.id))).scalars())


async def test_an_event_record_goes_once_stripe_can_send_it_no_more_and_a_kept_one_still_counts(
    client, bus, buyer, engine, provider, webhooks
):
    """Stripe sends an event again for three days, and lists 30 days of them."""
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    provider.intents[intent_id].status = "succeeded"
    payload = succeeded(intent_id, event_id="evt_today")
    assert (await deliver(client, payload)).status_code == 200
    await _record_received(engine, "evt_last_month", days_ago=30)
    await _record_received(engine, "evt_long_ago", days_ago=32)

    await reconciler.forget_old_processor_events(engine)

    assert await _recorded(engine) >= {"evt_today", "evt_last_month"}
    assert "evt_long_ago" not in await _recorded(engine)
    assert (await deliver(client, payload)).status_code == 200  # delivered again: a duplicate
    assert len(await payments_for(engine, order.id)) == 1
    assert len(await bus.wait_for(Subject.PAYMENT_CREATED)) == 1


async def test_a_running_payments_deletes_old_event_records_soon_after_it_starts(
    monkeypatch, settings, provider
):
    monkeypatch.setattr(periodic, "FIRST_ROUND_SECONDS", 0.2)
    app = create_app(settings, provider=provider)
    async with running(app):
        engine = app.state.engine
        await _record_received(engine, "evt_recent", days_ago=1)
        await _record_received(engine, "evt_long_ago", days_ago=40)

        async def trimmed() -> bool:
            return await _recorded(engine) == {"evt_recent"}

        await eventually(trimmed)
