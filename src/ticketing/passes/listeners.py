"""Passes follow orders: a completed order issues its buyer a pass."""

from ticketing.common.bus.listener import Subscriptions

SUBSCRIPTIONS: Subscriptions = {}
