"""An order whose expiresAt is already past when expiration stores its timer (expiration was
down while it was made) expires at once, not after some sleep cap."""

import asyncio
import time
from datetime import UTC, datetime
from uuid import uuid4

from tests.journeys import order_when_replicated, wait_for_ticket
from tests.support import cookie_for, eventually, running
from tests.system import running_system
from ticketing.expiration.app import create_app
from ticketing.expiration.settings import ExpirationSettings


async def test_a_timer_already_due_when_stored_fires_at_once(postgres, nats):
    async with running_system(
        postgres, nats, services=["tickets", "orders"], expiration_window_seconds=1
    ) as system:
        settings = system.settings["orders"]
        seller = system.client(cookies=cookie_for(settings, uuid4()))
        buyer = system.client(cookies=cookie_for(settings, uuid4()))
        ticket = (await seller.post("/api/tickets", json={"title": "Late", "price": 5})).json()

        order = await order_when_replicated(buyer, ticket["id"])
        due = datetime.fromisoformat(order["expiresAt"])
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
        expiration = create_app(
            ExpirationSettings(
                database_url=await postgres.fresh_database("expiration"),
                nats_url=nats.url,
                jwt_public_key=settings.jwt_public_key,
                bus_prefix=system.prefix,
                timer_max_sleep_seconds=60,  # so only "due now" can explain a prompt firing
            )
        )
        async with running(expiration):
            started = time.monotonic()

            async def cancelled() -> bool:
                answer = await buyer.get(f"/api/orders/{order['id']}")
                return answer.json()["status"] == "cancelled"

            await eventually(cancelled, timeout=10)
            took = time.monotonic() - started
            await wait_for_ticket(seller, ticket["id"], "available")
    assert took < 5, f"a past-due timer took {took:.1f}s to fire"
