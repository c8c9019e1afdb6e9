"""The sandbox answers Stripe's test tokens as Stripe's test mode does, idempotently."""

import pytest

from ticketing.payments.providers import (
    CardDeclined,
    InvalidToken,
    SandboxProvider,
    TransferRejected,
)


async def test_tok_visa_is_charged():
    sandbox = SandboxProvider()
    charge_id = (await sandbox.charge(1000, "usd", "tok_visa", "k1")).id
    assert charge_id.startswith("pi_")
    assert sandbox.charges[charge_id].amount_cents == 1000


async def test_tok_charge_declined_is_declined_with_stripes_message():
    with pytest.raises(CardDeclined, match=r"^Your card was declined\.$"):
        await SandboxProvider().charge(1000, "usd", "tok_chargeDeclined", "k1")


async def test_anything_else_is_an_invalid_token():
    with pytest.raises(InvalidToken, match="No such token"):
        await SandboxProvider().charge(1000, "usd", "tok_madeUp", "k1")


async def test_a_repeated_key_replays_its_first_answer():
    sandbox = SandboxProvider()
    first = await sandbox.charge(1000, "usd", "tok_visa", "k1")
    assert await sandbox.charge(1000, "usd", "tok_visa", "k1") == first
    with pytest.raises(CardDeclined):
        await sandbox.charge(1000, "usd", "tok_chargeDeclined", "k2")
    with pytest.raises(CardDeclined):
        await sandbox.charge(1000, "usd", "tok_chargeDeclined", "k2")
    assert len(sandbox.charges) == 1


async def test_a_refund_happens_once():
    sandbox = SandboxProvider()
    charge_id = (await sandbox.charge(1000, "usd", "tok_visa", "k1")).id
    await sandbox.refund(charge_id, "r1")
    await sandbox.refund(charge_id, "r1")
    assert list(sandbox.refunds) == [charge_id]


async def test_a_transfer_to_an_acct_id_is_sent_once_per_key():
    sandbox = SandboxProvider()
    first = await sandbox.transfer(1900, "usd", destination="acct_1", idempotency_key="payout-1")
    again = await sandbox.transfer(1900, "usd", destination="acct_1", idempotency_key="payout-1")
    assert first == again and first.startswith("tr_")
    assert [(t.amount_cents, t.destination) for t in sandbox.transfers.values()] == [
        (1900, "acct_1")
    ]


async def test_a_transfer_to_anything_but_an_acct_id_is_rejected():
    with pytest.raises(TransferRejected, match="No such destination"):
        await SandboxProvider().transfer(100, "usd", destination="ba_1", idempotency_key="k")
