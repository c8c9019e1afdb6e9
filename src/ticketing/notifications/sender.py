"""The sender: delivers pending mails through SMTP, each marked sent only once accepted.

Three short steps per batch, so no database connection waits on a mail server: claim due
mails (FOR UPDATE SKIP LOCKED, leased: their next attempt moves past the time this batch
can take, so no replica takes them meanwhile), talk SMTP with no connection held, then
record each outcome — sent, or a later attempt with backoff and the error. A sender that
dies mid-batch leaves its mails to be tried again when the lease ends, with the same
Message-ID, so a copy the server had in fact accepted is recognisable as one.

Woken by NOTIFY when a listener writes a mail; otherwise it sleeps until the next retry is
due, never longer than the poll.
"""

import asyncio
import logging
import math
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.wakeups import run_woken
from ticketing.notifications import domain, service, store
from ticketing.notifications.domain import Mail
from ticketing.notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)

CONCURRENCY = 4  # SMTP conversations at once
LEASE_MARGIN_SECONDS = 30.0

Deliver = Callable[[EmailMessage], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def smtp_delivery(settings: NotificationsSettings) -> Deliver:
    """Delivery to SMTP_URL: smtp:// upgrades with STARTTLS when the server offers it,
    smtps:// speaks TLS from the start; SMTP_USERNAME/SMTP_PASSWORD sign in when set.
    Returns only once the server accepted the message."""
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must be smtp:// or smtps://, not {url.scheme}://")
    tls = url.scheme == "smtps"
    password = settings.smtp_password.get_secret_value()
    timeout = settings.smtp_timeout_seconds
    # The name this host greets with (EHLO), worked out once: aiosmtplib otherwise asks
    # socket.getfqdn() in a worker thread for every conversation, a resolver call per mail.
    local_hostname = socket.getfqdn()

    async def deliver(message: EmailMessage) -> None:
        async with asyncio.timeout(timeout):  # the whole conversation, not each command
            await aiosmtplib.send(
                message,
                hostname=url.hostname or "localhost",
                port=url.port or (465 if tls else 25),
                username=settings.smtp_username or None,
                password=password or None,
                use_tls=tls,
                start_tls=False if tls else None,
                timeout=timeout,
                local_hostname=local_hostname,
            )

    return deliver


class Sender:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: NotificationsSettings,
        *,
        deliver: Deliver | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._deliver = deliver or smtp_delivery(settings)
        self._clock = clock
        self._gate = asyncio.Semaphore(CONCURRENCY)
        # Long enough for a whole batch to be tried, CONCURRENCY at a time, each timing out.
        rounds = math.ceil(settings.send_batch / CONCURRENCY)
        self._lease = settings.smtp_timeout_seconds * rounds + LEASE_MARGIN_SECONDS
        self.sent = 0
        self.failed = 0

    async def run(self) -> None:
        await run_woken(
            self._settings.database_url,
            store.CHANNEL,
            self.tick,
            max_sleep_seconds=self._settings.send_poll_seconds,
            name="notifications sender",
        )

    async def tick(self) -> float:
        """Send everything due; the sleep that follows."""
        while await self._send_batch() == self._settings.send_batch:
            pass
        async with self._engine.connect() as db:
            return await service.seconds_to_sleep(
                db, self._clock(), self._settings.send_poll_seconds
            )

    async def _send_batch(self) -> int:
        async with self._engine.begin() as db:
            claimed = await service.claim_due(
                db, self._clock(), limit=self._settings.send_batch, lease=self._lease
            )
        # Every send ends before the batch does (none left running behind a failed one); a
        # mail whose outcome could not be recorded is tried again when its lease ends.
        outcomes = await asyncio.gather(*(self._send(m) for m in claimed), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(claimed)

    async def _send(self, mail: Mail) -> None:
        """One mail: delivered with no connection held, then its outcome recorded."""
        async with self._gate:
            try:
                await self._deliver(domain.message(mail, self._settings.mail_from))
            except Exception as error:
                await self._failed(mail, error)
                return
        async with self._engine.begin() as db:
            await service.record_sent(db, mail, self._clock())
        self.sent += 1
        log.info("notifications: sent %s mail %s to %s", mail.kind, mail.id, mail.to_address)

    async def _failed(self, mail: Mail, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"
        async with self._engine.begin() as db:
            delay = await service.record_failure(
                db, mail, self._clock(), reason, cap=self._settings.send_retry_max_seconds
            )
        self.failed += 1
        log.warning(
            "notifications: mail %s (attempt %d) not sent: %s; next try in %.1f s",
            mail.id,
            mail.attempts,
            reason,
            delay.total_seconds(),
        )
