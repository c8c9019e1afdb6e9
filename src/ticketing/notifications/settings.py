"""Notifications' own settings: where mail goes, who it is from, and what links point at."""

from pydantic import Field, SecretStr

from ticketing.common.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    # smtp://host:port (plain, STARTTLS when the server offers it) or smtps://host:port (TLS).
    smtp_url: str = "smtp://127.0.0.1:25"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = "Ticketing <tickets@localhost>"
    site_name: str = "Ticketing"
    site_url: str = "http://127.0.0.1:8080"  # links in mails
    send_batch: int = Field(50, ge=1, le=1000)
