"""The sender: delivers pending mails through SMTP, each marked sent only once accepted.

Three short steps per batch, so no database connection waits on a mail server: claim due
mails (FOR UPDATE SKIP LOCKED, leased: their next attempt moves past the time this batch
can take, so no replica takes them meanwhile), talk SMTP with no connection held, then
record the outcomes in one transaction — sent, a later attempt with backoff and the
error, or given up: a mail the server refused for good, or one not taken in days. A
sender that dies mid-batch leaves its mails to be tried again when the lease ends, with
the same Message-ID, so a copy the server had in fact accepted is recognisable as one.

SMTP connections are kept open between mails and batches (at most CONCURRENCY): opening one
per mail (connect, EHLO, perhaps STARTTLS and AUTH, QUIT) was most of a mail's cost on
both ends. One that failed is closed and the next mail opens a fresh one; one left idle
longer than REUSE_SECONDS is replaced before use, since servers drop idle clients.

Woken when a listener of its process has committed a new mail (store.SENDER); otherwise
it sleeps until the next retry is due, never longer than the poll.
"""

import asyncio
import logging
import math
import socket
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.periodic import every
from ticketing.common.wakeups import run_woken
from ticketing.notifications import domain, service, store
from ticketing.notifications.domain import Mail
from ticketing.notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)

CONCURRENCY = 4  # SMTP connections at once
LEASE_MARGIN_SECONDS = 30.0
REUSE_SECONDS = 10.0  # well inside the five minutes RFC 5321 asks servers to wait


Failure = tuple[Mail, str, bool]  # a mail not sent, why, and whether refused for good


def utc_now() -> datetime:
    return datetime.now(UTC)


def refused_for_good(error: Exception) -> bool:
    """The server answered this mail with a permanent (5xx) refusal: every recipient
    refused (no such mailbox), or its content. A refusal of the sender, the sign-in or
    the connection is the setup's, not the mail's, and is tried again like any failure."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(r.code >= 500 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return error.code >= 500
    return False


class MailServer:
    """SMTP_URL: smtp:// upgrades with STARTTLS when the server offers it, smtps:// speaks
    TLS from the start; SMTP_USERNAME/SMTP_PASSWORD sign in when set. A malformed URL is
    refused here, so at start-up."""

    def __init__(self, settings: NotificationsSettings) -> None:
        url = urlsplit(settings.smtp_url)
        if url.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must be smtp:// or smtps://, not {url.scheme}://")
        tls = url.scheme == "smtps"
        password = settings.smtp_password.get_secret_value()
        self.timeout = settings.smtp_timeout_seconds
        self._options: dict[str, Any] = {
            "hostname": url.hostname or "localhost",
            "port": url.port or (465 if tls else 25),
            "username": settings.smtp_username or None,
            "password": password or None,
            "use_tls": tls,
            "start_tls": False if tls else None,
            "timeout": self.timeout,
            # The name this host greets with (EHLO), worked out once: aiosmtplib otherwise
            # asks socket.getfqdn() in a worker thread for every connection.
            "local_hostname": socket.getfqdn(),
        }

    async def connect(self) -> aiosmtplib.SMTP:
        """Connected, greeted, upgraded and signed in as the URL says."""
        client = aiosmtplib.SMTP(**self._options)
        await client.connect()
        return client


class _Connections:
    """The open SMTP connections not in use, newest last."""

    def __init__(self, server: MailServer) -> None:
        self._server = server
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def take(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < REUSE_SECONDS:
                return client
            await _quit(client)
        return await self._server.connect()

    def give_back(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, time.monotonic()))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle))


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Politely if it can, at once if it cannot: it is being let go either way."""
    try:
        async with asyncio.timeout(2):
            await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


