"""The local mailbox: every message `ticketing up`'s SMTP server accepted, one `.eml` file
per recipient under `<data-dir>/mail/`, and what `ticketing mail` reads back from it.

Standard library only: `ticketing mail` runs without the SMTP server's package, and a file
name says when and to whom, so the list is sorted by name alone (newest last).
"""

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

FOLDER = "mail"
SUFFIX = ".eml"
STAMP = "%Y%m%dT%H%M%S"
UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")
LONGEST_NAME = 64  # of the recipient's part: file names stay well under any system's limit


def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def file_name(received: datetime, recipient: str, copy: int = 0) -> str:
    """`20261129T224501.123Z-buyer@example.com.eml`: UTC to the millisecond, then the
    recipient in letters, digits and `@._+-` only (anything else becomes `_`, and no name
    starts with a dot), `-2`, `-3`… for another message in the same millisecond."""
    at = received.astimezone(UTC)
    stamp = f"{at:{STAMP}}.{at.microsecond // 1000:03d}Z"
    who = UNSAFE.sub("_", recipient)[:LONGEST_NAME].lstrip(".") or "_"
    again = f"-{copy + 1}" if copy else ""
    return f"{stamp}-{who}{again}{SUFFIX}"


def deliver(mail_dir: Path, message: bytes, recipients: list[str], mail_from: str) -> list[Path]:
    """Store `message` once for each recipient, as a local delivery agent does: with
    `Return-Path` and `Delivered-To` on top, so a blind copy still says whose it is. Each
    file appears whole or not at all (written aside, then linked in under a name no other
    file has)."""
    received = datetime.now(UTC)
    stored = []
    for recipient in recipients:
        top = f"Return-Path: <{mail_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        aside = mail_dir / f".incoming-{secrets.token_hex(8)}"
        with os.fdopen(_create(aside), "wb") as file:
            file.write(top + message)
        try:
            for copy in range(1000):
                path = mail_dir / file_name(received, recipient, copy)
                with contextlib.suppress(FileExistsError):
                    os.link(aside, path)
                    stored.append(path)
                    break
        finally:
            aside.unlink()
    return stored


def _create(path: Path) -> int:
    """A new file only its owner reads; the folder made first if it is missing (not
    looked for on every mail: a stat per mail, when the server made it at its start)."""
    flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
    try:
        return os.open(path, flags, mode)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return os.open(path, flags, mode)


@dataclass(frozen=True)
class Stored:
    path: Path
    received: datetime
    to: str
    subject: str


def _received(path: Path) -> datetime:
    stamp = path.name.split("-", 1)[0]  # 20261129T224501.123Z
    with contextlib.suppress(ValueError):
        return datetime.strptime(stamp, f"{STAMP}.%fZ").replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def read(path: Path) -> EmailMessage:
    with path.open("rb") as file:
        message = BytesParser(policy=policy.default).parse(file)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return message


def _summary(path: Path) -> Stored:
    with path.open("rb") as file:
        headers = BytesParser(policy=policy.default).parse(file, headersonly=True)
    to = str(headers.get("To") or headers.get("Delivered-To") or "")
    subject = " ".join(str(headers.get("Subject") or "(no subject)").split())
    return Stored(path, _received(path), to, subject)


def paths(mail_dir: Path) -> list[Path]:
    """Every stored message, oldest first (the names start with the time received)."""
    if not mail_dir.is_dir():
        return []
    return sorted(p for p in mail_dir.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def last(mail_dir: Path, count: int) -> list[Stored]:
    return [_summary(path) for path in paths(mail_dir)[-count:]]


def line(stored: Stored) -> str:
    return f"{stored.received:%Y-%m-%d %H:%M:%S}  {stored.to}  {stored.subject}"


SHOWN_HEADERS = ("Date", "From", "To", "Subject", "Message-ID")


def render(path: Path) -> Iterator[str]:
    """One message for a person: the headers that matter, then the text part (or the HTML
    part, as it is, when there is no text)."""
    message = read(path)
    yield str(path)
    for name in SHOWN_HEADERS:
        if (value := message.get(name)) is not None:
            yield f"{name}: {value}"
    yield ""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        yield "(no text part)"
        return
    assert isinstance(body, EmailMessage)
    yield body.get_content().rstrip("\n")
