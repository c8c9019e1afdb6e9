"""StripeProvider through the real stripe SDK, against a local HTTP stub of Stripe's API."""

from collections.abc import Iterator

import pytest

from tests.payments.builders import PaymentsBus, attempts_for, pay
from tests.payments.ledger_checks import admit, assert_ledger_balances, balance, sell
from tests.payments.stripe_stub import Served, StripeStub
from tests.support import person, running
from ticketing.payments.app import create_app
from ticketing.payments.providers import (
    CardDeclined,
    InvalidToken,
    NeedsAction,
    PaymentRejected,
    ProviderUnavailable,
    StripeProvider,
    TransferRejected,
)
from ticketing.payments.settings import PaymentsSettings

KEY = "sk_test_not_a_real_key"

# The SDK's httpx client posts its form as a string, which httpx 0.28 deprecates; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def served_stub() -> Iterator[StripeStub]:
    stub = StripeStub()
    with Served(stub.app()) as url:
        stub.url = url
        yield stub


@pytest.fixture
def stub(served_stub) -> StripeStub:
    served_stub.reset()
    return served_stub


@pytest.fixture
async def stripe_provider(stub):
    provider = StripeProvider(KEY, api_base=stub.url, timeout=5, max_network_retries=1)
    yield provider
    await provider.aclose()


async def test_a_charge_is_a_confirmed_payment_intent_in_cents_with_the_idempotency_key(
    stub, stripe_provider
):
    charged = await stripe_provider.charge(
        1550, "usd", "tok_visa", "attempt-1", metadata={"order_id": "o-1"}
    )
    [request] = stub.requests
    assert request.path == "/v1/payment_intents"
    assert request.headers["idempotency-key"] == "attempt-1"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.form == {
        "amount": "1550",
        "currency": "usd",
        "confirm": "true",
        "payment_method_types[0]": "card",
        "payment_method_data[type]": "card",
        "payment_method_data[card][token]": "tok_visa",
        "metadata[order_id]": "o-1",
    }
    assert list(stub.charges) == [charged.id]


async def test_a_saved_payment_method_is_sent_as_payment_method(stub, stripe_provider):
    await stripe_provider.charge(2000, "eur", "pm_card_visa", "attempt-2")
    [request] = stub.requests
    assert request.form["payment_method"] == "pm_card_visa"
    assert request.form["currency"] == "eur"
    assert "payment_method_data[type]" not in request.form


