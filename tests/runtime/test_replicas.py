"""`ticketing up --replicas 2`: every service twice, sharing databases and consumers."""

import asyncio
import os
import re
import signal
from collections import Counter
from uuid import uuid4

import asyncpg
import httpx
import nats
import pytest

from tests.runtime.up_support import ticketing_up
from tests.support import eventually
from ticketing.common.bus.connection import BusNames

pytestmark = pytest.mark.slow

METRIC = re.compile(r"^(\w+)\{([^}]*)\} ([0-9.e+]+)$")


async def scrape(url: str) -> list[tuple[str, dict, float]]:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    samples = []
    for line in text.splitlines():
        if match := METRIC.match(line):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
            samples.append((match[1], labels, float(match[3])))
    return samples


async def per_replica(up, service: str, metric: str) -> dict[str, Counter]:
    """{replica label: Counter(subject → value)} for one metric of one service."""
    counts = {}
    for process in up.processes(service):
        counter = Counter()
        for name, labels, value in await scrape(process["url"]):
            if name == metric and labels.get("service") == service:
                counter[labels["subject"]] += value
        counts[process["label"]] = counter
    return counts


async def stream_subjects(nats_url: str) -> Counter:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        names = BusNames()
        info = await js.stream_info(names.stream, subjects_filter=">")
        return Counter(info.state.subjects or {})
    finally:
        await nc.close()


async def sign_up(http: httpx.AsyncClient, name: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=str(http.base_url), timeout=10)
    response = await client.post(
        "/api/users/signup",
        json={"email": f"{name}-{uuid4().hex[:8]}@example.com", "password": "password123"},
    )
    assert response.status_code == 201, response.text
    return client


async def order_when_replicated(buyer, ticket_id) -> httpx.Response:
    async def attempt():
        response = await buyer.post("/api/orders", json={"ticketId": ticket_id})
        assert response.status_code != 404, response.text
        return response

    return await eventually(attempt, timeout=15)


async def test_two_replicas_of_everything_buy_and_expire_each_event_handled_once(tmp_path):
    with ticketing_up(tmp_path / "data", replicas=2, EXPIRATION_WINDOW_SECONDS="8") as up:
        async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:
            seller = await sign_up(http, "seller")
            tickets = [
                (
                    await seller.post("/api/tickets", json={"title": f"Show {i}", "price": 10 + i})
                ).json()
                for i in range(8)
            ]
            buyers = [await sign_up(http, f"buyer{i}") for i in range(8)]
            orders = []
            for buyer, ticket in zip(buyers, tickets, strict=True):
                response = await order_when_replicated(buyer, ticket["id"])
                assert response.status_code == 201, response.text
                orders.append(response.json())
            for buyer, order in list(zip(buyers, orders, strict=True))[:4]:

                async def pay(buyer=buyer, order=order):
                    reply = await buyer.post(
                        "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
                    )
                    assert reply.status_code == 201, reply.text
                    return True

                await eventually(pay, timeout=10)

            async def settled():
                statuses = [
                    (await b.get(f"/api/orders/{o['id']}")).json()["status"]
                    for b, o in zip(buyers, orders, strict=True)
                ]
                assert statuses == ["complete"] * 4 + ["cancelled"] * 4, statuses
                for i, ticket in enumerate(tickets):
                    status = (await http.get(f"/api/tickets/{ticket['id']}")).json()["status"]
                    assert status == ("sold" if i < 4 else "available"), (i, status)
                return True

            await eventually(settled, timeout=30)
            for client in [seller, *buyers]:
                await client.aclose()

        in_stream = await stream_subjects(up.state["nats_url"])
        assert in_stream["expiration.complete"] == 4  # each timer fired once, in effect
        consumers = {
            "tickets": ["order.created", "order.cancelled", "order.completed"],
            "orders": [
                "ticket.created",
                "ticket.updated",
                "expiration.complete",
                "payment.created",
            ],
            "expiration": ["order.created"],
            "payments": ["order.created", "order.cancelled"],
        }

        async def all_applied():
            for service, subjects in consumers.items():
                applied = await per_replica(up, service, "events_applied_total")
                assert len(applied) == 2
                total = sum(applied.values(), Counter())
                for subject in subjects:
                    assert total[subject] == in_stream[subject], (service, subject, total)
            return True

        await eventually(all_applied, timeout=15)
        for service in consumers:
            duplicates = await per_replica(up, service, "events_duplicate_total")
            assert sum(sum(c.values()) for c in duplicates.values()) == 0, (service, duplicates)
        handled_by_both = [
            service
            for service in consumers
            if all(
                sum(c.values()) > 0
                for c in (await per_replica(up, service, "events_applied_total")).values()
            )
        ]
        assert handled_by_both, "the work was never shared between replicas"

        for service in ["tickets", "orders", "expiration", "payments"]:
            published = await per_replica(up, service, "events_published_total")
            total = sum(sum(c.values()) for c in published.values())
            conn = await asyncpg.connect(up.state["databases"][service])
            try:
                rows = await conn.fetchval("SELECT count(*) FROM outbox")
                pending = await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                )
            finally:
                await conn.close()
            assert (total, pending) == (rows, 0), service  # drained once, all of it


