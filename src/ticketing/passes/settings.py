"""Passes' own settings: the resale cap, and the key its codes are derived with."""

from decimal import Decimal

from pydantic import Field, SecretStr

from ticketing.common.settings import ServiceSettings


class PassesSettings(ServiceSettings):
    # A pass may be resold for at most this many times what its holder paid.
    resale_price_cap: Decimal = Field(Decimal("1.20"), ge=1, le=100)
    # Keys the HMAC a pass's code is derived from: the database keeps only the code's hash,
    # and without this key its rows give no one a way in.
    pass_code_secret: SecretStr = Field(min_length=32)
