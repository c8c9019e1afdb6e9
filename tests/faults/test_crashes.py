"""A service SIGKILLed at the worst moments, as a real process its supervisor restarts.

Tickets runs as its own process (`ticketing serve tickets` under runtime.supervisor.Child)
with a crash injected through TICKETING_FAULT (common/faults.py); orders runs in process
and watches what tickets publishes. Killed between commit and publish, or between publish
and marking the row sent, the restarted process sends the event and the stream holds it
once (guarantee 2, Nats-Msg-Id dedupe). Killed after a listener's commit but before its
ack, the redelivered event is skipped by processed_events and takes effect once (3).
"""

import contextlib
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from tests.common.bus_support import engine, jetstream, stream_messages
from tests.faults.processes import metric, ready, supervised
from tests.faults.support import rows
from tests.support import cookie_for, eventually
from tests.system import running_system
from ticketing.common.bus.connection import BusNames

pytestmark = pytest.mark.slow


async def _outbox(tickets_db: str) -> list:
    async with engine(tickets_db) as db_engine, db_engine.connect() as db:
        query = "SELECT id, subject, published_at FROM outbox ORDER BY seq"
        return list((await db.execute(text(query))).all())


async def _published(nats_url: str, prefix: str, subject: str) -> list[dict]:
    names = BusNames(prefix)
    async with jetstream(nats_url, names) as js:
        return [m for m in await stream_messages(js, names) if m["subject"] == subject]


async def _stored_at(nats_url: str, prefix: str) -> datetime:
    """When the server stored the stream's first message (by its clock, this machine's)."""
    names = BusNames(prefix)
    async with jetstream(nats_url, names) as js:
        first = (await js.stream_info(names.stream)).state.first_seq
        return (await js.get_msg(names.stream, first)).time


@pytest.mark.parametrize("fault", ["crash_before_publish", "crash_after_publish"])
async def test_a_service_killed_around_its_publish_sends_the_event_once_after_restart(
    postgres, nats, tmp_path, fault
):
    async with running_system(postgres, nats, services=["orders"]) as system:
        tickets_db = await postgres.fresh_database("tickets")
        crashed = tmp_path / "crashed"
        async with supervised(
            "tickets",
            DATABASE_URL=tickets_db,
            NATS_URL=nats.url,
            BUS_PREFIX=system.prefix,
            TICKETING_FAULT=fault,
            TICKETING_FAULT_ONCE=str(crashed),
        ) as tickets:
            seller = cookie_for(system.settings["orders"])
            async with httpx.AsyncClient(base_url=tickets.url, cookies=seller) as http:
                with contextlib.suppress(httpx.TransportError):  # the kill may cut it short
                    await http.post("/api/tickets", json={"title": "Crash", "price": 10})
            await eventually(lambda: tickets.restarts == 1, timeout=15)
            await ready(tickets)

            async def sent() -> list:
                staged = await _outbox(tickets_db)
                assert staged and all(r.published_at is not None for r in staged)
                return staged

            staged = await eventually(sent, timeout=10)
            assert crashed.exists()
            # The kill came where its name says: the event was stored before it (after the
            # publish) or after it, by the restarted process (before the publish). The
            # marker file holds the instant of the kill.
            died = datetime.fromtimestamp(int(crashed.read_text()) / 1e9, UTC)
            stored = await _stored_at(nats.url, system.prefix)
            assert (stored < died) == (fault == "crash_after_publish"), (stored, died)
            assert [r.subject for r in staged] == ["ticket.created"]
            stream = await _published(nats.url, system.prefix, "ticket.created")
            assert [m["id"] for m in stream] == [str(staged[0].id)]
            assert await metric(tickets, "events_published_total", subject="ticket.created") == 1

            async def replicated() -> list:
                return await rows(system, "orders", "SELECT id, version FROM tickets")

            replicas = await eventually(replicated, timeout=10)
            assert [r.version for r in replicas] == [0]


async def test_a_listener_killed_before_its_ack_applies_the_redelivered_event_once(
    postgres, nats, tmp_path
):
    async with running_system(postgres, nats, services=["orders"]) as system:
        tickets_db = await postgres.fresh_database("tickets")
        async with supervised(
            "tickets",
            DATABASE_URL=tickets_db,
            NATS_URL=nats.url,
            BUS_PREFIX=system.prefix,
            LISTENER_ACK_WAIT_SECONDS="2",  # redelivery comes this long after the kill
            TICKETING_FAULT="crash_before_ack",
            TICKETING_FAULT_ONCE=str(tmp_path / "crashed"),
        ) as tickets:
            settings = system.settings["orders"]
            seller, buyer = cookie_for(settings, uuid4()), cookie_for(settings, uuid4())
            async with httpx.AsyncClient(base_url=tickets.url, cookies=seller) as http:
                listed = await http.post("/api/tickets", json={"title": "Kill", "price": 10})
            assert listed.status_code == 201, listed.text
            ticket_id = listed.json()["id"]

            async with system.client(cookies=buyer) as client:

                async def order():
                    response = await client.post("/api/orders", json={"ticketId": ticket_id})
                    assert response.status_code == 201, response.text
                    return response.json()

                order_id = (await eventually(order, timeout=10))["id"]  # once replicated
            await eventually(lambda: tickets.restarts == 1, timeout=15)
            await ready(tickets)

            async def skipped_as_duplicate() -> bool:
                labels = {"service": "tickets", "subject": "order.created"}
                return await metric(tickets, "events_duplicate_total", **labels) == 1

            await eventually(skipped_as_duplicate, timeout=20)
            async with engine(tickets_db) as db_engine, db_engine.connect() as db:
                query = "SELECT order_id, version, status FROM tickets WHERE id = :id"
                stored = (await db.execute(text(query), {"id": UUID(ticket_id)})).one()
            assert (str(stored.order_id), stored.version, stored.status) == (
                order_id,
                1,
                "reserved",
            )

            async def updates() -> list:
                published = await _published(nats.url, system.prefix, "ticket.updated")
                return [(m["data"]["id"], m["data"]["version"]) for m in published] or None

            assert await eventually(updates, timeout=10) == [(ticket_id, 1)]