async def test_killing_an_orders_replica_mid_stream_loses_no_order_and_sells_nothing_twice(
    tmp_path,
):
    # The Python gateway, which runs where nginx is not installed: it too skips a replica
    # that is gone and never sends an order twice.
    with ticketing_up(
        tmp_path / "data", replicas=2, gateway="python", LISTENER_ACK_WAIT_SECONDS="3"
    ) as up:
        async with httpx.AsyncClient(base_url=up.url, timeout=15) as http:
            seller = await sign_up(http, "seller")
            tickets = [
                (await seller.post("/api/tickets", json={"title": f"Gig {i}", "price": 20})).json()[
                    "id"
                ]
                for i in range(20)
            ]
            buyers = [await sign_up(http, f"buyer{i}") for i in range(40)]
            await order_when_replicated(buyers[0], tickets[-1])  # replica has caught up
            victim = up.processes("orders")[0]

            async def buy(i: int) -> httpx.Response | None:
                await asyncio.sleep(0.02 * i)
                try:
                    return await buyers[i].post("/api/orders", json={"ticketId": tickets[i % 19]})
                except httpx.TransportError:
                    return None  # the request died with its replica: not an order

            async def kill_midway():
                await asyncio.sleep(0.3)
                os.kill(victim["pid"], signal.SIGKILL)

            replies, _ = await asyncio.gather(
                asyncio.gather(*(buy(i) for i in range(40))), kill_midway()
            )
            created = [r.json()["id"] for r in replies if r is not None and r.status_code == 201]
            refused = [r for r in replies if r is not None and r.status_code == 400]
            assert created, "no order went through"
            assert all(
                r.json()["errors"][0]["message"] == "Ticket is already reserved" for r in refused
            )

            conn = await asyncpg.connect(up.state["databases"]["orders"])
            try:
                rows = await conn.fetch(
                    "SELECT id::text, ticket_id FROM orders WHERE status <> 'cancelled'"
                )
            finally:
                await conn.close()
            stored = {row["id"] for row in rows}
            assert set(created) <= stored  # no 201 without its order
            per_ticket = Counter(row["ticket_id"] for row in rows)
            assert max(per_ticket.values()) == 1  # nothing sold twice

            async def every_order_reached_tickets():
                for ticket_id in {str(t) for t in per_ticket}:
                    reply = await http.get(f"/api/tickets/{ticket_id}")
                    assert reply.json()["status"] == "reserved", reply.json()
                return True

            await eventually(every_order_reached_tickets, timeout=30)
            for client in [seller, *buyers]:
                await client.aclose()
