"""The sender: a mail is marked sent only once the server took it; none lost, none twice."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aiosmtplib
import pytest
from sqlalchemy import insert, select

from tests.common import bus_support
from tests.common.bus_support import settle
from tests.notifications.events import email_of, order_completed, order_created, user_created
from tests.support import KEYS, eventually, running
from ticketing.common import periodic
from ticketing.common.events import Subject
from ticketing.common.rows import values
from ticketing.notifications import store
from ticketing.notifications.app import create_app
from ticketing.notifications.domain import MailKind, MailStatus, Person, Site, compose
from ticketing.notifications.models import Mail
from ticketing.notifications.sender import CONCURRENCY, Sender, refused_for_good
from ticketing.notifications.settings import NotificationsSettings


async def mails(engine) -> list:
    async with engine.connect() as db:
        return list((await db.execute(select(Mail))).all())


async def test_mails_written_while_the_server_is_down_arrive_once_when_it_is_back(
    counts, started, engine, bus, smtp
):
    buyers, seller = [uuid4() for _ in range(20)], uuid4()
    for user_id in (*buyers, seller):
        await bus.publish(user_created(user_id))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 21)

    await asyncio.to_thread(smtp.stop)
    for buyer in buyers:
        await bus.publish(order_completed(uuid4(), buyer, seller))
    await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 20)

    async def all_tried_and_failed() -> bool:
        rows = await mails(engine)
        return len(rows) == 40 and all(r.attempts >= 1 and r.status == "pending" for r in rows)

    await eventually(all_tried_and_failed, timeout=10)
    await asyncio.sleep(8)  # the outage goes on: mails keep failing and backing off
    assert smtp.received == []
    assert all(row.last_error for row in await mails(engine))

    await asyncio.to_thread(smtp.start)  # back, on the same port
    await smtp.wait_for(40, timeout=30)
    await settle(2.5)  # past the longest backoff: a mail sent twice would show by now
    received = smtp.received
    assert len(received) == 40
    assert len({m.message["Message-ID"] for m in received}) == 40
    assert sorted(m.to for m in received) == sorted(
        [email_of(buyer) for buyer in buyers] + [email_of(seller)] * 20
    )
    rows = await mails(engine)
    assert {r.message_id for r in rows} == {m.message["Message-ID"] for m in received}
    assert all(r.status == "sent" for r in rows)


async def test_a_refused_mail_is_sent_again_later_with_the_same_message_id(
    counts, started, engine, bus, smtp
):
    buyer = uuid4()
    await bus.publish(user_created(buyer))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 1)
    smtp.inbox.refusing = True
    await bus.publish(order_created(uuid4(), buyer))
    await eventually(lambda: len(smtp.inbox.refused) >= 2, timeout=10)
    [row] = await mails(engine)
    assert row.status == "pending" and row.sent_at is None
    assert "451" in row.last_error

    smtp.inbox.refusing = False
    [mail] = await smtp.wait_for(1, timeout=10)
    await settle(1.0)
    assert len(smtp.received) == 1
    assert {m.message["Message-ID"] for m in smtp.inbox.refused} == {mail.message["Message-ID"]}
    [row] = await mails(engine)
    assert (
        row.status == "sent" and row.attempts >= 3 and row.message_id == mail.message["Message-ID"]
    )


async def test_a_mail_to_a_mailbox_that_does_not_exist_is_given_up_at_once(
    counts, started, engine, bus, smtp, caplog
):
    """A 5xx answer to the recipient is the server's last word: no retry every few minutes
    for ever. The other mails of the same batch still go. The log names each mail by its
    id, sent or given up, and never by its address."""
    caplog.set_level(logging.INFO, logger="ticketing.notifications")
    gone, buyer = uuid4(), uuid4()
    smtp.inbox.no_such_mailbox.add(email_of(gone))
    for user_id in (gone, buyer):
        await bus.publish(user_created(user_id))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 2)
    await bus.publish(order_created(uuid4(), gone))
    await bus.publish(order_created(uuid4(), buyer))
    [delivered] = await smtp.wait_for(1, timeout=10)
    await settle(3.0)  # past the retry backoff's cap here (2 s): a retry would show
    assert delivered.to == email_of(buyer)
    assert smtp.inbox.bounced == [email_of(gone)]
    by_address = {row.to_address: row for row in await mails(engine)}
    given_up = by_address[email_of(gone)]
    assert (given_up.status, given_up.attempts, given_up.sent_at) == ("failed", 1, None)
    assert "550" in given_up.last_error
    assert by_address[email_of(buyer)].status == "sent"
    assert started.state.sender.given_up == 1
    said = caplog.text
    assert f"sent reserved mail {by_address[email_of(buyer)].id}" in said
    assert f"gave up on mail {given_up.id} after 1 attempts" in said
    assert email_of(gone) not in said and email_of(buyer) not in said
    async with engine.connect() as db:  # as `ticketing status` counts them
        assert await store.count_with_status(db, MailStatus.FAILED) == 1
        assert await store.count_with_status(db, MailStatus.PENDING) == 0


async def test_a_mail_the_server_keeps_putting_off_is_given_up_once_it_is_too_old(
    counts, settings, bus, smtp
):
    """The patient sender alone: a second one, with the default give-up time, would claim
    the mail in turn and put it off again."""
    buyer = uuid4()
    patient = create_app(settings.model_copy(update={"send_give_up_seconds": 2.0}))
    async with running(patient):
        engine = patient.state.engine
        await bus.publish(user_created(buyer))
        await eventually(lambda: counts.applied(Subject.USER_CREATED) == 1)
        smtp.inbox.refusing = True  # 451: try again later, every time
        await bus.publish(order_created(uuid4(), buyer))

        async def given_up() -> bool:
            return [row.status for row in await mails(engine)] == ["failed"]

        await eventually(given_up, timeout=10)
        tried = len(smtp.inbox.refused)
        smtp.inbox.refusing = False
        await settle(3.0)
        [row] = await mails(engine)
    assert tried >= 2 and len(smtp.inbox.refused) == tried  # tried again, then never more
    assert smtp.received == []
    assert "451" in row.last_error and row.sent_at is None


async def test_two_replicas_send_each_mail_once(counts, settings, started, engine, bus, smtp):
    """Both senders look at the same table (one woken by its own process's mails, the
    other by its poll): SKIP LOCKED and the lease hand each mail to one of them."""
    buyers, seller = [uuid4() for _ in range(20)], uuid4()
    for user_id in (*buyers, seller):
        await bus.publish(user_created(user_id))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 21)
    second = create_app(settings)
    async with running(second):
        for buyer in buyers:
            await bus.publish(order_completed(uuid4(), buyer, seller))
        await smtp.wait_for(40, timeout=15)
        await settle(1.0)
    assert len(smtp.received) == 40
    assert len({m.message["Message-ID"] for m in smtp.received}) == 40
    assert started.state.sender.sent + second.state.sender.sent == 40


async def test_mails_share_a_few_smtp_connections_kept_open(counts, started, bus, smtp):
    """One conversation per mail was most of a mail's cost on both ends."""
    buyers, seller = [uuid4() for _ in range(20)], uuid4()
    for user_id in (*buyers, seller):
        await bus.publish(user_created(user_id))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 21)
    for buyer in buyers:
        await bus.publish(order_completed(uuid4(), buyer, seller))
    received = await smtp.wait_for(40, timeout=15)
    assert len({mail.peer for mail in received}) <= CONCURRENCY


