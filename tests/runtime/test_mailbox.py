"""The local SMTP server `ticketing up` runs, and the files it keeps: one `.eml` per
message and recipient, named by time and recipient in safe characters."""

import asyncio
import re
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from stat import S_IMODE

from ticketing.runtime import mailbox
from ticketing.runtime.ports import port_answers
from ticketing.runtime.smtp import LocalSmtp
from ticketing.runtime.system import mail_settings, without_credentials

NAME = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9@._+-]+\.eml$")


def _message(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ticketing <tickets@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Pay by 23:00.")
    return message


def test_a_file_name_says_when_to_the_millisecond_and_whom_in_safe_characters():
    at = datetime(2026, 11, 29, 22, 45, 1, 123456, tzinfo=UTC)
    assert (
        mailbox.file_name(at, "buyer@example.com") == "20261129T224501.123Z-buyer@example.com.eml"
    )
    odd = mailbox.file_name(at, "../x y/\u00e9\n@example.com", copy=1)
    assert NAME.match(odd) and "/" not in odd and odd.endswith("-2.eml"), odd


def test_each_recipient_gets_a_file_of_their_own_and_none_is_overwritten(tmp_path):
    raw = bytes(_message("buyer@example.com", "Receipt"))
    first = mailbox.deliver(tmp_path, raw, ["buyer@example.com", "bcc@example.com"], "t@localhost")
    again = mailbox.deliver(tmp_path, raw, ["buyer@example.com"], "t@localhost")
    assert len(set(first + again)) == 3 == len(mailbox.paths(tmp_path))
    for path in first + again:
        assert NAME.match(path.name), path.name
        assert S_IMODE(path.stat().st_mode) == 0o600  # somebody's receipt
    blind = mailbox.read(first[1])
    assert blind["Delivered-To"] == "bcc@example.com" and blind["To"] == "buyer@example.com"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_mail_folder_removed_while_the_server_runs_is_made_again_owner_only(tmp_path):
    mail_dir = tmp_path / "data" / "mail"  # someone emptied the data directory
    raw = bytes(_message("buyer@example.com", "Receipt"))
    [path] = mailbox.deliver(mail_dir, raw, ["buyer@example.com"], "t@localhost")
    assert path.parent == mail_dir and S_IMODE(mail_dir.stat().st_mode) == 0o700
    assert mailbox.read(path)["Subject"] == "Receipt"


async def _serve_and_send(mail_dir: Path, messages: list[EmailMessage]) -> tuple[int, list[Path]]:
    kept: list[Path] = []
    server = LocalSmtp(mail_dir, announce=kept.append)
    url = await server.start()
    assert url == f"smtp://127.0.0.1:{server.port}" and server.port not in (25, 1025)

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            for message in messages:
                client.send_message(message)

    await asyncio.to_thread(send)
    await server.stop()
    return server.port, kept


def test_the_local_server_keeps_what_it_accepts_and_stops_listening(tmp_path):
    mail_dir = tmp_path / "mail"
    sent = [_message("buyer@example.com", "Pay for Show"), _message("seller@example.com", "Sold")]
    port, kept = asyncio.run(_serve_and_send(mail_dir, sent))
    assert kept == mailbox.paths(mail_dir) and len(kept) == 2
    assert {mailbox.read(path)["Subject"] for path in kept} == {"Pay for Show", "Sold"}
    assert mailbox.read(kept[0]).get_content().strip() == "Pay by 23:00."
    assert S_IMODE(mail_dir.stat().st_mode) == 0o700
    assert not port_answers(port)


def test_notifications_gets_the_local_server_and_the_gateway_unless_the_environment_says(
    monkeypatch,
):
    for name in ("SMTP_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "SITE_URL"):
        monkeypatch.delenv(name, raising=False)
    local = mail_settings("smtp://127.0.0.1:4025", "http://127.0.0.1:8080")
    assert local == {"SMTP_URL": "smtp://127.0.0.1:4025", "SITE_URL": "http://127.0.0.1:8080"}
    monkeypatch.setenv("SMTP_URL", "smtps://relay.example.com:465")
    monkeypatch.setenv("SMTP_PASSWORD", "relay-secret")
    monkeypatch.setenv("SITE_URL", "https://tickets.example.com")
    given = mail_settings("smtps://relay.example.com:465", "http://127.0.0.1:8080")
    assert given == {
        "SMTP_URL": "smtps://relay.example.com:465",
        "SMTP_PASSWORD": "relay-secret",
        "SITE_URL": "https://tickets.example.com",
    }
    assert without_credentials("smtps://me:pw@relay.example.com:465") == (
        "smtps://relay.example.com:465"
    )
