"""Finishes what a crash or a processor outage left half done: stuck attempts, refunds due,
payouts unanswered; and releases sellers' money whose hold is over."""

import asyncio
import logging
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.app import Piece, background_task
from ticketing.common.periodic import every
from ticketing.payments import charging, service, store
from ticketing.payments.providers import PaymentProvider, ProviderError
from ticketing.payments.settings import PaymentsSettings

log = logging.getLogger(__name__)


async def reconcile_once(
    engine: AsyncEngine, provider: PaymentProvider, settings: PaymentsSettings
) -> None:
    await retry_refunds(engine, provider)
    await redrive_stale_attempts(engine, provider, settings)
    await release_held_sales(engine, settings)
    await redrive_stale_payouts(engine, provider, settings)


async def retry_refunds(engine: AsyncEngine, provider: PaymentProvider) -> None:
    async with engine.connect() as db:
        due = await store.pending_refunds(db)
    for payment_id in due:
        async with engine.begin() as db:
            payment = await store.locked_refund(db, payment_id)
            if payment is not None:
                await charging.refund_now(db, provider, payment)


async def redrive_stale_attempts(
    engine: AsyncEngine, provider: PaymentProvider, settings: PaymentsSettings
) -> None:
    """Re-send each with its own key: the processor replays the first answer if the charge
    landed, or charges now if it never arrived — once either way."""
    async with engine.begin() as db:
        stale_after = timedelta(seconds=settings.attempt_stale_seconds)
        attempts = await store.take_stale_attempts(db, stale_after=stale_after)
    for attempt in attempts:
        try:
            await charging.drive(engine, provider, attempt)
        except ProviderError as error:
            log.info("attempt %s re-sent: %s", attempt.id, error)


# ledger


async def release_held_sales(engine: AsyncEngine, settings: PaymentsSettings) -> None:
    """Sales no admission released, once the hold is over; each in its own transaction,
    which takes the order's lock and so cannot race its admission or its refund."""
    async with engine.connect() as db:
        due = await store.sales_due(db, held=timedelta(days=settings.payout_hold_days))
    for order_id in due:
        async with engine.begin() as db:
            await service.release_sale(db, order_id)


async def redrive_stale_payouts(
    engine: AsyncEngine, provider: PaymentProvider, settings: PaymentsSettings
) -> None:
    """Re-send each with its own key: sent once, whether or not the first one arrived."""
    async with engine.begin() as db:
        stale_after = timedelta(seconds=settings.attempt_stale_seconds)
        payouts = await store.stale_payouts(db, stale_after=stale_after)
    for payout in payouts:
        try:
            await charging.drive_payout(engine, provider, payout)
        except ProviderError as error:
            log.info("payout %s re-sent: %s", payout.id, error)


# Stripe sends an event again for up to three days, and lists events of the last 30 days
# for whoever processes them by hand: past that, no delivery of it can come, so its record
# (what makes a delivery a duplicate) has done its work. A day more for the clocks.
PROCESSOR_EVENTS_KEPT = timedelta(days=31)
PROCESSOR_EVENTS_TRIM_SECONDS = 3600.0


async def forget_old_processor_events(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        gone = await store.forget_processor_events(db, PROCESSOR_EVENTS_KEPT)
    if gone:
        kept = PROCESSOR_EVENTS_KEPT.days
        log.info("payments: deleted %d records of processor events over %d days old", gone, kept)


def background(provider: PaymentProvider, settings: PaymentsSettings) -> Piece:
    """For service_app(background=...): the reconcile loop from the start, the trim of the
    processor events' records hourly, and the provider closed after both."""

    async def run(app: FastAPI) -> None:
        engine = app.state.engine
        await asyncio.gather(
            every(
                settings.reconcile_interval_seconds,
                partial(reconcile_once, engine, provider, settings),
                what="payments: reconciling",
                first_after=0,
            ),
            every(
                PROCESSOR_EVENTS_TRIM_SECONDS,
                partial(forget_old_processor_events, engine),
                what="payments: deleting old processor events' records",
            ),
        )

    return background_task(run, name="payments-reconciler", then=provider.aclose)