async def test_a_connection_the_server_dropped_while_idle_is_not_used_for_the_next_mail(
    counts, started, engine, bus, smtp
):
    buyer = uuid4()
    await bus.publish(user_created(buyer))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) == 1)
    await bus.publish(order_created(uuid4(), buyer))
    [first] = await smtp.wait_for(1)
    await asyncio.to_thread(smtp.stop)  # a restart: the idle connection is gone
    await asyncio.to_thread(smtp.start)

    await bus.publish(order_created(uuid4(), buyer))
    [_, second] = await smtp.wait_for(2)
    assert second.peer != first.peer
    assert {(row.status, row.attempts) for row in await mails(engine)} == {("sent", 1)}


def test_an_smtp_url_that_is_not_smtp_stops_the_service_at_start():
    settings = NotificationsSettings(
        database_url="postgresql://db/notifications",
        nats_url="nats://bus:4222",
        **KEYS,
        smtp_url="http://mail.test:25",
    )
    with pytest.raises(ValueError, match="smtp:// or smtps://"):
        create_app(settings)


def _refused(code: int, address: str = "a@b.test") -> aiosmtplib.SMTPRecipientRefused:
    return aiosmtplib.SMTPRecipientRefused(code, "refused", address)


@pytest.mark.parametrize(
    ("error", "for_good"),
    [
        (aiosmtplib.SMTPRecipientsRefused([_refused(550)]), True),
        (aiosmtplib.SMTPRecipientsRefused([_refused(450)]), False),  # mailbox busy
        (aiosmtplib.SMTPRecipientsRefused([_refused(550), _refused(451, "c@d.test")]), False),
        (_refused(553), True),
        (aiosmtplib.SMTPDataError(554, "content refused"), True),
        (aiosmtplib.SMTPDataError(451, "try again later"), False),
        # the setup's, not the mail's: every mail would meet it; they wait for a fix
        (aiosmtplib.SMTPSenderRefused(550, "not allowed", "tickets@localhost"), False),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), False),
        (aiosmtplib.SMTPConnectResponseError(554, "go away"), False),
        (aiosmtplib.SMTPServerDisconnected("gone"), False),
        (TimeoutError(), False),
    ],
)
def test_only_a_permanent_refusal_of_the_mail_itself_is_final(error, for_good):
    assert refused_for_good(error) is for_good


