"""Mail rules: what each kind of mail says, the message it becomes, and when to try again."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

RETRY_FIRST_SECONDS = 1.0
SOMETHING = "your ticket"  # what a mail calls a ticket whose title no event told us


class MailKind(StrEnum):
    RESERVED = "reserved"  # order.created, to the buyer
    RECEIPT = "receipt"  # order.completed, to the buyer
    SOLD = "sold"  # order.completed, to the seller
    ENDED = "ended"  # order.cancelled (expired or cancelled), to the buyer
    RESALE_SOLD = "resale_sold"  # pass.revoked, to the old holder
    PAYOUT = "payout"  # payout.sent, to the seller


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up: refused for good, or not taken for the give-up time


@dataclass(frozen=True, slots=True)
class Person:
    """An address from user.created: the only thing of auth's this service keeps."""

    id: UUID
    email: str


@dataclass(frozen=True, slots=True)
class Order:
    """What order.created said: order.cancelled names neither buyer nor title."""

    id: UUID
    buyer: UUID
    title: str | None
    price_cents: int
    expires_at: datetime
    ticket_id: UUID


@dataclass(frozen=True, slots=True)
class Site:
    """Who mails are from and what their links point at (the settings, as the domain needs)."""

    name: str
    url: str
    mail_from: str


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail to one person about one event: a row to send until the server accepts it.
    `message_id` and `created_at` (the Date) are fixed when it is written, so a re-send
    after an unclear failure carries the same headers and reads as the same message."""

    id: UUID
    event_id: UUID
    recipient: UUID
    kind: MailKind
    to_address: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    created_at: datetime
    status: MailStatus
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


_KEYS = uuid.UUID("6f0d3a0e-4f8e-4d6b-9a53-1f1c0f6e2b7a")


def event_key(subject: str, entity: UUID, version: int | None = None) -> UUID:
    """The sent-log's event id: derived from what the event is about, since a handler is
    given the event and not its envelope. The same fact published twice under two envelope
    ids (which processed_events would let through) still gets one key, so one mail."""
    name = f"{subject}:{entity}" if version is None else f"{subject}:{entity}:{version}"
    return uuid.uuid5(_KEYS, name)


def money(cents: int, currency: str = "usd") -> str:
    """$12.50 for dollars; 12.50 EUR for another currency."""
    figure = f"{cents // 100:,}.{cents % 100:02d}"
    return f"${figure}" if currency.lower() == "usd" else f"{figure} {currency.upper()}"


def clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M UTC")


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%A %d %B %Y, %H:%M UTC")


def title_of(title: str | None) -> str:
    return title or SOMETHING


def _subject(kind: MailKind, facts: Mapping[str, Any]) -> str:
    title = title_of(facts.get("title"))
    match kind:
        case MailKind.RESERVED:
            return f"Reserved: {title} \N{EM DASH} pay by {clock(facts['expires_at'])}"
        case MailKind.RECEIPT:
            return f"Your receipt: {title}"
        case MailKind.SOLD:
            return f"Your ticket {title} sold"
        case MailKind.ENDED:
            return f"Your reservation for {title} ended"
        case MailKind.RESALE_SOLD:
            return "Your resale sold \N{EM DASH} your old code no longer works"
        case MailKind.PAYOUT:
            return f"Payout sent: {money(facts['amount_cents'], facts['currency'])}"


def _link(kind: MailKind, site: Site, facts: Mapping[str, Any]) -> str:
    base = site.url.rstrip("/")
    match kind:
        case MailKind.RESERVED | MailKind.ENDED:
            return f"{base}/orders/{facts['order_id']}"
        case MailKind.RECEIPT | MailKind.RESALE_SOLD:
            return f"{base}/passes"
        case MailKind.SOLD | MailKind.PAYOUT:
            return f"{base}/balance"


def _templates() -> Environment:
    """Autoescape for the HTML part only: a title is text, and the text part shows it as is.
    The templates ship with the package: every one compiled as the service starts, never
    checked on disk again, so that the first mails of a burst do not pay for compiling."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        auto_reload=False,
        autoescape=select_autoescape(["html"], default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, when=when, ticket_title=title_of)
    for name in env.list_templates():
        env.get_template(name)
    return env


TEMPLATES = _templates()


def compose(
    kind: MailKind,
    site: Site,
    to: Person,
    facts: Mapping[str, Any],
    *,
    event_id: UUID,
    now: datetime,
) -> Mail:
    """The mail `kind` says for these facts, ready to send now."""
    context = {**facts, "site": site, "link": _link(kind, site, facts), "kind": kind}
    return Mail(
        id=uuid.uuid4(),
        event_id=event_id,
        recipient=to.id,
        kind=kind,
        to_address=to.email,
        subject=_subject(kind, facts),
        body_text=TEMPLATES.get_template(f"{kind}.txt").render(context),
        body_html=TEMPLATES.get_template(f"{kind}.html").render(context),
        message_id=make_msgid(domain=sender_domain(site.mail_from)),
        created_at=now,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        sent_at=None,
        last_error=None,
    )


def sender_domain(mail_from: str) -> str:
    """The domain Message-IDs are made under: MAIL_FROM's, else localhost."""
    _, address = parseaddr(mail_from)
    _, at, domain = address.rpartition("@")
    return domain if at and domain else "localhost"


# Bodies as quoted-printable UTF-8: readable where they are plain ASCII, as a reader's
# "view source" expects.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def message(mail: Mail, mail_from: str) -> Message:
    """The message as sent: text first, HTML as its alternative.

    Built with the email package's older classes, which store headers as given: its
    newer EmailMessage parses every header it is handed, then the body's, which was a
    fifth of the sender's CPU for mails whose every part this function writes itself.
    Only a header outside ASCII needs encoding, and gets it."""
    msg = MIMEMultipart("alternative")
    msg["From"] = _address(mail_from)
    msg["To"] = _address(mail.to_address)
    msg["Subject"] = _text(mail.subject)
    msg["Date"] = format_datetime(mail.created_at.astimezone(UTC))
    msg["Message-ID"] = mail.message_id
    msg.attach(_part(mail.body_text, "plain"))
    msg.attach(_part(mail.body_html, "html"))
    return msg


def _part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(body, _UTF8)
    return part


def _text(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address(value: str) -> str:
    """A display name outside ASCII as an encoded word; the address itself as it is."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


def retry_delay(attempts: int, jitter: float, cap: float) -> timedelta:
    """1 s, 2 s, 4 s … after each failed try, never past `cap`; `jitter` in [0, 1) adds up
    to a quarter more, so mails that failed together do not all come back together."""
    base = min(RETRY_FIRST_SECONDS * 2 ** max(attempts - 1, 0), cap)
    return timedelta(seconds=min(base * (1 + jitter / 4), cap))


def given_up(mail: Mail, now: datetime, *, refused_for_good: bool, after: float) -> bool:
    """No more tries for a mail the server refused for good (see `sender.refused_for_good`),
    nor for one still not taken `after` seconds after it was written: a mail server gives
    up on a message after some days too, and a mail that old tells nothing worth hearing."""
    return refused_for_good or (now - mail.created_at).total_seconds() >= after


def sleep_seconds(next_attempt_at: datetime | None, now: datetime, cap: float) -> float:
    """Until the next mail is due, never past the cap; a due mail means no sleep."""
    if next_attempt_at is None:
        return cap
    return min(max((next_attempt_at - now).total_seconds(), 0.0), cap)
