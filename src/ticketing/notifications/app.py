"""Notifications' composition root: listeners and the sender; no public HTTP but health."""

from fastapi import FastAPI

from ticketing.common.app import background_task, service_app
from ticketing.notifications import listeners
from ticketing.notifications.domain import Site
from ticketing.notifications.sender import MailServer, Sender
from ticketing.notifications.settings import NotificationsSettings


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    site = Site(name=settings.site_name, url=settings.site_url, mail_from=settings.mail_from)
    server = MailServer(settings)  # a malformed SMTP_URL stops start-up, by name

    async def send(app: FastAPI) -> None:
        """The sender needs only the database and the mail server."""
        app.state.sender = Sender(app.state.engine, settings, server=server)
        await app.state.sender.run()

    return service_app(
        "notifications",
        settings,
        subscriptions=listeners.subscriptions(site),
        background=background_task(send, name="notifications-sender"),
    )
