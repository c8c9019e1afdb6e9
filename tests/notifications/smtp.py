"""A real SMTP server for the tests (aiosmtpd), keeping what it accepts in memory; it can be
stopped and started again on the same port, as a mail server that goes away and comes back."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import eventually


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple[str, int]  # the client's address and port: one per SMTP connection

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The text of the text/`subtype` part."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype
        return str(body.get_content())


class Inbox:
    """aiosmtpd's handler: every message accepted, in order; or, while `refusing`, each
    refused with a temporary error after its data was sent. An address in `no_such_mailbox`
    is refused for good as a recipient, each time it is offered (counted in `bounced`)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refusing = False
        self.refused: list[Received] = []
        self.no_such_mailbox: set[str] = set()
        self.bounced: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.no_such_mailbox:
            self.bounced.append(address)
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        mail = Received(envelope.mail_from, list(envelope.rcpt_tos), message, tuple(session.peer))
        if self.refusing:
            self.refused.append(mail)
            return "451 4.3.0 Try again later"
        self.received.append(mail)
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """`login`: a (username, password) every client must sign in with (AUTH, here over
    plain text, as a relay inside a private network may take it)."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.login = login
        self.signed_in: list[str] = []
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.login is not None:
            given = (auth_data.login.decode(), auth_data.password.decode())
            if given == self.login:
                self.signed_in.append(given[0])
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return list(self.inbox.received)

    def start(self) -> None:
        auth = {}
        if self.login is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.rcpt_tos]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """At least `count` messages accepted; returns them all."""

        def enough():
            found = self.received
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """A started server, stopped when the block ends: each test's own."""
    server = SmtpServer(login)
    server.start()
    try:
        yield server
    finally:
        server.stop()
