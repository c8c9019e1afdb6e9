"""Finishes what a crash or a processor outage left half done: stuck attempts, refunds due."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketing.payments import charging, service
from ticketing.payments.providers import PaymentProvider, ProviderError
from ticketing.payments.settings import PaymentsSettings

log = logging.getLogger(__name__)


async def reconcile_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    settings: PaymentsSettings,
) -> None:
    await retry_refunds(sessionmaker, provider)
    await redrive_stale_attempts(sessionmaker, provider, settings)


async def retry_refunds(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider
) -> None:
    async with sessionmaker() as db:
        due = await service.pending_refunds(db)
    for payment_id in due:
        async with sessionmaker() as db, db.begin():
            payment = await service.locked_refund(db, payment_id)
            if payment is not None:
                await charging.refund_now(db, provider, payment)


async def redrive_stale_attempts(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    settings: PaymentsSettings,
) -> None:
    """Re-send each with its own key: the processor replays the first answer if the charge
    landed, or charges now if it never arrived — once either way."""
    async with sessionmaker() as db, db.begin():
        stale_after = timedelta(seconds=settings.attempt_stale_seconds)
        attempts = await service.take_stale_attempts(db, stale_after=stale_after)
    for attempt in attempts:
        try:
            await charging.drive(sessionmaker, provider, attempt)
        except ProviderError as error:
            log.info("attempt %s re-sent: %s", attempt.id, error)


def background(provider: PaymentProvider, settings: PaymentsSettings):
    """For service_app(background=...): the reconcile loop, and closing the provider."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(app.state.sessionmaker, provider, settings))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await provider.aclose()

    return run


async def _loop(sessionmaker, provider: PaymentProvider, settings: PaymentsSettings) -> None:
    while True:
        try:
            await reconcile_once(sessionmaker, provider, settings)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "payments reconcile failed; next round in %ss", settings.reconcile_interval_seconds
            )
        await asyncio.sleep(settings.reconcile_interval_seconds)
