"""Pure ledger rules: the fee, the entries of each fact, balance refused when off. No I/O."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tests.payments.test_domain import BASE
from ticketing.common.refusals import Invalid
from ticketing.payments import domain
from ticketing.payments.domain import (
    CASH,
    FEES,
    Entry,
    LedgerKind,
    Payout,
    PayoutStatus,
    Unbalanced,
    available_account,
    pending_account,
)
from ticketing.payments.settings import PaymentsSettings

FIVE = Decimal(5)


def by_account(transaction) -> dict[str, int]:
    return {entry.account: entry.amount_cents for entry in transaction.entries}


@pytest.mark.parametrize(
    ("price", "percent", "fee"),
    [
        (2000, FIVE, 100),
        (2050, FIVE, 103),
        (1010, FIVE, 51),
        (1009, FIVE, 50),
        (999, Decimal(0), 0),
    ],
)
def test_the_fee_is_the_percentage_rounded_half_up_to_the_cent(price, percent, fee):
    assert domain.fee_cents(price, percent) == fee


def test_a_fractional_percentage_is_honoured():
    assert domain.fee_cents(1000, Decimal("2.5")) == 25


def test_a_sale_takes_the_cash_and_owes_the_seller_the_price_less_the_fee_pending():
    order, seller = uuid4(), uuid4()
    sale = domain.sale(order, seller, 2050, "usd", FIVE)
    assert (sale.key, sale.kind, sale.order_id, sale.user_id) == (
        f"sale:{order}",
        LedgerKind.SALE,
        order,
        seller,
    )
    assert by_account(sale) == {CASH: 2050, pending_account(seller): -1947, FEES: -103}


def test_a_release_moves_all_of_the_pending_credit_to_available():
    order, seller = uuid4(), uuid4()
    release = domain.release(domain.sale(order, seller, 2000, "usd", FIVE))
    assert release.key == f"release:{order}"
    assert by_account(release) == {pending_account(seller): 1900, available_account(seller): -1900}


def test_a_reversal_before_release_undoes_the_sale_from_pending():
    order, seller = uuid4(), uuid4()
    reversal = domain.reversal(order, [domain.sale(order, seller, 2000, "usd", FIVE)])
    assert reversal.key == f"reversal:{order}"
    assert by_account(reversal) == {CASH: -2000, pending_account(seller): 1900, FEES: 100}


def test_a_reversal_after_release_takes_it_from_available():
    order, seller = uuid4(), uuid4()
    sale = domain.sale(order, seller, 2000, "usd", FIVE)
    reversal = domain.reversal(order, [sale, domain.release(sale)])
    assert by_account(reversal) == {CASH: -2000, available_account(seller): 1900, FEES: 100}
    assert reversal.user_id == seller


def test_a_reversal_of_nothing_posted_is_empty():
    reversal = domain.reversal(uuid4(), [])
    assert (reversal.entries, reversal.user_id) == ((), None)


def test_a_transaction_that_does_not_balance_is_refused():
    with pytest.raises(Unbalanced):
        domain.ledger_transaction(
            LedgerKind.SALE, uuid4(), [Entry(CASH, 100, "usd"), Entry(FEES, -99, "usd")]
        )


def test_balance_is_per_currency():
    with pytest.raises(Unbalanced):
        domain.ledger_transaction(
            LedgerKind.SALE, uuid4(), [Entry(CASH, 100, "usd"), Entry(FEES, -100, "eur")]
        )


def a_payout(amount: int = 1900) -> Payout:
    return Payout(
        uuid4(),
        uuid4(),
        amount,
        "usd",
        "acct_1",
        PayoutStatus.PENDING,
        datetime.now(UTC),
        None,
        None,
    )


def test_a_payout_takes_the_available_balance_out_of_cash_and_a_failure_puts_it_back():
    payout = a_payout()
    booked, failed = domain.payout_booked(payout), domain.payout_failed(payout)
    assert booked.key == f"payout:{payout.id}"
    assert failed.key == f"payout-failed:{payout.id}"
    assert by_account(booked) == {available_account(payout.user_id): 1900, CASH: -1900}
    assert by_account(failed) == {available_account(payout.user_id): -1900, CASH: 1900}
    assert domain.transfer_key(payout.id) == f"payout-{payout.id}"


def test_a_payout_needs_an_account_and_something_available():
    with pytest.raises(Invalid, match="Add a payout account first"):
        domain.payout_amount(None, 500)
    for available in (0, -300):  # below zero: a debt from a refund after a payout
        with pytest.raises(Invalid, match="Nothing to pay out"):
            domain.payout_amount("acct_1", available)
    assert domain.payout_amount("acct_1", 500) == 500


def test_the_fee_and_hold_default_to_five_percent_and_seven_days_within_bounds():
    settings = PaymentsSettings(**BASE)
    assert (settings.platform_fee_percent, settings.payout_hold_days) == (FIVE, 7)
    assert PaymentsSettings(**BASE, payout_hold_days="0.0001").payout_hold_days == 0.0001
    for percent in ("-1", "51"):
        with pytest.raises(ValidationError, match="platform_fee_percent"):
            PaymentsSettings(**BASE, platform_fee_percent=percent)
