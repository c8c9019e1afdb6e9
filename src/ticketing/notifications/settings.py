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
    # One SMTP conversation (connect, hello, TLS, auth, send) gives up after this long.
    smtp_timeout_seconds: float = Field(15.0, gt=0)
    # The longest the sender sleeps between looks at the table: a new mail wakes its own
    # process's at once, and a retry's due time is read; this covers one another replica
    # wrote, then stopped.
    send_poll_seconds: float = Field(5.0, gt=0)
    # A mail the server did not take waits 1 s, 2 s, 4 s … before its next try, up to this.
    send_retry_max_seconds: float = Field(300.0, gt=0)
    # A mail still not taken this long after it was written is given up (a mail server
    # keeps a message four or five days); one the server refuses for good is at once.
    send_give_up_seconds: float = Field(4 * 24 * 3600.0, gt=0)
    # A mail sent or given up is deleted this many days after: it holds a person's address
    # and what they were told. Looked for this often.
    sent_mail_keep_days: int = Field(90, ge=1)
    mail_purge_every_seconds: float = Field(3600.0, gt=0)
