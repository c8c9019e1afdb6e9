"""The bus admits only known services, each to its own subjects and consumers.

Against the embedded server the fixtures start with the config generated from
ticketing.common.bus.permissions (a NATS_URL given from outside skips these).
"""

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import nats as nats_client
import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from tests.common.bus_support import jetstream, publish_event
from tests.support import bus_prefix, eventually
from ticketing.common.bus.connection import BusNames, ensure_stream
from ticketing.common.bus.permissions import (
    CONSUMES,
    FOLLOWS_REVOCATIONS,
    PUBLISHES,
    SESSIONS_STREAM,
    durable_name,
)
from ticketing.common.bus.retention import CLOCKS_MARGIN, processed_events_kept
from ticketing.common.events import SessionRevoked, Subject
from ticketing.expiration import listeners as expiration
from ticketing.notifications import listeners as notifications
from ticketing.notifications.domain import Site
from ticketing.orders import listeners as orders
from ticketing.passes import listeners as passes
from ticketing.payments import listeners as payments
from ticketing.tickets import listeners as tickets

LISTENERS = {
    "tickets": tickets.SUBSCRIPTIONS,
    "orders": orders.SUBSCRIPTIONS,
    "expiration": expiration.SUBSCRIPTIONS,
    "payments": payments.subscriptions(provider=None),
    "passes": passes.subscriptions(key=b""),
    "notifications": notifications.subscriptions(Site("", "", "")),
}


@pytest.mark.parametrize("service", sorted(CONSUMES))
def test_each_service_listens_to_exactly_what_the_table_lets_it_consume(service):
    assert set(LISTENERS.get(service, {})) == CONSUMES[service]


def test_every_subject_has_exactly_one_publisher():
    published = [subject for subjects in PUBLISHES.values() for subject in subjects]
    assert sorted(published) == sorted(Subject)
    assert set(CONSUMES) == set(PUBLISHES) >= FOLLOWS_REVOCATIONS


@asynccontextmanager
async def connected_as(nats_fixture, user: str):
    """A connection as `user`, and the errors the server sent it (permission violations)."""
    name, password = nats_fixture.credentials(user)
    errors: list[str] = []

    async def collect(error: Exception) -> None:
        errors.append(str(error).lower())

    nc = await nats_client.connect(
        nats_fixture.server.url, user=name, password=password, error_cb=collect
    )
    try:
        yield nc, errors
    finally:
        await nc.close()


@pytest.fixture
async def names(nats) -> BusNames:
    names = BusNames(bus_prefix())
    async with jetstream(nats.url, names):  # provisioned as admin
        pass
    return names


async def violation(errors: list[str], subject: str) -> None:
    async def seen():
        return any("permissions violation" in e and subject.lower() in e for e in errors)

    await eventually(seen)


async def test_an_anonymous_client_is_refused(nats):
    nats.credentials("admin")  # skips for a NATS_URL given from outside
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats_client.connect(nats.server.url, allow_reconnect=False, connect_timeout=2)


async def test_a_wrong_password_is_refused(nats):
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats_client.connect(
            nats.server.url,
            user=nats.credentials("payments")[0],
            password="not-the-password",
            allow_reconnect=False,
            connect_timeout=2,
        )


async def test_a_service_publishes_its_own_subjects_but_cannot_forge_anothers(nats, names):
    async with connected_as(nats, "tickets") as (nc, errors):
        js = nc.jetstream()
        await ensure_stream(js, names)  # what every service does at start
        ack = await js.publish(names.subject(Subject.TICKET_CREATED), b"{}", stream=names.stream)
        assert ack.seq > 0
        forged = names.subject(Subject.PAYMENT_CREATED)
        with pytest.raises(NatsTimeout):  # the server drops it: no stream ack ever comes
            await js.publish(forged, b"{}", stream=names.stream, timeout=1)
        await violation(errors, forged)
    async with jetstream(nats.url, names) as admin:
        info = await admin.stream_info(names.stream, subjects_filter=">")
        assert info.state.subjects == {names.subject(Subject.TICKET_CREATED): 1}


async def test_a_service_reads_the_streams_but_can_neither_make_nor_change_one(nats, names):
    """The admin makes the streams (`ticketing streams`): a service broken into cannot cut
    what they keep, nor make a stream of its own to take subjects or fill the store."""
    async with connected_as(nats, "tickets") as (nc, errors):
        js = nc.jetstream(timeout=1)
        kept = (await js.stream_info(names.stream)).config
        # how long its processed-event records must stay (common/bus/retention.py)
        assert await processed_events_kept(js, names) == CLOCKS_MARGIN + timedelta(
            seconds=kept.max_age or 0
        )
        with pytest.raises(NatsTimeout):  # dropped by the server: no answer ever comes
            await js.update_stream(replace(kept, max_age=1.0, max_msgs=1))
        await violation(errors, f"$JS.API.STREAM.UPDATE.{names.stream}")
        own = f"{names.stream}_OWN"
        with pytest.raises(NatsTimeout):
            await js.add_stream(name=own, subjects=[f"{own}.>"])
        await violation(errors, f"$JS.API.STREAM.CREATE.{own}")
    async with jetstream(nats.url, names) as admin:
        assert (await admin.stream_info(names.stream)).config == kept
        with pytest.raises(NotFoundError):
            await admin.stream_info(own)


