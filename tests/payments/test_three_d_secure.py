"""3-D Secure: a card that asks its holder to authenticate answers 202, keeps the order's
claim, and is paid (or released) when the processor's webhook says how it ended."""

import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import update

from tests.payments.builders import (
    ATTEMPTS,
    attempts_for,
    awaiting_authentication,
    pay,
    payments_for,
)
from tests.payments.fakes import FlakyProvider
from tests.support import Person, eventually, mint_token, person
from ticketing.common.auth import COOKIE
from ticketing.common.events import Subject
from ticketing.payments import reconciler


def sandbox_page(intent_id: str, back: str | None = None) -> str:
    path = f"/api/payments/sandbox/{intent_id}"
    return path if back is None else f"{path}?return={back}"


async def authenticate(client, who: Person, intent_id: str, action="complete", back=None):
    return await client.post(
        sandbox_page(intent_id, back), data={"action": action}, headers=who.headers
    )


async def test_a_card_asking_for_authentication_is_202_with_its_client_secret(
    client, bus, buyer, provider, engine
):
    order = await bus.place_order(buyer)
    response = await pay(client, buyer, order.id, token="tok_threeDSecure2Required")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "requires_action"
    intent_id, _, _ = body["clientSecret"].partition("_secret_")
    assert intent_id.startswith("pi_") and body["clientSecret"] != intent_id
    assert provider.charges == {}  # nothing charged until the buyer authenticates
    [attempt] = await attempts_for(engine, order.id)
    assert (attempt.status, attempt.provider_id, attempt.token) == (
        "requires_action",
        intent_id,
        None,
    )
    assert await payments_for(engine, order.id) == []


async def test_the_claim_is_kept_while_the_buyer_authenticates(client, bus, buyer, provider):
    order, _ = await awaiting_authentication(client, bus, buyer)
    again = await pay(client, buyer, order.id, token="tok_visa")
    assert again.status_code == 400
    waiting = "A payment for this order is waiting for your card's authentication"
    assert again.json() == {"errors": [{"message": waiting}]}
    assert provider.charges == {}


async def test_completing_authentication_pays_once_and_returns_to_the_order(
    client, bus, buyer, provider, engine, webhooks
):
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    page = await client.get(sandbox_page(intent_id), headers=buyer.headers)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Complete authentication" in page.text and "Fail authentication" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]

    done = await authenticate(client, buyer, intent_id, back=f"/orders/{order.id}")
    assert done.status_code == 303
    assert done.headers["location"] == f"/orders/{order.id}"
    [created] = await bus.wait_for(Subject.PAYMENT_CREATED)
    [payment] = await payments_for(engine, order.id)
    assert created == {
        "id": str(payment.id),
        "orderId": str(order.id),
        "stripeId": intent_id,
        "amount": 2050,
    }
    assert list(provider.charges) == [intent_id]
    [attempt] = await attempts_for(engine, order.id)
    assert attempt.status == "succeeded"
    again = await authenticate(client, buyer, intent_id)
    assert again.status_code == 404  # nothing awaits authentication any more
    await webhooks.idle()
    assert len(await bus.published(Subject.PAYMENT_CREATED)) == 1


async def test_failing_authentication_releases_the_claim_and_another_card_pays(
    client, bus, buyer, provider, engine
):
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    assert (await authenticate(client, buyer, intent_id, action="fail")).status_code == 303

    async def released():
        [attempt] = await attempts_for(engine, order.id)
        return attempt.status == "failed"

    await eventually(released)
    assert (await pay(client, buyer, order.id, token="tok_visa")).status_code == 201
    assert len(provider.charges) == 1
    assert intent_id not in provider.charges


async def test_an_order_expiring_during_authentication_is_refunded_when_it_completes(
    client, bus, buyer, provider, engine
):
    """The order's timer runs while the buyer authenticates: nobody pays for nothing."""
    order, intent_id = await awaiting_authentication(client, bus, buyer)
    await bus.cancel(order)
    assert (await authenticate(client, buyer, intent_id)).status_code == 303
    [refunded] = await bus.wait_for(Subject.PAYMENT_REFUNDED)
    assert (refunded["orderId"], refunded["stripeId"]) == (str(order.id), intent_id)
    assert refunded["reason"] == "order expired before payment completed"
    assert list(provider.refunds) == [intent_id]
    [payment] = await payments_for(engine, order.id)
    assert payment.refunded_at is not None
    assert await bus.published(Subject.PAYMENT_CREATED) == []


class TestTheReconciler:
    @pytest.fixture
    def overrides(self) -> dict:
        return {"attempt_stale_seconds": 1, "reconcile_interval_seconds": 3600}

    async def test_leaves_an_attempt_awaiting_authentication_alone(
        self, client, bus, buyer, provider, engine, settings
    ):
        """It is not stuck: the buyer is authenticating, and re-sending cannot help."""
        order, intent_id = await awaiting_authentication(client, bus, buyer)
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        async with engine.begin() as db:
            await db.execute(update(ATTEMPTS).values(driven_at=long_ago))
        await reconciler.reconcile_once(engine, provider, settings)
        [attempt] = await attempts_for(engine, order.id)
        assert (attempt.status, attempt.driven_at) == ("requires_action", long_ago)
        assert list(provider.intents) == [intent_id]


class TestTheSandboxPage:
    async def test_is_the_buyers_alone(self, client, bus, buyer, settings, app):
        _, intent_id = await awaiting_authentication(client, bus, buyer)
        session = uuid4()
        revoked = {"Cookie": f"{COOKIE}={mint_token(buyer.id, session_id=session)}"}
        app.state.revoked_sessions.revoke(session, time.time() + 3600)
        for headers, status in [({}, 401), (person(settings).headers, 401), (revoked, 401)]:
            page = await client.get(sandbox_page(intent_id), headers=headers)
            assert page.status_code == status
            done = await client.post(
                sandbox_page(intent_id), data={"action": "complete"}, headers=headers
            )
            assert done.status_code == status
            assert done.json()["errors"][0]["message"]
        assert (await client.get(sandbox_page(intent_id), headers=buyer.headers)).status_code == 200

    @pytest.mark.parametrize(
        "back", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "orders/1"]
    )
    async def test_sends_nobody_to_another_site(self, client, bus, buyer, provider, back):
        _, intent_id = await awaiting_authentication(client, bus, buyer)
        response = await client.post(
            sandbox_page(intent_id), params={"return": back}, data={"action": "complete"},
            headers=buyer.headers,
        )  # fmt: skip
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "return"
        assert "location" not in response.headers
        assert provider.charges == {}  # refused before anything happened

    async def test_refuses_an_unknown_intent_and_an_odd_action(self, client, bus, buyer):
        _, intent_id = await awaiting_authentication(client, bus, buyer)
        unknown = await client.get(sandbox_page("pi_unknown"), headers=buyer.headers)
        assert unknown.status_code == 404
        odd = await authenticate(client, buyer, intent_id, action="steal")
        assert odd.status_code == 400
        assert odd.json()["errors"][0]["field"] == "action"
        bad_id = await client.get(sandbox_page("x" * 300), headers=buyer.headers)
        assert bad_id.status_code == 400


class TestWithARealProcessor:
    @pytest.fixture
    def provider(self):
        return FlakyProvider()  # not the sandbox: its page is not served

    async def test_the_sandbox_page_is_not_found(self, client, buyer):
        response = await client.get(sandbox_page("pi_anything"), headers=buyer.headers)
        assert response.status_code == 404
