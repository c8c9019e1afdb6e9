"""Notifications follow what happened to people: accounts, orders, passes, payouts."""

from ticketing.common.bus.listener import Subscriptions

SUBSCRIPTIONS: Subscriptions = {}
