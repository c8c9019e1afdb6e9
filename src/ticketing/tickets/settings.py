"""Tickets' settings: nothing beyond what every service reads."""

from ticketing.common.settings import ServiceSettings


class TicketsSettings(ServiceSettings):
    pass
