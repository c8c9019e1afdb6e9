"""Orders' own settings: how long a reservation holds a ticket."""

from pydantic import Field

from ticketing.common.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    expiration_window_seconds: int = Field(900, gt=0)
