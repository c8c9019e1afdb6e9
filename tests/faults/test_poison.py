"""Poison messages on a running service: retried up to the limit, logged as dead letters,
terminated, and never in the way of the good messages behind them."""

from uuid import uuid4

from tests.common.bus_support import counted, envelope_bytes, jetstream
from tests.journeys import order_when_replicated, wait_for_ticket
from tests.support import cookie_for, eventually
from tests.system import running_system
from ticketing.common import metrics
from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.listener import durable_name
from ticketing.common.events import Envelope, Subject


async def test_poison_is_dead_lettered_while_the_order_behind_it_reserves_its_ticket(
    postgres, nats, caplog
):
    async with running_system(
        postgres, nats, services=["tickets", "orders"], listener_max_attempts=4
    ) as system:
        settings = system.settings["tickets"]
        seller = system.client(cookies=cookie_for(settings, uuid4()))
        buyer = system.client(cookies=cookie_for(settings, uuid4()))
        ticket = (await seller.post("/api/tickets", json={"title": "Poison", "price": 5})).json()

        names = BusNames(system.prefix)
        schema_invalid = Envelope(subject=Subject.ORDER_CREATED, data={"id": "not-a-uuid"})
        dead = counted(metrics.DEAD_LETTERS, service="tickets", subject=Subject.ORDER_CREATED)
        async with jetstream(nats.url, names) as js:
            subject = names.subject(Subject.ORDER_CREATED)
            await js.publish(subject, envelope_bytes(schema_invalid), stream=names.stream)
            await js.publish(subject, b"\x00 not even json", stream=names.stream)
            await order_when_replicated(buyer, ticket["id"])
            await wait_for_ticket(seller, ticket["id"], "reserved")
            assert dead() == 0, "the good order waited for the poison"
            await eventually(lambda: dead() == 2, timeout=15)

            async def nothing_left() -> bool:
                # the last term() is sent just after the count goes up; give it a moment
                consumer = await js.consumer_info(
                    names.stream, durable_name("tickets", Subject.ORDER_CREATED)
                )
                return (consumer.num_pending, consumer.num_ack_pending) == (0, 0)

            await eventually(nothing_left, timeout=5)
    dead = [r.getMessage() for r in caplog.records if "dead letter" in r.getMessage()]
    assert len(dead) == 2
    assert all("service=tickets subject=order.created attempt=4" in line for line in dead)
    assert any(str(schema_invalid.id) in line for line in dead)