async def test_a_service_cannot_read_through_another_services_consumer(nats, names):
    """Orders' durable exists and holds a message; tickets may see that it exists (consumer
    info is how a revocation feed knows it is caught up) but never pulls from it."""
    theirs = durable_name("orders", Subject.PAYMENT_CREATED)
    async with jetstream(nats.url, names) as admin:
        await admin.pull_subscribe(
            names.subject(Subject.PAYMENT_CREATED), durable=theirs, stream=names.stream
        )
        await admin.publish(names.subject(Subject.PAYMENT_CREATED), b"{}", stream=names.stream)
    async with connected_as(nats, "tickets") as (nc, errors):
        js = nc.jetstream(timeout=1)
        sub = await js.pull_subscribe_bind(durable=theirs, stream=names.stream)
        with pytest.raises(NatsTimeout):
            await sub.fetch(1, timeout=1)
        await violation(errors, f"$JS.API.CONSUMER.MSG.NEXT.{names.stream}.{theirs}")
    async with jetstream(nats.url, names) as admin:
        info = await admin.consumer_info(names.stream, theirs)
        assert (info.num_pending, info.num_ack_pending) == (1, 0), "nothing was handed out"


async def test_a_services_own_durable_cannot_be_pointed_at_another_subject(nats, names):
    async with connected_as(nats, "tickets") as (nc, errors):
        js = nc.jetstream(timeout=1)
        own = durable_name("tickets", Subject.ORDER_CREATED)
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT)
        with pytest.raises(NatsTimeout):
            await js.pull_subscribe(
                names.subject(Subject.PAYMENT_CREATED),
                durable=own,
                stream=names.stream,
                config=config,
            )
        await violation(errors, f"$JS.API.CONSUMER.CREATE.{names.stream}.{own}.")


async def test_an_ephemeral_consumer_cannot_take_a_durable_name(nats, names):
    """The one consumer-creating subject not tied to a name refuses durables server-side,
    so a session follower cannot squat a name there either."""
    async with connected_as(nats, "orders") as (nc, _):
        request = {
            "stream_name": names.sessions_stream,
            "config": {
                "durable_name": "orders-session-revoked",
                "ack_policy": "explicit",
                "filter_subject": names.subject(Subject.SESSION_REVOKED),
            },
        }
        reply = await nc.request(
            f"$JS.API.CONSUMER.CREATE.{names.sessions_stream}",
            json.dumps(request).encode(),
            timeout=2,
        )
        assert "error" in json.loads(reply.data)


async def test_a_service_follows_session_revoked_with_an_ordered_consumer(nats, names):
    revoked = SessionRevoked(
        session_id="00000000-0000-4000-8000-000000000001",
        user_id="00000000-0000-4000-8000-000000000002",
        expires_at=datetime.now(UTC),
    )
    async with connected_as(nats, "orders") as (nc, errors):
        arrived: asyncio.Queue = asyncio.Queue()

        async def keep(msg) -> None:
            await arrived.put(json.loads(msg.data))

        sub = await nc.jetstream().subscribe(
            names.subject(Subject.SESSION_REVOKED),
            stream=names.sessions_stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            config=ConsumerConfig(opt_start_time=datetime.now(UTC).isoformat()),
            cb=keep,
        )
        async with jetstream(nats.url, names) as admin:
            await publish_event(admin, names, revoked)
        message = await asyncio.wait_for(arrived.get(), timeout=5)
        assert message["data"]["sessionId"] == str(revoked.session_id)
        await sub.unsubscribe()
        assert errors == []


async def test_a_service_without_sessions_cannot_create_consumers_of_its_own(nats, names):
    async with connected_as(nats, "expiration") as (nc, errors):
        with pytest.raises(NatsTimeout):
            await nc.jetstream(timeout=1).subscribe(
                names.subject(Subject.SESSION_REVOKED),
                stream=names.sessions_stream,
                ordered_consumer=True,
            )
        await violation(errors, f"$JS.API.CONSUMER.CREATE.{names.sessions_stream}")


async def test_following_sessions_reads_no_other_event(nats, names):
    """The ephemeral consumer a session-following service may create is on the sessions
    stream alone: pointed at the events stream, to read payments, it is refused."""
    async with connected_as(nats, "orders") as (nc, errors):
        with pytest.raises(NatsTimeout):
            await nc.jetstream(timeout=1).subscribe(
                names.subject(Subject.PAYMENT_CREATED),
                stream=names.stream,
                ordered_consumer=True,
            )
        await violation(errors, f"$JS.API.CONSUMER.CREATE.{names.stream}")


def test_the_permissions_name_the_sessions_stream_the_bus_uses():
    assert SESSIONS_STREAM == BusNames("any").sessions_stream == BusNames().sessions_stream
