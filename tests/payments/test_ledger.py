"""The sellers' ledger: a sale on order.completed, its release on admission or after the
hold, its reversal on a refund; each fact once, every transaction balanced."""

from uuid import uuid4

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from tests.common.bus_support import counted
from tests.payments.ledger_checks import (
    ENTRIES,
    TRANSACTIONS,
    admit,
    admitted,
    assert_ledger_balances,
    balance,
    completed,
    entries,
    sell,
    sign_out,
    signed_in,
    transactions,
)
from tests.support import eventually, person
from ticketing.common import metrics
from ticketing.common.events import Subject
from ticketing.payments import reconciler, service
from ticketing.payments.domain import CASH, FEES, LedgerKind, available_account, pending_account

ZERO = {"pending": 0, "available": 0, "paidOut": 0, "currency": "usd"}


async def test_a_sale_credits_the_seller_the_price_less_the_fee_as_pending(
    client, bus, buyer, seller, engine
):
    order = await sell(bus, engine, buyer, seller, price=2050)
    assert await entries(engine, LedgerKind.SALE, order.id) == {
        CASH: 2050,
        pending_account(seller.id): -1947,
        FEES: -103,
    }
    assert await balance(client, seller) == {**ZERO, "pending": 19.47}
    await assert_ledger_balances(engine)


async def test_the_price_is_what_payments_charged_not_what_the_event_says(
    client, bus, buyer, seller, engine
):
    order = await bus.place_order(buyer, price=3000)
    await bus.publish(completed(order, seller.id, price=1))
    await eventually(lambda: entries(engine, LedgerKind.SALE, order.id))
    assert (await balance(client, seller))["pending"] == 28.5


async def test_a_sale_without_a_seller_posts_nothing(counts, bus, buyer, engine):
    order = await bus.place_order(buyer)
    await bus.publish(completed(order, None))
    await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 1)
    assert await transactions(engine) == []


async def test_a_repeated_order_completed_posts_the_sale_once(client, bus, buyer, seller, engine):
    order = await bus.place_order(buyer, price=2000)
    sale = completed(order, seller.id)
    labels = {"service": "payments", "subject": Subject.ORDER_COMPLETED}
    delivered, duplicates = (
        counted(metrics.DELIVERIES, **labels),
        counted(metrics.DUPLICATES, **labels),
    )
    envelope = await bus.publish(sale)
    await bus.publish(sale, envelope_id=envelope.id)  # the same envelope again
    await bus.publish(sale)  # the same fact under a new envelope: a stale version
    await eventually(lambda: delivered() == 3 and duplicates() == 1)
    async with engine.begin() as db:  # and told straight to the service
        await service.post_sale(db, order.id, seller.id, fee_percent=5, currency="usd")
    assert await transactions(engine) == [f"sale:{order.id}"]
    assert (await balance(client, seller))["pending"] == 19


async def test_an_admission_makes_the_sale_available_once(client, bus, buyer, seller, engine):
    order = await sell(bus, engine, buyer, seller)
    await admit(bus, engine, order)
    assert await balance(client, seller) == {**ZERO, "available": 19}
    await bus.publish(admitted(order.id))  # another pass.admitted for the same sale
    await bus.publish(admitted(None))  # one from before passes named the order: ignored
    async with engine.begin() as db:
        assert not await service.release_sale(db, order.id)
    assert await transactions(engine) == [f"sale:{order.id}", f"release:{order.id}"]
    await assert_ledger_balances(engine)


async def test_an_admission_that_overtakes_its_sale_waits_for_it(
    client, bus, buyer, seller, engine
):
    """pass.admitted and order.completed come through separate consumers: an admission that
    arrives first must not leave the seller's money to the hold."""
    order = await bus.place_order(buyer, 2000)
    await bus.publish(admitted(order.id))
    await bus.publish(completed(order, seller.id))
    await eventually(lambda: entries(engine, LedgerKind.RELEASE, order.id), timeout=15)
    assert await balance(client, seller) == {**ZERO, "available": 19}
    await assert_ledger_balances(engine)


async def test_an_admission_for_an_unknown_sale_changes_nothing(counts, bus, engine):
    await bus.publish(admitted(uuid4()))
    await eventually(lambda: counts.applied(Subject.PASS_ADMITTED) == 1)
    assert await transactions(engine) == []


class TestTheHold:
    @pytest.fixture
    def overrides(self) -> dict:
        return {"payout_hold_days": 0.5 / 86400}  # half a second

    async def test_after_the_hold_the_sale_is_available_without_an_admission(
        self, client, bus, buyer, seller, engine, settings
    ):
        order = await sell(bus, engine, buyer, seller)

        async def released():
            await reconciler.release_held_sales(engine, settings)
            return await entries(engine, LedgerKind.RELEASE, order.id)

        assert await eventually(released) == {
            pending_account(seller.id): 1900,
            available_account(seller.id): -1900,
        }
        assert await balance(client, seller) == {**ZERO, "available": 19}
        await admit(bus, engine, order)  # the door admits later: nothing more
        await reconciler.release_held_sales(engine, settings)
        assert len(await transactions(engine)) == 2


