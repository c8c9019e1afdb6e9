"""`ticketing up`'s own SMTP server (aiosmtpd): it accepts every message for anyone and
keeps it as a file under `<data-dir>/mail/` (runtime/mailbox.py), where `ticketing mail`
lists it. Nothing is relayed anywhere.

It runs in the supervisor's own event loop, beside the gateway, and not as a supervised
child like NATS and PostgreSQL: those are programs of their own, with state that must
survive the supervisor, while this is a few asyncio callbacks that write a file. As a
child it would cost a Python process and a restart loop for a server that has nothing to
lose; in the loop it lives exactly as long as the supervisor, which starts it before the
services (notifications is handed its URL) and closes it after they have stopped (so a
mail sent on the way out is still taken). Nor a thread (aiosmtpd's Controller): a second
loop for what the first does between two requests. The port is the kernel's choice
(port 0) on 127.0.0.1, so it never contends for 25 or 1025 with a real server or Mailpit.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from ticketing.runtime import mailbox

log = logging.getLogger(__name__)

ACCEPTED = "250 Message accepted for delivery"
LARGEST = 10 * 1024 * 1024  # bytes; a mail of ours is a few kilobytes


class Keep:
    """aiosmtpd's handler: each message, once per recipient, into the mail folder."""

    def __init__(self, mail_dir: Path, announce: Callable[[Path], None]) -> None:
        self.mail_dir = mail_dir
        self.announce = announce

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        sender = envelope.mail_from or ""
        try:
            # On the loop, not a thread: a few kilobytes into the page cache, where the
            # hop to a thread and back cost the supervisor's process as much again.
            stored = mailbox.deliver(self.mail_dir, content, recipients, sender)
        except OSError as error:  # a full disk: the sender keeps the mail and retries
            log.error("could not store a mail in %s: %s", self.mail_dir, error)
            return "451 Requested action aborted: local error in processing"
        for path in stored:
            self.announce(path)
        return ACCEPTED


class LocalSmtp:
    """start() → an smtp:// URL on 127.0.0.1; stop() closes it."""

    def __init__(
        self, mail_dir: Path, announce: Callable[[Path], None] = lambda path: None
    ) -> None:
        self.mail_dir = mail_dir
        self.announce = announce
        self.server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> str:
        self.mail_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = Keep(self.mail_dir, self.announce)
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            # hostname given: aiosmtpd would otherwise ask DNS for this machine's name
            lambda: SMTP(handler, hostname="localhost", data_size_limit=LARGEST),
            host="127.0.0.1",
            port=0,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self, grace: float = 5) -> None:
        if self.server is None:
            return
        self.server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), grace)
        self.server = None
