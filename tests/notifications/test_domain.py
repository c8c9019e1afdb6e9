"""Pure: what each mail says, the message it becomes, and the retry schedule."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from uuid import uuid4

from ticketing.notifications import domain
from ticketing.notifications.domain import MailKind, Person, Site

SITE = Site("Showtime", "https://show.test/", "Showtime <hi@show.test>")
NOW = datetime(2030, 5, 17, 18, 30, tzinfo=UTC)
ALICE = Person(uuid4(), "alice@example.test")


def a_mail(kind: MailKind, **facts):
    return domain.compose(kind, SITE, ALICE, facts, event_id=uuid4(), now=NOW)


def test_a_reservation_says_what_to_pay_by_when_and_links_to_the_order():
    order_id = uuid4()
    mail = a_mail(
        MailKind.RESERVED,
        order_id=order_id,
        title="Cats",
        price_cents=1250,
        expires_at=NOW + timedelta(minutes=15),
    )
    assert mail.subject == "Reserved: Cats \N{EM DASH} pay by 18:45 UTC"
    assert f"https://show.test/orders/{order_id}" in mail.body_text
    assert "$12.50" in mail.body_text and "Showtime" in mail.body_text
    assert (mail.recipient, mail.to_address) == (ALICE.id, ALICE.email)


def test_each_kind_has_its_subject():
    order = {"order_id": uuid4(), "title": "Cats", "price_cents": 999}
    assert a_mail(MailKind.RECEIPT, **order).subject == "Your receipt: Cats"
    assert a_mail(MailKind.SOLD, **order).subject == "Your ticket Cats sold"
    assert a_mail(MailKind.ENDED, order_id=uuid4(), title="Cats").subject == (
        "Your reservation for Cats ended"
    )
    assert a_mail(MailKind.RESALE_SOLD, pass_id=uuid4(), ticket_id=uuid4()).subject == (
        "Your resale sold \N{EM DASH} your old code no longer works"
    )
    payout = {"payout_id": uuid4(), "amount_cents": 123456}
    assert a_mail(MailKind.PAYOUT, **payout, currency="usd").subject == "Payout sent: $1,234.56"
    assert a_mail(MailKind.PAYOUT, **payout, currency="eur").subject == "Payout sent: 1,234.56 EUR"


def test_every_mail_template_is_compiled_as_the_service_starts(monkeypatch):
    """The first mails of a burst (a flash sale's reservations) are not held up compiling."""
    started = domain._templates()  # as the module does on import

    def read_from_disk(_environment, name):
        raise AssertionError(f"{name} was read after the service had started")

    monkeypatch.setattr(started.loader, "get_source", read_from_disk)
    names = started.list_templates()
    assert {f"{kind}.{part}" for kind in MailKind for part in ("txt", "html")} <= set(names)
    for name in names:
        started.get_template(name)


def test_a_receipt_names_title_price_order_and_links_to_the_passes():
    order_id = uuid4()
    mail = a_mail(MailKind.RECEIPT, order_id=order_id, title="Cats", price_cents=2000)
    for body in (mail.body_text, mail.body_html):
        assert "Cats" in body and "$20.00" in body and str(order_id) in body
        assert "https://show.test/passes" in body


def test_a_title_is_escaped_in_html_and_kept_as_is_in_text():
    mail = a_mail(MailKind.ENDED, order_id=uuid4(), title='<script>"x"</script>')
    assert '<script>"x"</script>' in mail.body_text
    assert "<script>" not in mail.body_html and "&lt;script&gt;" in mail.body_html


def test_a_title_no_event_gave_reads_as_your_ticket():
    assert a_mail(MailKind.ENDED, order_id=uuid4(), title=None).subject == (
        "Your reservation for your ticket ended"
    )


def test_the_message_has_its_headers_and_both_parts():
    mail = a_mail(MailKind.RECEIPT, order_id=uuid4(), title="Cats", price_cents=2000)
    parsed = message_from_bytes(bytes(domain.message(mail, SITE.mail_from)), policy=policy.default)
    assert parsed["From"] == "Showtime <hi@show.test>"
    assert parsed["To"] == "alice@example.test"
    assert parsed["Subject"] == "Your receipt: Cats"
    assert parsedate_to_datetime(parsed["Date"]) == NOW
    assert parsed["Message-ID"] == mail.message_id and mail.message_id.endswith("@show.test>")
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_words_outside_ascii_arrive_as_written_in_headers_and_both_parts():
    mail = a_mail(MailKind.RECEIPT, order_id=uuid4(), title="Café «Zürich» 東京", price_cents=2000)
    sent = domain.message(mail, "Billetterie Genève <bonjour@show.test>")
    raw = bytes(sent)
    assert raw.isascii()  # every part and header encoded for any mail server
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"] == "Billetterie Genève <bonjour@show.test>"
    assert parsed["From"].addresses[0].addr_spec == "bonjour@show.test"
    assert parsed["Subject"] == "Your receipt: Café «Zürich» 東京"
    text, html = (part.get_content() for part in parsed.iter_parts())
    assert text == mail.body_text and "Café «Zürich» 東京" in text
    assert html == mail.body_html


def test_each_mail_has_its_own_message_id_and_a_resend_the_same():
    one = a_mail(MailKind.ENDED, order_id=uuid4(), title="A")
    two = a_mail(MailKind.ENDED, order_id=uuid4(), title="A")
    assert one.message_id != two.message_id
    first, again = domain.message(one, SITE.mail_from), domain.message(one, SITE.mail_from)
    assert first["Message-ID"] == again["Message-ID"] and first["Date"] == again["Date"]


def test_message_ids_are_made_under_the_senders_domain():
    assert domain.sender_domain("Ticketing <tickets@example.org>") == "example.org"
    assert domain.sender_domain("plain@host.test") == "host.test"
    assert domain.sender_domain("no address") == "localhost"


def test_an_event_key_is_stable_and_names_one_fact():
    order_id = uuid4()
    key = domain.event_key("order.completed", order_id, 2)
    assert key == domain.event_key("order.completed", order_id, 2)
    assert key != domain.event_key("order.completed", order_id, 3)
    assert key != domain.event_key("order.cancelled", order_id, 2)
    assert domain.event_key("payout.sent", order_id) != domain.event_key("payout.sent", uuid4())


def test_retries_back_off_doubling_up_to_the_cap_with_some_jitter():
    delays = [domain.retry_delay(n, 0.0, 300).total_seconds() for n in range(1, 12)]
    assert delays[:5] == [1, 2, 4, 8, 16]
    assert delays[-1] == 300 and delays == sorted(delays)
    assert 4 < domain.retry_delay(3, 0.99, 300).total_seconds() <= 5
    assert domain.retry_delay(20, 0.99, 300).total_seconds() == 300


def test_the_sender_sleeps_until_the_next_mail_is_due_never_past_the_cap():
    assert domain.sleep_seconds(None, NOW, 5) == 5
    assert domain.sleep_seconds(NOW + timedelta(seconds=2), NOW, 5) == 2
    assert domain.sleep_seconds(NOW - timedelta(seconds=2), NOW, 5) == 0
    assert domain.sleep_seconds(NOW + timedelta(hours=1), NOW, 5) == 5


def test_money_in_dollars_and_other_currencies():
    assert domain.money(5) == "$0.05"
    assert domain.money(1050) == "$10.50"
    assert domain.money(1050, "chf") == "10.50 CHF"


def _mail_written(seconds_ago: float, now: datetime) -> domain.Mail:
    mail = domain.compose(
        MailKind.PAYOUT,
        Site("Ticketing", "http://t.test", "t@t.test"),
        Person(uuid4(), "a@b.test"),
        {"payout_id": uuid4(), "amount_cents": 100, "currency": "usd"},
        event_id=uuid4(),
        now=now - timedelta(seconds=seconds_ago),
    )
    return mail


def test_a_mail_is_given_up_when_refused_for_good_or_once_it_is_too_old():
    now, day = datetime.now(UTC), 24 * 3600.0
    young, old = _mail_written(60, now), _mail_written(4 * day, now)
    assert not domain.given_up(young, now, refused_for_good=False, after=4 * day)
    assert domain.given_up(young, now, refused_for_good=True, after=4 * day)
    assert domain.given_up(old, now, refused_for_good=False, after=4 * day)