def _mail_written(now: datetime, days_ago: float, **changes) -> dict:
    """A payout mail's row as written `days_ago` before `now`, with `changes`."""
    facts = {"payout_id": uuid4(), "amount_cents": 100, "currency": "usd"}
    site = Site("Ticketing", "http://t.test", "t@t.test")
    written = now - timedelta(days=days_ago)
    to = Person(uuid4(), "someone@example.com")
    mail = compose(MailKind.PAYOUT, site, to, facts, event_id=uuid4(), now=written)
    return {**values(mail), **changes}


async def test_a_mail_is_deleted_once_the_days_it_is_kept_have_passed_and_never_while_waiting(
    settings,
):
    """A mail holds a person's address and what they were told: kept 90 days (by default)
    once sent or given up. One still waiting to be sent stays however old it is."""
    now = datetime.now(UTC)
    keep, day = timedelta(days=settings.sent_mail_keep_days), timedelta(days=1)
    sent, failed, pending = MailStatus.SENT, MailStatus.FAILED, MailStatus.PENDING
    rows = {
        "sent long ago": _mail_written(now, 200, status=sent, sent_at=now - keep - day),
        "sent lately": _mail_written(now, 200, status=sent, sent_at=now - keep + day),
        "given up long ago": _mail_written(now, keep.days + 1, status=failed),
        "given up lately": _mail_written(now, keep.days - 1, status=failed),
        "still waiting": _mail_written(now, 200, status=pending, next_attempt_at=now + day),
    }
    async with bus_support.engine(settings.database_url) as own:
        async with own.begin() as db:
            await db.execute(insert(Mail), list(rows.values()))
        await Sender(own, settings, clock=lambda: now).forget_old_mails()
        left = {row.id for row in await mails(own)}
    kept = {name for name, row in rows.items() if row["id"] in left}
    assert kept == {"sent lately", "given up lately", "still waiting"}


async def test_a_running_notifications_deletes_old_mails_soon_after_it_starts(
    monkeypatch, settings
):
    monkeypatch.setattr(periodic, "FIRST_ROUND_SECONDS", 0.2)
    now = datetime.now(UTC)
    old = _mail_written(now, 200, status=MailStatus.SENT, sent_at=now - timedelta(days=100))
    app = create_app(settings)
    async with running(app):
        engine = app.state.engine
        async with engine.begin() as db:
            await db.execute(insert(Mail), [old])

        async def deleted() -> bool:
            return old["id"] not in {row.id for row in await mails(engine)}

        await eventually(deleted)