async def test_the_hold_keeps_a_recent_sale_pending(client, bus, buyer, seller, engine, settings):
    order = await sell(bus, engine, buyer, seller)
    await reconciler.release_held_sales(engine, settings)
    assert await entries(engine, LedgerKind.RELEASE, order.id) is None
    assert (await balance(client, seller))["pending"] == 19


class TestAReversal:
    async def test_before_release_takes_it_back_from_pending(
        self, client, bus, buyer, seller, engine
    ):
        order = await sell(bus, engine, buyer, seller)
        async with engine.begin() as db:
            assert await service.reverse_sale(db, order.id)
        async with engine.begin() as db:
            assert not await service.reverse_sale(db, order.id)  # once
        assert await balance(client, seller) == ZERO
        await bus.publish(admitted(order.id))  # an admission after the refund releases nothing
        async with engine.begin() as db:
            assert not await service.release_sale(db, order.id)
        assert len(await transactions(engine)) == 2
        await assert_ledger_balances(engine)

    async def test_after_release_takes_it_back_from_available(
        self, client, bus, buyer, seller, engine
    ):
        order = await sell(bus, engine, buyer, seller)
        await admit(bus, engine, order)
        async with engine.begin() as db:
            await service.reverse_sale(db, order.id)
        assert await entries(engine, LedgerKind.REVERSAL, order.id) == {
            CASH: -2000,
            available_account(seller.id): 1900,
            FEES: 100,
        }
        assert await balance(client, seller) == ZERO
        await assert_ledger_balances(engine)

    async def test_that_comes_before_the_sale_keeps_the_sale_from_posting(
        self, client, counts, bus, buyer, seller, engine
    ):
        order = await bus.place_order(buyer)
        async with engine.begin() as db:
            await service.reverse_sale(db, order.id)
        await bus.publish(completed(order, seller.id))
        await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 1)
        assert await transactions(engine) == [f"reversal:{order.id}"]
        assert await balance(client, seller) == ZERO


class TestTheDatabase:
    async def test_refuses_an_unbalanced_transaction_at_commit(self, engine):
        transaction_id = uuid4()
        with pytest.raises(DBAPIError, match="does not balance"):
            async with engine.begin() as db:
                await db.execute(
                    insert(TRANSACTIONS).values(id=transaction_id, key="odd", kind="sale")
                )
                await db.execute(
                    insert(ENTRIES),
                    [
                        {"transaction_id": transaction_id, "account": account, "amount_cents": n}
                        | {"currency": "usd"}
                        for account, n in ((CASH, 100), (FEES, -99))
                    ],
                )
        assert await transactions(engine) == []

    async def test_checks_each_currency_and_accepts_a_balanced_one(self, engine):
        transaction_id = uuid4()
        legs = [(CASH, 100, "usd"), (FEES, -100, "usd"), (CASH, 5, "eur"), (FEES, -5, "eur")]
        async with engine.begin() as db:
            await db.execute(insert(TRANSACTIONS).values(id=transaction_id, key="k", kind="sale"))
            rows = [
                {"transaction_id": transaction_id, "account": a, "amount_cents": n, "currency": c}
                for a, n, c in legs
            ]
            await db.execute(insert(ENTRIES), rows)
        await assert_ledger_balances(engine)

    async def test_refuses_to_change_or_delete_a_posted_entry(self, bus, buyer, seller, engine):
        await sell(bus, engine, buyer, seller)
        for statement in (
            "UPDATE ledger_entries SET amount_cents = amount_cents * 2",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_transactions SET kind = 'release'",
            "DELETE FROM ledger_transactions",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as db:
                    await db.execute(text(statement))


class TestTheBalance:
    async def test_is_the_signed_in_sellers_own(self, client, bus, buyer, seller, engine, settings):
        await sell(bus, engine, buyer, seller)
        assert (await balance(client, seller))["pending"] == 19
        assert await balance(client, buyer) == ZERO
        assert await balance(client, person(settings)) == ZERO

    async def test_needs_a_session(self, client):
        response = await client.get("/api/payouts/balance")
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"]

    async def test_of_a_signed_out_session_is_refused(self, client, bus, settings):
        who, session_id = signed_in(settings)
        assert (await balance(client, who)) == ZERO
        await sign_out(client, bus, who, session_id)
        response = await client.get("/api/payouts/balance", headers=who.headers)
        assert response.status_code == 401

    async def test_ignores_a_query_naming_someone_else(self, client, bus, buyer, seller, engine):
        await sell(bus, engine, buyer, seller)
        response = await client.get(
            "/api/payouts/balance", params={"userId": str(seller.id)}, headers=buyer.headers
        )
        assert response.json() == ZERO
