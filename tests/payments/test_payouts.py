"""/api/payouts over HTTP: the payout account, and a payout of the available balance that
transfers once, however it is raced or re-driven."""

import asyncio

import pytest

from tests.payments.fakes import FlakyTransfers
from tests.payments.ledger_checks import (
    admit,
    assert_ledger_balances,
    balance,
    payouts_of,
    sell,
    sign_out,
    signed_in,
    transactions,
)
from tests.support import person
from ticketing.common.events import Subject
from ticketing.payments import service

ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"


async def set_account(client, who, account_id: object = ACCOUNT):
    return await client.post(
        "/api/payouts/account", json={"accountId": account_id}, headers=who.headers
    )


async def pay_out(client, who):
    return await client.post("/api/payouts", headers=who.headers)


async def earn(client, bus, engine, buyer, seller, price: int = 2000) -> None:
    """A sale admitted at the door, and an account to pay it to: 19.00 available at 5%."""
    order = await sell(bus, engine, buyer, seller, price)
    await admit(bus, engine, order)
    assert (await set_account(client, seller)).status_code == 200


async def test_a_payout_transfers_the_available_balance_once_and_tells(
    client, bus, buyer, seller, engine, provider
):
    await earn(client, bus, engine, buyer, seller)
    response = await pay_out(client, seller)
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["status"]) == (19, "sent")
    [transfer] = provider.transfers.values()
    assert (transfer.amount_cents, transfer.currency, transfer.destination) == (
        1900,
        "usd",
        ACCOUNT,
    )
    assert list(provider._transfer_answers) == [f"payout-{body['id']}"]
    assert await balance(client, seller) == {
        "pending": 0,
        "available": 0,
        "paidOut": 19,
        "currency": "usd",
    }
    [sent] = await bus.wait_for(Subject.PAYOUT_SENT)
    assert sent == {"id": body["id"], "userId": str(seller.id), "amount": 1900, "currency": "usd"}
    [payout] = await payouts_of(engine, seller.id)
    assert (payout.status, payout.provider_id) == ("sent", transfer.id)
    assert payout.sent_at is not None
    await assert_ledger_balances(engine)


async def test_nothing_is_left_to_pay_out_after_a_payout(client, bus, buyer, seller, engine):
    await earn(client, bus, engine, buyer, seller)
    assert (await pay_out(client, seller)).status_code == 201
    again = await pay_out(client, seller)
    assert again.status_code == 400
    assert again.json() == {"errors": [{"message": "Nothing to pay out"}]}


