"""One mail per event and person, read back from a real SMTP server."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from uuid import uuid4

from sqlalchemy import select

from tests.common.bus_support import settle
from tests.notifications.conftest import SITE_NAME, SITE_URL
from tests.notifications.events import (
    email_of,
    order_cancelled,
    order_completed,
    order_created,
    pass_revoked,
    payout_sent,
    user_created,
)
from tests.support import eventually
from ticketing.common.events import Subject
from ticketing.notifications.models import Mail


async def people(bus, counts, *ids) -> None:
    for user_id in ids:
        await bus.publish(user_created(user_id))
    await eventually(lambda: counts.applied(Subject.USER_CREATED) >= len(ids))


async def test_a_paid_order_mails_a_receipt_to_the_buyer_and_sold_to_the_seller(
    counts, started, engine, bus, smtp
):
    buyer, seller, order_id = uuid4(), uuid4(), uuid4()
    await people(bus, counts, buyer, seller)
    await bus.publish(order_completed(order_id, buyer, seller, title="Hamilton <b>", price=1250))

    await smtp.wait_for(2)
    [receipt], [sold] = smtp.to(email_of(buyer)), smtp.to(email_of(seller))
    assert receipt.subject == "Your receipt: Hamilton <b>"
    assert sold.subject == "Your ticket Hamilton <b> sold"
    for mail in (receipt, sold):
        assert mail.message["From"] == "Showtime Tickets <hello@tickets.test>"
        assert mail.message.get_content_type() == "multipart/alternative"
        sent_at = parsedate_to_datetime(mail.message["Date"])
        assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert mail.message["Message-ID"].endswith("@tickets.test>")
        assert SITE_NAME in mail.part("plain") and SITE_NAME in mail.part("html")
    assert receipt.to == email_of(buyer) and receipt.rcpt_tos == [email_of(buyer)]
    text, html = receipt.part("plain"), receipt.part("html")
    for part in (text, html):
        assert "$12.50" in part and str(order_id) in part and f"{SITE_URL}/passes" in part
    assert "Hamilton <b>" in text
    assert "Hamilton &lt;b&gt;" in html and "<b>" not in html  # a title is text, not markup

    async def recorded_sent():  # just after the server's answer
        async with engine.connect() as db:
            rows = (await db.execute(select(Mail.message_id, Mail.status, Mail.sent_at))).all()
        assert all(row.status == "sent" and row.sent_at is not None for row in rows)
        return rows

    rows = await eventually(recorded_sent)
    assert {row.message_id for row in rows} == {m.message["Message-ID"] for m in (receipt, sold)}


async def test_the_same_order_completed_twice_mails_each_person_once(counts, started, bus, smtp):
    buyer, seller, order_id = uuid4(), uuid4(), uuid4()
    await people(bus, counts, buyer, seller)
    event = order_completed(order_id, buyer, seller)
    first = await bus.publish(event)
    await bus.publish(event, envelope_id=first.id)  # redelivered
    await bus.publish(event)  # the same fact under a new envelope id
    await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 2)
    await smtp.wait_for(2)
    await settle(1.5)
    assert sorted(m.to for m in smtp.received) == sorted([email_of(buyer), email_of(seller)])


async def test_an_old_order_completed_without_a_seller_mails_the_buyer_alone(
    counts, started, bus, smtp
):
    buyer = uuid4()
    await people(bus, counts, buyer)
    await bus.publish(order_completed(uuid4(), buyer, None))
    await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 1)
    await smtp.wait_for(1)
    await settle(0.5)
    assert [m.to for m in smtp.received] == [email_of(buyer)]


async def test_a_reserved_order_that_expires_mails_pay_by_then_ended(counts, started, bus, smtp):
    buyer, order_id = uuid4(), uuid4()
    await people(bus, counts, buyer)
    created = order_created(order_id, buyer, title="Cats")
    await bus.publish(created)
    [reserved] = await smtp.wait_for(1)
    pay_by = created.expires_at.astimezone(UTC).strftime("%H:%M UTC")
    assert reserved.subject == f"Reserved: Cats \N{EM DASH} pay by {pay_by}"
    assert f"{SITE_URL}/orders/{order_id}" in reserved.part("plain")

    await bus.publish(order_cancelled(order_id, created.ticket.id))
    await bus.publish(order_cancelled(order_id, created.ticket.id))  # again: nothing more
    received = await smtp.wait_for(2)
    await settle(1.0)
    assert [m.subject for m in smtp.received[1:]] == ["Your reservation for Cats ended"]
    assert received[1].to == email_of(buyer)


async def test_an_order_cancelled_before_its_order_created_waits_for_it(counts, started, bus, smtp):
    buyer, order_id = uuid4(), uuid4()
    await people(bus, counts, buyer)
    created = order_created(order_id, buyer, title="Cats")
    await bus.publish(order_cancelled(order_id, created.ticket.id))
    await settle(1.0)
    assert smtp.received == [] and counts.applied(Subject.ORDER_CANCELLED) == 0

    await bus.publish(created)
    await smtp.wait_for(2)
    await settle(0.5)
    subjects = sorted(m.subject for m in smtp.received)
    assert subjects[0].startswith("Reserved: Cats")
    assert subjects[1] == "Your reservation for Cats ended"


async def test_a_recipient_unknown_until_user_created_is_mailed_once_it_arrives(
    counts, started, bus, smtp
):
    buyer = uuid4()
    await bus.publish(order_created(uuid4(), buyer, title="Wicked"))
    await settle(1.0)
    assert smtp.received == [] and counts.applied(Subject.ORDER_CREATED) == 0

    await bus.publish(user_created(buyer))
    [reserved] = await smtp.wait_for(1)
    assert reserved.to == email_of(buyer) and reserved.subject.startswith("Reserved: Wicked")


async def test_a_resold_pass_and_a_payout_are_mailed_to_their_seller(counts, started, bus, smtp):
    holder = uuid4()
    await people(bus, counts, holder)
    await bus.publish(pass_revoked(holder))
    await bus.publish(payout_sent(holder, amount=4200))
    await smtp.wait_for(2)
    by_subject = {m.subject: m for m in smtp.received}
    resale = by_subject["Your resale sold \N{EM DASH} your old code no longer works"]
    payout = by_subject["Payout sent: $42.00"]
    assert resale.to == payout.to == email_of(holder)
    assert "no longer opens the door" in resale.part("plain")
    assert f"{SITE_URL}/balance" in payout.part("html")
