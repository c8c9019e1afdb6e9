"""The loop every service's deleting-what-is-past-its-time job runs in."""

import asyncio
import logging

import pytest

from tests.support import eventually
from ticketing.common import periodic


async def test_a_failed_round_is_logged_and_the_rounds_go_on_until_cancelled(caplog):
    rounds: list[int] = []

    async def job() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database away")

    caplog.set_level(logging.WARNING, logger=periodic.__name__)
    loop = asyncio.create_task(periodic.every(0.01, job, what="deleting", first_after=0))
    await eventually(lambda: len(rounds) >= 3)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert "deleting failed: RuntimeError('database away')" in caplog.text


async def test_the_first_round_waits_for_the_start_to_be_over(monkeypatch):
    """Not the whole period (a replica redeployed hourly would never run an hourly job),
    but not at once either."""
    monkeypatch.setattr(periodic, "FIRST_ROUND_SECONDS", 0.3)
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    loop = asyncio.create_task(periodic.every(3600, job, what="deleting"))
    try:
        await asyncio.sleep(0)
        assert not ran.is_set()
        await asyncio.wait_for(ran.wait(), timeout=10)
    finally:
        loop.cancel()
