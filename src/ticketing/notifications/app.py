"""Notifications' composition root: listeners and the sender; no public HTTP but health."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.notifications import listeners
from ticketing.notifications.settings import NotificationsSettings


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    return service_app("notifications", settings, subscriptions=listeners.SUBSCRIPTIONS)