async def test_concurrent_payouts_transfer_once(client, bus, buyer, seller, engine, provider):
    await earn(client, bus, engine, buyer, seller)
    responses = await asyncio.gather(*(pay_out(client, seller) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [400] * 5
    assert {r.json()["errors"][0]["message"] for r in responses if r.status_code == 400} == {
        "Nothing to pay out"
    }
    assert len(provider.transfers) == 1
    assert (await balance(client, seller))["paidOut"] == 19
    await assert_ledger_balances(engine)


async def test_pending_money_is_not_paid_out(client, bus, buyer, seller, engine, provider):
    await sell(bus, engine, buyer, seller)
    await set_account(client, seller)
    response = await pay_out(client, seller)
    assert response.json() == {"errors": [{"message": "Nothing to pay out"}]}
    assert provider.transfers == {}


async def test_without_an_account_the_seller_is_told_to_add_one(
    client, bus, buyer, seller, engine, provider
):
    order = await sell(bus, engine, buyer, seller)
    await admit(bus, engine, order)
    response = await pay_out(client, seller)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Add a payout account first"}]}
    assert provider.transfers == {}


async def test_a_refund_after_a_payout_leaves_a_debt_and_nothing_to_pay_out(
    client, bus, buyer, seller, engine
):

    order = await sell(bus, engine, buyer, seller)
    await admit(bus, engine, order)
    await set_account(client, seller)
    assert (await pay_out(client, seller)).status_code == 201
    async with engine.begin() as db:
        await service.reverse_sale(db, order.id)
    assert await balance(client, seller) == {
        "pending": 0,
        "available": -19,
        "paidOut": 19,
        "currency": "usd",
    }
    assert (await pay_out(client, seller)).json()["errors"][0]["message"] == "Nothing to pay out"
    await assert_ledger_balances(engine)


class TestARefusedTransfer:
    @pytest.fixture
    def provider(self):
        return FlakyTransfers(refusal="No such destination: 'acct_gone'")

    async def test_is_400_with_the_reason_and_the_money_stays_available(
        self, client, bus, buyer, seller, engine
    ):
        await earn(client, bus, engine, buyer, seller)
        response = await pay_out(client, seller)
        assert response.status_code == 400
        assert response.json() == {"errors": [{"message": "No such destination: 'acct_gone'"}]}
        assert (await balance(client, seller))["available"] == 19
        assert (await balance(client, seller))["paidOut"] == 0
        [payout] = await payouts_of(engine, seller.id)
        assert payout.status == "failed"
        assert f"payout-failed:{payout.id}" in await transactions(engine)
        assert await bus.published(Subject.PAYOUT_SENT) == []
        await assert_ledger_balances(engine)


class TestAnUnansweredTransfer:
    @pytest.fixture
    def provider(self):
        return FlakyTransfers(lost=1)

    @pytest.fixture
    def overrides(self) -> dict:
        return {"attempt_stale_seconds": 0.3, "reconcile_interval_seconds": 0.1}

    async def test_is_503_then_resent_with_its_key_and_sent_once(
        self, client, bus, buyer, seller, engine, provider
    ):
        await earn(client, bus, engine, buyer, seller)
        response = await pay_out(client, seller)
        assert response.status_code == 503
        assert response.json()["errors"][0]["message"]
        [sent] = await bus.wait_for(Subject.PAYOUT_SENT)
        [payout] = await payouts_of(engine, seller.id)
        assert (payout.status, sent["id"]) == ("sent", str(payout.id))
        assert provider.transfer_keys == [f"payout-{payout.id}"] * 2
        assert len(provider.transfers) == 1
        assert await balance(client, seller) == {
            "pending": 0,
            "available": 0,
            "paidOut": 19,
            "currency": "usd",
        }
        await assert_ledger_balances(engine)


class TestThePayoutAccount:
    async def test_is_saved_and_replaced(self, client, seller, engine):
        response = await set_account(client, seller)
        assert (response.status_code, response.json()) == (200, {"accountId": ACCOUNT})
        assert (await set_account(client, seller, "acct_other")).json() == {
            "accountId": "acct_other"
        }

    @pytest.mark.parametrize(
        "account_id",
        [
            "",
            "acct_",
            "acct_" + "a" * 65,
            "ba_123",
            "acct_12 3",
            "acct_12-3",
            "acct_١٢٣",  # digits, but not ASCII ones
            "acct_1\x00",
            None,
            123,
            ["acct_1"],
            {"id": "acct_1"},
        ],
    )
    async def test_a_bad_account_id_is_400_on_the_field(self, client, seller, account_id):
        response = await set_account(client, seller, account_id)
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["field"] == "accountId"

    @pytest.mark.parametrize("body", ["[]", "null", "42", '"acct_1"', "{", "{}"])
    async def test_an_odd_body_is_400(self, client, seller, body):
        response = await client.post(
            "/api/payouts/account",
            content=body,
            headers={**seller.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["errors"]

    async def test_a_huge_body_is_413(self, client, seller):
        response = await set_account(client, seller, "acct_" + "a" * 100_000)
        assert response.status_code == 413


class TestWhoMay:
    async def test_nobody_signed_out_may_do_anything(self, client):
        for method, path in [
            ("GET", "/api/payouts/balance"),
            ("POST", "/api/payouts/account"),
            ("POST", "/api/payouts"),
        ]:
            response = await client.request(method, path, json={"accountId": ACCOUNT})
            assert response.status_code == 401, path

    async def test_a_signed_out_session_may_not_pay_out(
        self, client, bus, buyer, engine, settings, provider
    ):
        seller, session_id = signed_in(settings)
        await earn(client, bus, engine, buyer, seller)
        await sign_out(client, bus, seller, session_id)
        assert (await pay_out(client, seller)).status_code == 401
        assert (await set_account(client, seller, "acct_thief")).status_code == 401
        assert provider.transfers == {}

    async def test_someone_else_cannot_take_a_sellers_balance(
        self, client, bus, buyer, seller, engine, settings, provider
    ):
        await earn(client, bus, engine, buyer, seller)
        thief = person(settings)
        assert (await set_account(client, thief, "acct_thief")).status_code == 200
        response = await pay_out(client, thief)
        assert response.json() == {"errors": [{"message": "Nothing to pay out"}]}
        assert provider.transfers == {}
        assert (await balance(client, seller))["available"] == 19

    async def test_a_seller_is_paid_only_to_their_own_account(
        self, client, bus, buyer, seller, engine, settings, provider
    ):
        await earn(client, bus, engine, buyer, seller)
        await set_account(client, person(settings), "acct_someoneelse")
        assert (await pay_out(client, seller)).status_code == 201
        [transfer] = provider.transfers.values()
        assert transfer.destination == ACCOUNT