class Sender:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: NotificationsSettings,
        *,
        server: MailServer | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._server = server or MailServer(settings)
        self._connections = _Connections(self._server)
        self._clock = clock
        # Long enough for a whole batch to be tried, CONCURRENCY at a time, each timing out.
        rounds = math.ceil(settings.send_batch / CONCURRENCY)
        self._lease = settings.smtp_timeout_seconds * rounds + LEASE_MARGIN_SECONDS
        self.sent = 0
        self.failed = 0
        self.given_up = 0

    async def run(self) -> None:
        """Sending, woken by each mail written; and deleting old mails, hourly."""
        try:
            await asyncio.gather(
                run_woken(
                    store.SENDER,
                    self.tick,
                    max_sleep_seconds=self._settings.send_poll_seconds,
                    name="notifications sender",
                ),
                every(
                    self._settings.mail_purge_every_seconds,
                    self.forget_old_mails,
                    what="notifications: deleting old mails",
                ),
            )
        finally:
            await asyncio.shield(self._connections.close())

    async def tick(self) -> float:
        """Send everything due; the sleep that follows."""
        while await self._send_batch() == self._settings.send_batch:
            pass
        async with self._engine.connect() as db:
            return await service.seconds_to_sleep(
                db, self._clock(), self._settings.send_poll_seconds
            )

    async def forget_old_mails(self) -> None:
        keep_days = self._settings.sent_mail_keep_days
        async with self._engine.begin() as db:
            forgotten = await service.forget_old_mails(db, self._clock(), keep_days)
        if forgotten:
            log.info("notifications: deleted %d mails ended over %d days ago", forgotten, keep_days)

    async def _send_batch(self) -> int:
        async with self._engine.begin() as db:
            claimed = await service.claim_due(
                db, self._clock(), limit=self._settings.send_batch, lease=self._lease
            )
        if not claimed:
            return 0
        # Every send ends before the batch does (none left running behind a failed one); a
        # mail whose outcome could not be recorded is tried again when its lease ends.
        due = deque(claimed)
        sent: list[Mail] = []
        failed: list[Failure] = []
        lanes = min(CONCURRENCY, len(claimed))
        await asyncio.gather(*(self._send_from(due, sent, failed) for _ in range(lanes)))
        await self._record(sent, failed)
        return len(claimed)

    async def _send_from(self, due: deque[Mail], sent: list[Mail], failed: list[Failure]) -> None:
        """One connection's share of the batch: mails in turn until none are left."""
        client: aiosmtplib.SMTP | None = None
        while due:
            mail = due.popleft()
            try:
                async with asyncio.timeout(self._server.timeout):  # connecting included
                    if client is None:
                        client = await self._connections.take()
                    await client.send_message(domain.message(mail, self._settings.mail_from))
            except Exception as error:  # this mail waits; the next gets a fresh connection
                reason = f"{type(error).__name__}: {error}"
                failed.append((mail, reason, refused_for_good(error)))
                if client is not None:
                    client.close()
                    client = None
            else:
                sent.append(mail)
        if client is not None:
            self._connections.give_back(client)

    async def _record(self, sent: list[Mail], failed: list[Failure]) -> None:
        now, settings = self._clock(), self._settings
        async with self._engine.begin() as db:
            await service.record_sent(db, sent, now)
            delays = [
                await service.record_failure(
                    db,
                    mail,
                    now,
                    reason,
                    refused_for_good=for_good,
                    cap=settings.send_retry_max_seconds,
                    give_up_after=settings.send_give_up_seconds,
                )
                for mail, reason, for_good in failed
            ]
        self.sent += len(sent)
        self.failed += len(failed)
        # By the mail's id, never its address (nor a refusal's echo of it): logs travel
        # further than the mail table, and the engine hides bound values for that reason.
        for mail in sent:
            log.info("notifications: sent %s mail %s", mail.kind, mail.id)
        for (mail, said, _), delay in zip(failed, delays, strict=True):
            reason = said.replace(mail.to_address, "<recipient>")
            if delay is None:
                self.given_up += 1
                log.error(
                    "notifications: gave up on mail %s after %d attempts: %s",
                    mail.id,
                    mail.attempts,
                    reason,
                )
                continue
            log.warning(
                "notifications: mail %s (attempt %d) not sent: %s; next try in %.1f s",
                mail.id,
                mail.attempts,
                reason,
                delay.total_seconds(),
            )
