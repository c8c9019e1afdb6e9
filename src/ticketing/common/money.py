"""Prices: integer cents inside, a number with at most two decimals on the wire."""

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MAX_CENTS = 100_000_000  # 1,000,000.00: no ticket costs more; larger is a typo or abuse
_DECIMAL = re.compile(r"-?[0-9]+(?:\.([0-9]+))?")  # the sign only to say "greater than 0"
# What to_cents accepts from a string, for the OpenAPI document: 0 < value <= 1000000,
# plain digits with at most two decimals, surrounding spaces allowed.
PRICE_PATTERN = (
    r"^\s*0*(?:[1-9][0-9]{0,5}(?:\.[0-9]{1,2})?"  # 1 to 999999.99
    r"|1000000(?:\.0{1,2})?"  # the cap itself
    r"|0\.(?:0[1-9]|[1-9][0-9]?))\s*$"  # 0.01 to 0.99
)


def to_cents(value: object) -> int:
    """Accept 10, 10.5, "20.00"; refuse more decimals, zero, negatives and absurd values."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("Price must be a number")
    if isinstance(value, str):
        amount = _plain_decimal(value.strip())
    else:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("Price must be a number") from None
    if not amount.is_finite():
        raise ValueError("Price must be a number")
    if amount <= 0:
        raise ValueError("Price must be greater than 0")
    if amount * 100 > MAX_CENTS:
        raise ValueError("Price must be at most 1000000")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError("Price must have at most 2 decimals")
    return int(cents)


def _plain_decimal(text: str) -> Decimal:
    """Digits and an optional fraction: no exponent, NaN, "+" or non-ASCII digits."""
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError("Price must be a number")
    if match.group(1) and len(match.group(1)) > 2:
        raise ValueError("Price must have at most 2 decimals")
    return Decimal(text)


def from_cents(cents: int) -> int | float:
    """10 for 1000, 10.5 for 1050: a JSON number, as the original API showed it."""
    whole, rest = divmod(cents, 100)
    return whole if rest == 0 else float(Decimal(cents) / 100)


# A request field: parses to cents.
PriceIn = Annotated[
    int,
    BeforeValidator(to_cents),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1000000, "multipleOf": 0.01},
                {"type": "string", "pattern": PRICE_PATTERN},
            ],
            "examples": [20, "20.00"],
        }
    ),
]
# A response field holding cents: serialises as a number.
PriceOut = Annotated[
    int,
    PlainSerializer(from_cents, return_type=float | int),
    WithJsonSchema({"type": "number"}),
]
