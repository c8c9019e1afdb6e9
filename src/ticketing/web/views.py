"""What the pages say about tickets and orders: labels, money, time left; no I/O."""

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from ticketing.web.api_client import Order

TICKET_LABELS = {
    "available": "For sale",
    "reserved": "Reserved",
    "sold": "Sold",
    "withdrawn": "Withdrawn",
}
OPEN_ORDER = ("created", "awaiting:payment")


def money(value: Decimal | float | int) -> str:
    return f"${Decimal(str(value)):,.2f}"


def price_field(value: Decimal | float | int) -> str:
    """The price as the edit form shows it: 12.50, not 12.5."""
    return f"{Decimal(str(value)):.2f}"


def ticket_label(status: str) -> str:
    return TICKET_LABELS.get(status, status.capitalize())


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
