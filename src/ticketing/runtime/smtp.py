"""`ticketing up`'s own SMTP server (aiosmtpd): it accepts every message for anyone and
keeps it as a file under `<data-dir>/mail/` (runtime/mailbox.py), where `ticketing mail`
lists it. Nothing is relayed anywhere.

Under `ticketing up` it is a supervised child (`python -m ticketing.runtime.smtp`), started
before the services (notifications is handed its URL) and stopped after them (a mail sent
on the way out is still taken), at the lower CPU priority of work nobody waits on. It was
a few callbacks in the supervisor's own loop, but that loop is the gateway's: each mail's
SMTP conversation, about a millisecond of CPU, ran there at the priority of the requests
it delayed (a fifth of the gateway's CPU in a flash sale, when every winner gets a mail).
`LocalSmtp` is the server itself, for that child or a test's loop.
"""

import asyncio
import contextlib
import logging
import signal
import sys
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
        self, mail_dir: Path, announce: Callable[[Path], None] = lambda path: None, port: int = 0
    ) -> None:
        self.mail_dir = mail_dir
        self.announce = announce
        self.server: asyncio.Server | None = None
        self.port = port  # 0: the kernel's choice, never 25 or 1025 a real server may hold

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
            port=self.port,
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


async def _serve(mail_dir: Path, port: int) -> None:
    """Until SIGTERM or SIGINT; each mail kept is said on stdout, which `ticketing up`
    shows under this process's label."""

    def announce(path: Path) -> None:
        print(f"kept {path.name}", flush=True)

    server = LocalSmtp(mail_dir, announce, port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str]) -> None:
    """`python -m ticketing.runtime.smtp MAIL_DIR PORT`: serve on 127.0.0.1:PORT."""
    mail_dir, port = argv
    asyncio.run(_serve(Path(mail_dir), int(port)))


if __name__ == "__main__":
    main(sys.argv[1:])
