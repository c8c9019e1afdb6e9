"""What the pages say about tickets, orders and passes: labels, money, time left; no I/O."""

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal

from ticketing.web.api_client import Order, Pass

TICKET_LABELS = {
    "available": "For sale",
    "reserved": "Reserved",
    "sold": "Sold",
    "withdrawn": "Withdrawn",
}
OPEN_ORDER = ("created", "awaiting:payment")
PASS_LABELS = {"valid": "Valid", "used": "Used", "revoked": "Revoked"}


def money(value: Decimal | float | int) -> str:
    return f"${Decimal(str(value)):,.2f}"


CURRENCY_SIGNS = {"usd": "$", "eur": "\N{EURO SIGN}", "gbp": "\N{POUND SIGN}"}


def amount(value: Decimal | float | int, currency: str) -> str:
    """A balance figure in its currency: $12.50 for usd, 12.50 CHF for one without a sign."""
    sign = CURRENCY_SIGNS.get(currency.lower())
    figure = f"{Decimal(str(value)):,.2f}"
    if sign is None:
        return f"{figure} {currency.upper()}"
    return f"-{sign}{figure[1:]}" if figure.startswith("-") else f"{sign}{figure}"


# The part of a PaymentIntent's client secret before "_secret_" is its id (pi_…); only
# letters, digits, "_" and "-" may go into the sandbox's confirm path.
_INTENT_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def intent_of(client_secret: str) -> str | None:
    """The PaymentIntent id a client secret belongs to, or None for one that is not one."""
    intent, found, rest = client_secret.partition("_secret_")
    if not found or not rest or _INTENT_ID.fullmatch(intent) is None:
        return None
    return intent


def price_field(value: Decimal | float | int) -> str:
    """The price as the edit form shows it: 12.50, not 12.5."""
    return f"{Decimal(str(value)):.2f}"


def ticket_label(status: str) -> str:
    return TICKET_LABELS.get(status, status.capitalize())


def pass_label(status: str) -> str:
    return PASS_LABELS.get(status, status.capitalize())


def moment(value: datetime) -> str:
    """A point in time as a person reads it; UTC, said so, since the server knows no other."""
    return f"{value.astimezone(UTC):%d %b %Y, %H:%M} UTC"


def resale_cap(ticket_pass: Pass) -> str:
    """The resale form's hint: the cap, and how it follows from what the holder paid."""
    cap = money(ticket_pass.price_cap)
    if ticket_pass.price <= 0:
        return f"At most {cap}."
    times = (ticket_pass.price_cap / ticket_pass.price).quantize(Decimal("0.01")).normalize()
    return f"At most {cap} ({times:f} \N{MULTIPLICATION SIGN} what you paid)."


def clock(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class OrderState:
    """One order's state in words: the page renders it, status.json sends it to the page's JS."""

    status: str
    label: str
    message: str
    open: bool
    seconds_left: int

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["secondsLeft"] = data.pop("seconds_left")
        return data


def order_state(order: Order, now: datetime) -> OrderState:
    left = max(0, int((order.expires_at - now).total_seconds()))
    if order.status in OPEN_ORDER:
        if left:
            message = "The ticket is reserved for you. Pay before the time runs out."
            return OrderState(order.status, "Awaiting payment", message, True, left)
        message = "Time is up: the reservation is being released."
        return OrderState(order.status, "Time is up", message, True, 0)
    if order.status == "complete":
        return OrderState(order.status, "Paid", "Paid. The ticket is yours.", False, 0)
    if now >= order.expires_at:
        message = "This order expired before it was paid; the ticket is back on sale."
        return OrderState(order.status, "Expired", message, False, 0)
    message = "This order was cancelled; the ticket is back on sale."
    return OrderState(order.status, "Cancelled", message, False, 0)


@dataclass(frozen=True)
class DoorAnswer:
    """What the door shows after a scan: green and the show's title, or red and why not."""

    admitted: bool
    message: str


REFUSALS = {
    404: "Unknown code",
    410: "Revoked — this ticket was resold",
}


def door_answer(status: int, messages: list[str], title: str = "") -> DoorAnswer:
    """The API's answer to a check-in, in the door's words; a 409 keeps the API's own
    ("Already admitted at <time>"), which names the time."""
    if status < 300:
        return DoorAnswer(True, f"Admitted — {title}")
    if status in REFUSALS:
        return DoorAnswer(False, REFUSALS[status])
    if status == 409:
        said = next((m for m in messages if m.startswith("Already admitted")), None)
        return DoorAnswer(False, said or "Already admitted")
    return DoorAnswer(False, "; ".join(messages) or "Not admitted")