async def test_the_same_key_charges_once(stub, stripe_provider):
    first = (await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-3")).id
    again = (await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-3")).id
    assert first == again
    assert len(stub.charges) == 1


async def test_a_retried_request_keeps_its_key_and_charges_once(stub, stripe_provider):
    stub.unavailable = 1
    await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-4")
    assert [r.headers["idempotency-key"] for r in stub.requests] == ["attempt-4"] * 2
    assert len(stub.charges) == 1


async def test_a_decline_is_card_declined_with_stripes_reason(stub, stripe_provider):
    with pytest.raises(CardDeclined) as declined:
        await stripe_provider.charge(1000, "usd", "tok_chargeDeclined", "attempt-5")
    assert declined.value.reason == "Your card was declined."
    assert stub.charges == {}


async def test_an_unknown_token_is_invalid_token(stripe_provider):
    with pytest.raises(InvalidToken, match="No such token: 'tok_bogus'"):
        await stripe_provider.charge(1000, "usd", "tok_bogus", "attempt-6")


async def test_a_token_of_no_known_kind_never_reaches_stripe(stub, stripe_provider):
    with pytest.raises(InvalidToken):
        await stripe_provider.charge(1000, "usd", "4242424242424242", "attempt-7")
    assert stub.requests == []


async def test_another_refusal_is_a_rejection_with_stripes_message(stripe_provider):
    with pytest.raises(PaymentRejected, match=r"at least \$0.50") as rejected:
        await stripe_provider.charge(10, "usd", "tok_visa", "attempt-8")
    assert not isinstance(rejected.value, InvalidToken)


async def test_a_card_that_needs_authentication_answers_its_intent_and_client_secret(
    stub, stripe_provider
):
    answer = await stripe_provider.charge(1000, "usd", "tok_threeDSecure2Required", "attempt-9")
    assert isinstance(answer, NeedsAction)
    [intent] = stub.awaiting_action.values()
    assert (answer.id, answer.client_secret) == (intent["id"], intent["client_secret"])
    assert answer.client_secret.startswith(f"{answer.id}_secret_")
    assert stub.charges == {}  # nothing charged yet


async def test_an_outage_is_provider_unavailable(stub, stripe_provider):
    stub.unavailable = 2  # the first try and its one retry
    with pytest.raises(ProviderUnavailable):
        await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-10")


async def test_a_refund_names_the_payment_intent_and_carries_its_key(stub, stripe_provider):
    charge_id = (await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-11")).id
    await stripe_provider.refund(charge_id, "refund-11")
    request = stub.requests[-1]
    assert request.path == "/v1/refunds"
    assert request.form == {"payment_intent": charge_id}
    assert request.headers["idempotency-key"] == "refund-11"
    assert list(stub.refunds) == [charge_id]


async def test_refunding_an_already_refunded_charge_counts_as_done(stub, stripe_provider):
    charge_id = (await stripe_provider.charge(1000, "usd", "tok_visa", "attempt-12")).id
    await stripe_provider.refund(charge_id, "refund-12")
    await stripe_provider.refund(charge_id, "refund-from-elsewhere")
    assert len(stub.refunds) == 1


async def test_the_service_charges_through_stripe_when_a_key_is_set(stub, settings, buyer):
    chosen_by_key = {
        "payment_provider": None,
        "stripe_secret_key": KEY,
        "stripe_api_base": stub.url,
    }
    stripe_settings = PaymentsSettings(**(settings.model_dump() | chosen_by_key))
    app = create_app(stripe_settings)
    assert isinstance(app.state.provider, StripeProvider)
    async with running(app) as client:
        runtime = app.state.bus
        bus = PaymentsBus(runtime.nc.jetstream(), runtime.names, app.state.engine)
        order = await bus.place_order(buyer, price=1550)
        response = await pay(client, buyer, order.id)
        assert response.status_code == 201
        assert (await pay(client, person(settings), order.id)).status_code == 401
        [attempt] = await attempts_for(app.state.engine, order.id)
    [request] = stub.requests
    assert (request.form["amount"], request.form["currency"]) == ("1550", "usd")
    assert request.headers["idempotency-key"] == f"attempt-{attempt.id}"
    assert request.form["metadata[attempt_id]"] == str(attempt.id)


# ledger: Transfers to connected accounts


async def test_a_transfer_names_the_destination_in_cents_with_the_payouts_key(
    stub, stripe_provider
):
    transfer_id = await stripe_provider.transfer(
        1900, "usd", destination="acct_1Seller", idempotency_key="payout-1"
    )
    [request] = stub.requests
    assert request.path == "/v1/transfers"
    assert request.headers["idempotency-key"] == "payout-1"
    assert request.form == {"amount": "1900", "currency": "usd", "destination": "acct_1Seller"}
    assert list(stub.transfers) == [transfer_id]


async def test_a_retried_transfer_keeps_its_key_and_sends_once(stub, stripe_provider):
    stub.unavailable = 1
    await stripe_provider.transfer(500, "usd", destination="acct_2", idempotency_key="payout-2")
    assert [r.headers["idempotency-key"] for r in stub.requests] == ["payout-2"] * 2
    again = await stripe_provider.transfer(
        500, "usd", destination="acct_2", idempotency_key="payout-2"
    )
    assert list(stub.transfers) == [again]


async def test_a_transfer_to_an_unknown_account_is_rejected_with_stripes_message(stripe_provider):
    with pytest.raises(TransferRejected) as rejected:
        await stripe_provider.transfer(
            500, "usd", destination="acct_missing", idempotency_key="payout-3"
        )
    assert rejected.value.reason == "No such destination: 'acct_missing'"


async def test_a_transfer_during_an_outage_is_provider_unavailable(stub, stripe_provider):
    stub.unavailable = 2
    with pytest.raises(ProviderUnavailable):
        await stripe_provider.transfer(500, "usd", destination="acct_4", idempotency_key="payout-4")
    assert stub.transfers == {}


async def test_the_service_pays_a_seller_out_through_stripe(stub, settings, buyer, seller):
    stripe_settings = PaymentsSettings(
        **(
            settings.model_dump()
            | {"payment_provider": "stripe", "stripe_secret_key": KEY, "stripe_api_base": stub.url}
        )
    )
    app = create_app(stripe_settings)
    assert isinstance(app.state.provider, StripeProvider)
    async with running(app) as client:
        runtime = app.state.bus
        engine = app.state.engine
        bus = PaymentsBus(runtime.nc.jetstream(), runtime.names, engine)
        order = await sell(bus, engine, buyer, seller, price=3000)
        await admit(bus, engine, order)
        account = {"accountId": "acct_1Seller"}
        await client.post("/api/payouts/account", json=account, headers=seller.headers)
        response = await client.post("/api/payouts", headers=seller.headers)
        assert response.status_code == 201
        await client.post(
            "/api/payouts/account", json={"accountId": "acct_missing"}, headers=seller.headers
        )
        order = await sell(bus, engine, buyer, seller, price=1000)
        await admit(bus, engine, order)
        refused = await client.post("/api/payouts", headers=seller.headers)
        assert refused.json() == {"errors": [{"message": "No such destination: 'acct_missing'"}]}
        assert (await balance(client, seller))["available"] == 9.5
        await assert_ledger_balances(engine)
    [request, _refused] = [r for r in stub.requests if r.path == "/v1/transfers"]
    assert request.form == {"amount": "2850", "currency": "usd", "destination": "acct_1Seller"}
    assert request.headers["idempotency-key"] == f"payout-{response.json()['id']}"


async def test_a_card_asking_for_authentication_is_202_through_stripe(stub, settings, buyer):
    """The real SDK reads Stripe's requires_action answer; the claim waits for the webhook."""
    stripe = {"payment_provider": "stripe", "stripe_secret_key": KEY, "stripe_api_base": stub.url}
    app = create_app(PaymentsSettings(**(settings.model_dump() | stripe)))
    async with running(app) as client:
        runtime = app.state.bus
        bus = PaymentsBus(runtime.nc.jetstream(), runtime.names, app.state.engine)
        order = await bus.place_order(buyer)
        response = await pay(client, buyer, order.id, token="tok_threeDSecure2Required")
        [attempt] = await attempts_for(app.state.engine, order.id)
    [intent] = stub.awaiting_action.values()
    assert response.status_code == 202
    assert response.json() == {"status": "requires_action", "clientSecret": intent["client_secret"]}
    assert (attempt.status, attempt.provider_id) == ("requires_action", intent["id"])
    assert stub.charges == {}
