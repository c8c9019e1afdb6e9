"""The sandbox answers Stripe's test tokens as Stripe's test mode does, idempotently."""

import pytest

from ticketing.payments.providers import CardDeclined, InvalidToken, SandboxProvider


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
